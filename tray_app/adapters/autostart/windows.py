"""Windows: a value under HKCU\\...\\Run with the quoted path, honouring the
StartupApproved switch that Task Manager and Settings flip to disable it."""

from __future__ import annotations

import sys
from typing import Protocol

from tray_app import APP_NAME

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
APPROVED_ON = b"\x02" + b"\x00" * 11  # the first byte's low bit set means "disabled"


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations needed (a fake one in tests)."""

    def get(self, key: str, name: str) -> str | bytes | None: ...

    def set_string(self, key: str, name: str, value: str) -> None: ...

    def set_binary(self, key: str, name: str, value: bytes) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


if sys.platform == "win32":  # mypy checks this part only for Windows
    import winreg

    class WinRegistry:
        """HKEY_CURRENT_USER through ``winreg``."""

        def get(self, key: str, name: str) -> str | bytes | None:
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                    value, _kind = winreg.QueryValueEx(handle, name)
            except FileNotFoundError:
                return None
            return value  # type: ignore[no-any-return]

        def set_string(self, key: str, name: str, value: str) -> None:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as handle:
                winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

        def set_binary(self, key: str, name: str, value: bytes) -> None:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as handle:
                winreg.SetValueEx(handle, name, 0, winreg.REG_BINARY, value)

        def delete(self, key: str, name: str) -> None:
            try:
                with winreg.OpenKey(
                    winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE
                ) as handle:
                    winreg.DeleteValue(handle, name)
            except FileNotFoundError:
                pass


def command_line(command: list[str]) -> str:
    """Every part quoted: a path with spaces must not be split at login."""
    return " ".join(f'"{part}"' for part in command)


class WindowsAutostart:
    def __init__(self, command: list[str], registry: Registry, name: str = APP_NAME) -> None:
        self.command = command
        self.registry = registry
        self.name = name

    def is_enabled(self) -> bool:
        if not self.registry.get(RUN_KEY, self.name):
            return False
        approved = self.registry.get(APPROVED_KEY, self.name)
        return not (isinstance(approved, bytes) and approved[:1] and approved[0] & 1)

    def enable(self) -> None:
        """Writes the current path (the app may have moved) and, since the user asked
        for it here, clears a disable made in Task Manager."""
        self.registry.set_string(RUN_KEY, self.name, command_line(self.command))
        self.registry.set_binary(APPROVED_KEY, self.name, APPROVED_ON)

    def disable(self) -> None:
        self.registry.delete(RUN_KEY, self.name)
        self.registry.delete(APPROVED_KEY, self.name)
