"""Start at login, one small writer per system behind one interface (like Vorta's
``autostart.py``): Windows (HKCU Run key), macOS (a LaunchAgent), Linux (XDG
autostart). All start the same command: the built executable itself, the AppImage,
or the pip-installed ``hh-raiser``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class Autostart(Protocol):
    def is_enabled(self) -> bool: ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...


def launch_command(
    environ: Mapping[str, str] | None = None,
    *,
    frozen: bool | None = None,
    executable: str | None = None,
    platform: str | None = None,
) -> list[str]:
    """What starts this app at login: the AppImage, the frozen executable, the
    ``hh-raiser`` script beside this interpreter, or ``python -m tray_app``."""
    env = os.environ if environ is None else environ
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    executable = executable or sys.executable
    platform = platform or sys.platform
    if env.get("APPIMAGE"):
        return [env["APPIMAGE"]]
    if frozen:
        return [executable]
    script = Path(executable).with_name("hh-raiser.exe" if platform == "win32" else "hh-raiser")
    if script.exists():
        return [str(script)]
    return [executable, "-m", "tray_app"]


def for_this_system(environ: Mapping[str, str] | None = None) -> Autostart | None:
    """The writer for this OS, or None where there is none."""
    env = os.environ if environ is None else environ
    command = launch_command(env)
    if sys.platform == "win32":
        from tray_app.adapters.autostart.windows import WindowsAutostart, WinRegistry

        return WindowsAutostart(command, WinRegistry())
    if sys.platform == "darwin":
        from tray_app.adapters.autostart.macos import MacAutostart

        return MacAutostart(command, Path.home() / "Library" / "LaunchAgents")
    if os.name == "posix":
        from tray_app.adapters.autostart.linux import LinuxAutostart, autostart_dir

        return LinuxAutostart(command, autostart_dir(env))
    return None
