"""The running instance: the scheduler thread, notifications, the control channel
and Telegram remote control over the core.

Headless ``run``, the demo and the tray all run one :class:`Service`; each adds its
own subscribers to ``runtime.bus`` for what the user sees. Its answers are typed
(:class:`Status`, :class:`RaiseResult`); the control channel alone speaks JSON.

Under a service manager (systemd's notify protocol) a :class:`Supervisor` is told
when the service is ready, that its loop still turns, what it plans, and that it
stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Protocol

from tray_app import __version__
from tray_app.adapters.control import ControlHandlers, ControlServer
from tray_app.adapters.tray.menu import status_line
from tray_app.core.engine import Engine
from tray_app.core.events import Event
from tray_app.core.models import TransportKind
from tray_app.core.scheduler import Keepalive, Scheduler
from tray_app.core.updates import CHECK_EVERY
from tray_app.core.views import PollerState, RaiseResult, Snapshot, Status
from tray_app.notify.notices import Notifications
from tray_app.telegram.commands import CommandPoller, OffsetFile
from tray_app.wiring import Runtime

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 170.0
FIRST_UPDATE_CHECK = 90.0
"""Seconds after the start before the update check may ask: the start's own reads
and raises go first."""
CHECK_RUNNING_WAIT = timedelta(minutes=5)
"""When to look again after starting a check: by then it has answered or timed out,
and saved when the next one is due."""


class Supervisor(Protocol):
    """The service manager watching this process (systemd: ``os_service.sd_notify``)."""

    @property
    def ping_every(self) -> float | None:
        """Seconds between liveness pings it expects; None: it does not watch."""
        ...

    def ready(self, status: str | None = None) -> None: ...

    def ping(self) -> None: ...

    def status(self, text: str) -> None: ...

    def stopping(self) -> None: ...


class Service:
    def __init__(
        self,
        runtime: Runtime,
        supervisor: Supervisor | None = None,
        *,
        first_update_check: float = FIRST_UPDATE_CHECK,
    ) -> None:
        self.runtime = runtime
        self.supervisor = supervisor
        self._quit: Callable[[], None] | None = None
        every = supervisor.ping_every if supervisor is not None else None
        self.scheduler = Scheduler(
            runtime.engine,
            runtime.clock,
            refresh_minutes=lambda: runtime.settings().refresh_minutes,
            on_wake=self._check_settings_file,
            # the scheduler's loop pings: a hung raise stops the pings, and systemd
            # restarts the process (the raise in flight is settled at the next start)
            keepalive=Keepalive(supervisor.ping, every) if supervisor and every else None,
        )
        self.scheduler.add_chore("update-check", self._check_for_updates, first_update_check)
        self._update_check: threading.Thread | None = None
        runtime.bus.subscribe(self.scheduler.on_event)
        if supervisor is not None:
            runtime.bus.subscribe(self._tell_supervisor)
        self.notifications = Notifications(runtime.bus, runtime.settings, runtime.clock)
        self.notifications.add_sink(runtime.telegram.submit)
        self.commands = CommandPoller(
            runtime.telegram_targets,
            runtime.settings,
            self,
            OffsetFile(runtime.paths.telegram_offset_file),
            runtime.clock,
        )
        self.control = ControlServer(
            runtime.paths.control_file,
            ControlHandlers(
                status=self.status,
                raise_now=self.raise_now,
                reload_settings=self.reload_settings,
                reload_credentials=self.reload_credentials,
                quit=self.ask_to_quit,
            ),
            clock=runtime.clock,
        )

    def start(self) -> None:
        self.runtime.telegram.start()
        self.scheduler.start()
        self.control.start()
        self.commands.start()
        runtime = self.runtime
        settings = runtime.settings()
        log.info(
            "HH Raiser %s started: transport %s (%s), secrets %s (%s), settings %s, history %s",
            __version__,
            settings.transport,
            runtime.endpoints.web_url(settings.web_host)
            if settings.transport == TransportKind.WEB
            else runtime.endpoints.api,
            runtime.secret_store.kind,
            runtime.secret_store.where,
            runtime.paths.settings_file,
            runtime.paths.history_file,
        )
        if self.supervisor is not None:
            self.supervisor.ready(self._status_line())

    def stop(self) -> None:
        """Stops taking commands, waits for a raise in flight, then lets the notifier
        put what it could not send on disk."""
        if self.supervisor is not None:
            self.supervisor.stopping()
        self.control.stop()
        self.commands.stop()
        self.scheduler.stop()
        self.notifications.close()
        self.runtime.telegram.stop()
        self.runtime.close()

    def quit_with(self, quit_: Callable[[], None]) -> None:
        """How this process quits (the tray's Quit, or what SIGTERM sets when headless):
        ``hh-raiser quit`` takes the same path, so a raise in flight settles and the
        history and the Telegram outbox are written before the process ends."""
        self._quit = quit_

    def ask_to_quit(self) -> None:
        """``hh-raiser quit`` (the uninstaller runs it): returns at once; the process
        stops as :meth:`quit_with` said."""
        if self._quit is None:
            raise RuntimeError("this instance cannot be stopped from here")
        log.info("asked to quit through the control channel")
        self._quit()

    def _status_line(self) -> str:
        return status_line(self.status(), self.runtime.settings().language)

    def _tell_supervisor(self, event: Event) -> None:
        """The one-line state (``systemctl status`` shows it), after every event."""
        assert self.supervisor is not None
        self.supervisor.status(self._status_line())

    # ---- what the control channel, Telegram (and the tray) can ask ------------------

    def status(self) -> Status:
        return current_status(self.runtime, self.commands.state)

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]:
        engine = self.runtime.engine
        return self.scheduler.submit(lambda: raise_now(engine, resume_id)).result(
            timeout=COMMAND_TIMEOUT
        )

    def set_paused(self, paused: bool) -> None:
        self.runtime.settings.update(paused=paused)
        self.reload_settings()

    def reload_settings(self) -> None:
        """Returns once the new settings are in the plan, so ``config set`` can say so."""
        before = self._account_choice()
        self.runtime.settings.reload_if_changed()
        self._telegram_changed()
        self.scheduler.wake()
        self.scheduler.submit(self._apply_account_choice(before)).result(COMMAND_TIMEOUT)

    def _account_choice(self) -> tuple[str, str]:
        settings = self.runtime.settings()
        return settings.transport, settings.web_host

    def _apply_account_choice(self, before: tuple[str, str]) -> Callable[[], object]:
        """Another transport or site means other credentials: check them at once
        (an earlier "API closed" verdict must not wait its hour); else re-plan."""
        engine = self.runtime.engine
        if self._account_choice() == before:
            return engine.replan
        if not self.runtime.has_account():
            return engine.mark_not_configured
        return engine.credentials_changed

    def reload_credentials(self) -> None:
        self.runtime.settings.reload_if_changed()  # a web login also switches transport
        self._telegram_changed()
        self.scheduler.submit(self.runtime.engine.credentials_changed).result(COMMAND_TIMEOUT)

    def _telegram_changed(self) -> None:
        self.runtime.telegram.reconfigure()
        self.commands.wake()

    def _check_for_updates(self) -> datetime:
        """The daily update check, on a thread of its own (a slow GitHub never holds
        up a raise); returns when the scheduler should look again."""
        updates, now = self.runtime.updates, self.runtime.clock.now()
        if self._update_check is not None and self._update_check.is_alive():
            return now + CHECK_RUNNING_WAIT
        if not updates.enabled:
            return now + CHECK_EVERY  # the scheduler looks again within the hour anyway
        if not updates.due():
            return updates.next_check_at()
        self._update_check = threading.Thread(
            target=updates.check_if_due, name="hh-raiser-update-check", daemon=True
        )
        self._update_check.start()
        return now + CHECK_RUNNING_WAIT

    def _check_settings_file(self) -> None:
        """On every wake: a hand-edited settings file is picked up too."""
        before = self._account_choice()
        if self.runtime.settings.reload_if_changed():
            self._telegram_changed()
            self.scheduler.wake()
            if self._account_choice() != before:
                self.scheduler.submit(self._apply_account_choice(before))


def current_status(runtime: Runtime, commands: PollerState | None) -> Status:
    """From memory only (no network), so the tray may ask every second."""
    snapshot = runtime.engine.snapshot()
    settings = runtime.settings()
    return Status(
        **{f.name: getattr(snapshot, f.name) for f in fields(Snapshot)},
        transport=settings.transport,
        web_host=settings.web_host,
        telegram=runtime.telegram.status(),
        commands=commands,
        update=runtime.updates.view(),
    )


def raise_now(engine: Engine, resume_id: str | None) -> list[RaiseResult]:
    """The engine's "raise now", each result with the resume's next planned raise."""
    return [
        RaiseResult(result, engine.next_raise_at(result.resume_id))
        for result in engine.raise_now(resume_id)
    ]
