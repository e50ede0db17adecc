"""The running instance: the scheduler thread, notifications, the control channel
and Telegram remote control over the core.

Headless ``run``, the demo and the tray all run one :class:`Service`; each adds its
own subscribers to ``runtime.bus`` for what the user sees. Its answers are typed
(:class:`Status`, :class:`RaiseResult`); the control channel alone speaks JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields

from tray_app import __version__
from tray_app.adapters.control import ControlHandlers, ControlServer
from tray_app.core.engine import Engine
from tray_app.core.models import TransportKind
from tray_app.core.scheduler import Scheduler
from tray_app.core.views import PollerState, RaiseResult, Snapshot, Status
from tray_app.notify.notices import Notifications
from tray_app.telegram.commands import CommandPoller, OffsetFile
from tray_app.wiring import Runtime

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 170.0


class Service:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.scheduler = Scheduler(
            runtime.engine,
            runtime.clock,
            refresh_minutes=lambda: runtime.settings().refresh_minutes,
            on_wake=self._check_settings_file,
        )
        runtime.bus.subscribe(self.scheduler.on_event)
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

    def stop(self) -> None:
        """Stops taking commands, waits for a raise in flight, then lets the notifier
        put what it could not send on disk."""
        self.control.stop()
        self.commands.stop()
        self.scheduler.stop()
        self.notifications.close()
        self.runtime.telegram.stop()
        self.runtime.close()

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
    )


def raise_now(engine: Engine, resume_id: str | None) -> list[RaiseResult]:
    """The engine's "raise now", each result with the resume's next planned raise."""
    return [
        RaiseResult(result, engine.next_raise_at(result.resume_id))
        for result in engine.raise_now(resume_id)
    ]
