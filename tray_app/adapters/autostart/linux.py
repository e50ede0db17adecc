"""Linux and other XDG desktops: ``~/.config/autostart/hh-raiser.desktop``.

Desktops disable an entry without deleting it (``Hidden=true``, GNOME's
``X-GNOME-Autostart-enabled=false``); both count as off. Inside an AppImage the
entry points at ``$APPIMAGE``, not at the temporary mount.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tray_app import APP_NAME

FILE_NAME = "hh-raiser.desktop"


def config_home(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME``, by default ``~/.config``."""
    return Path(
        environ.get("XDG_CONFIG_HOME")
        or os.path.join(environ.get("HOME") or str(Path.home()), ".config")
    )


def autostart_dir(environ: Mapping[str, str]) -> Path:
    return config_home(environ) / "autostart"


def exec_line(command: list[str]) -> str:
    """The Exec key: each argument quoted per the Desktop Entry specification."""

    def quote(part: str) -> str:
        if not any(ch in part for ch in " \t\n\"'\\><~|&;$*?#()`"):
            return part
        escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in part)
        return f'"{escaped}"'

    return " ".join(quote(part).replace("%", "%%") for part in command)


class LinuxAutostart:
    def __init__(self, command: list[str], directory: Path) -> None:
        self.command = command
        self.path = directory / FILE_NAME

    def _entries(self) -> dict[str, str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return {}
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def is_enabled(self) -> bool:
        entries = self._entries()
        if not entries:
            return False
        return (
            entries.get("Hidden", "false").strip().lower() != "true"
            and entries.get("X-GNOME-Autostart-enabled", "true").strip().lower() != "false"
        )

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            "\n".join(
                [
                    "[Desktop Entry]",
                    "Type=Application",
                    f"Name={APP_NAME}",
                    "Comment=Keeps your hh.ru resumes at the top of search",
                    f"Exec={exec_line(self.command)}",
                    "Icon=hh-raiser",
                    "Terminal=false",
                    "X-GNOME-Autostart-enabled=true",
                    "",
                ]
            ),
            encoding="utf-8",
        )

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
