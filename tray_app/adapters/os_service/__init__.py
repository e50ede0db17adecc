"""Running unattended under the system's service manager (``hh-raiser service
install|uninstall|status``), one implementation per system behind one interface,
like :mod:`~tray_app.adapters.autostart`: Linux has a systemd user unit
(:mod:`.systemd`); elsewhere the command says what to use instead.

The service runs ``run --headless``, which takes the instance lock like any run: on
a desktop it is an alternative to start at login, never a second instance.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from tray_app.adapters.os_service.systemd import (
    Change,
    Runner,
    SystemdUserService,
    UnitSpec,
    UnitState,
    run_command,
    unit_dir,
)


class OsService(Protocol):
    path: Path
    user: str

    def install(self, spec: UnitSpec, *, start: bool) -> Change: ...

    def uninstall(self) -> Change: ...

    def state(self) -> UnitState: ...


def for_this_system(
    environ: Mapping[str, str] | None = None,
    runner: Runner = run_command,
    platform: str | None = None,
) -> OsService | None:
    """The service manager's writer for this OS, or None where there is none yet."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform).startswith("linux"):
        user = env.get("USER") or getpass.getuser()
        return SystemdUserService(unit_dir(env), user, runner)
    return None
