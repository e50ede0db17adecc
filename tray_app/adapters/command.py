"""The command a user can type to run this program, for the hints the app prints
("run ``hh-raiser login``").

``./scripts/start`` installs into the checkout's ``.venv`` and puts nothing on PATH, so
a bare ``hh-raiser`` often names no program at all, or another installation of it.
A hint names ``hh-raiser`` only when PATH leads to this very program; otherwise the
full command that starts it (the same one start at login uses)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

from tray_app import APP_ID
from tray_app.adapters.autostart import launch_command


def command_name(
    environ: Mapping[str, str] | None = None,
    *,
    which: Callable[..., str | None] = shutil.which,
    frozen: bool | None = None,
    executable: str | None = None,
    platform: str | None = None,
) -> str:
    """``hh-raiser`` if PATH finds this program under that name, else the full command
    (the venv's script, the frozen executable, the AppImage or ``python -m tray_app``),
    quoted for the system's shell."""
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    command = launch_command(env, frozen=frozen, executable=executable, platform=platform)
    found = which(APP_ID, path=env.get("PATH", os.defpath))
    if found is not None and len(command) == 1 and _same_file(found, command[0]):
        return APP_ID
    return shell_join(command, platform)


def shell_join(command: Sequence[str], platform: str | None = None) -> str:
    """A command line the user can paste into this system's shell."""
    if (platform or sys.platform) == "win32":
        return subprocess.list2cmdline(command)
    return shlex.join(command)


def _same_file(first: str, second: str) -> bool:
    """A link on PATH (``pipx``'s ``~/.local/bin/hh-raiser``) counts as its target."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
