"""The running instance: the scheduler thread and the control channel over the core.

Headless ``run``, the demo and (later) the tray all run one :class:`Service`; each
adds its own subscribers to ``runtime.bus`` for what the user sees.
"""

from __future__ import annotations

import logging
from typing import Any

from tray_app import __version__
from tray_app.adapters.control import (
    ControlHandlers,
    ControlServer,
    result_to_json,
    snapshot_to_json,
)
from tray_app.core.scheduler import Scheduler
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
        self.control = ControlServer(
            runtime.paths.control_file,
            ControlHandlers(
                status=lambda: snapshot_to_json(runtime.engine.snapshot()),
                raise_now=self.raise_now,
                reload_settings=self.reload_settings,
                reload_credentials=self.reload_credentials,
            ),
        )

    def start(self) -> None:
        self.scheduler.start()
        self.control.start()
        runtime = self.runtime
        log.info(
            "HH Raiser %s started: api %s, keyring %s, settings %s, history %s",
            __version__,
            runtime.endpoints.api,
            runtime.secrets.backend_name,
            runtime.paths.settings_file,
            runtime.paths.history_file,
        )

    def stop(self) -> None:
        """Stops taking commands, then waits for a raise in flight."""
        self.control.stop()
        self.scheduler.stop()
        self.runtime.close()

    # ---- what the control channel (and the tray) can ask ---------------------------

    def raise_now(self, resume_id: str | None) -> list[dict[str, Any]]:
        engine = self.runtime.engine
        results = self.scheduler.submit(lambda: engine.raise_now(resume_id)).result(
            timeout=COMMAND_TIMEOUT
        )
        return [result_to_json(r, engine.next_raise_at(r.resume_id)) for r in results]

    def reload_settings(self) -> None:
        """Returns once the new settings are in the plan, so ``config set`` can say so."""
        self.runtime.settings.reload_if_changed()
        self.scheduler.wake()
        self.scheduler.submit(self.runtime.engine.replan).result(timeout=COMMAND_TIMEOUT)

    def reload_credentials(self) -> None:
        self.scheduler.submit(self.runtime.engine.credentials_changed).result(COMMAND_TIMEOUT)

    def _check_settings_file(self) -> None:
        """On every wake: a hand-edited settings file is picked up too."""
        if self.runtime.settings.reload_if_changed():
            self.scheduler.wake()
