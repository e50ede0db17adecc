"""Start at login on all three systems: the writers with a fake registry and
injected folders everywhere, the Linux one also as a desktop would read it."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tray_app.adapters.autostart import for_this_system, launch_command
from tray_app.adapters.autostart.linux import LinuxAutostart, autostart_dir, exec_line
from tray_app.adapters.autostart.macos import MacAutostart
from tray_app.adapters.autostart.windows import (
    APPROVED_KEY,
    RUN_KEY,
    WindowsAutostart,
    command_line,
)

EXE = r"C:\Program Files\HH Raiser\hh-raiser.exe"


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str | bytes] = {}

    def get(self, key: str, name: str) -> str | bytes | None:
        return self.values.get((key, name))

    def set_string(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def set_binary(self, key: str, name: str, value: bytes) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def test_windows_run_key_quoted_and_startup_approved_honoured() -> None:
    registry = FakeRegistry()
    writer = WindowsAutostart([EXE], registry)
    assert not writer.is_enabled()
    writer.enable()
    assert registry.values[(RUN_KEY, "HH Raiser")] == f'"{EXE}"'
    assert writer.is_enabled()
    # the user disables it in Task Manager: the low bit of the first byte
    registry.set_binary(APPROVED_KEY, "HH Raiser", b"\x03" + b"\x00" * 11)
    assert not writer.is_enabled()
    writer.enable()  # asked again from our menu: on again
    assert writer.is_enabled()
    writer.disable()
    assert registry.values == {}


def test_windows_pip_installed_command_line() -> None:
    line = command_line([r"C:\Users\Анна Б\venv\Scripts\python.exe", "-m", "tray_app"])
    assert line == r'"C:\Users\Анна Б\venv\Scripts\python.exe" "-m" "tray_app"'


def test_macos_launch_agent(tmp_path: Path) -> None:
    agents = tmp_path / "Library" / "LaunchAgents"
    writer = MacAutostart(["/Applications/HH Raiser.app/Contents/MacOS/HH Raiser"], agents)
    assert not writer.is_enabled()
    writer.enable()
    agent = plistlib.loads(writer.path.read_bytes())
    assert agent["RunAtLoad"] is True
    assert agent["ProgramArguments"] == ["/Applications/HH Raiser.app/Contents/MacOS/HH Raiser"]
    assert writer.path.name.endswith(".plist") and writer.is_enabled()
    writer.disable()
    assert not writer.path.exists() and not writer.is_enabled()


def test_linux_desktop_entry_and_desktop_switches(tmp_path: Path) -> None:
    writer = LinuxAutostart(["/home/anna/my apps/hh-raiser"], tmp_path / "autostart")
    writer.enable()
    text = writer.path.read_text()
    assert 'Exec="/home/anna/my apps/hh-raiser"' in text
    assert writer.is_enabled()
    writer.path.write_text(
        text.replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false")
    )
    assert not writer.is_enabled()
    writer.path.write_text(text + "Hidden=true\n")
    assert not writer.is_enabled()
    writer.disable()
    assert not writer.path.exists()


def test_exec_line_escaping() -> None:
    assert exec_line(["/usr/bin/hh-raiser"]) == "/usr/bin/hh-raiser"
    assert exec_line(['/o"dd/$x', "100%"]) == '"/o\\"dd/\\$x" 100%%'


def test_the_command_for_each_way_of_installing(tmp_path: Path) -> None:
    assert launch_command({"APPIMAGE": "/home/a/HH.AppImage"}) == ["/home/a/HH.AppImage"]
    assert launch_command({}, frozen=True, executable="/opt/hh/hh-raiser") == ["/opt/hh/hh-raiser"]
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    assert launch_command({}, frozen=False, executable=str(python)) == [
        str(python),
        "-m",
        "tray_app",
    ]
    (tmp_path / "bin" / "hh-raiser").touch()
    assert launch_command({}, frozen=False, executable=str(python)) == [
        str(tmp_path / "bin" / "hh-raiser")
    ]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils")
def test_linux_for_real_as_a_desktop_reads_it(tmp_path: Path) -> None:
    """This system's writer, in an XDG config home, accepted by desktop-file-validate."""
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    writer = for_this_system(environ)
    assert isinstance(writer, LinuxAutostart)
    assert writer.path.parent == autostart_dir(environ) == tmp_path / "config" / "autostart"
    writer.enable()
    result = subprocess.run(
        ["desktop-file-validate", str(writer.path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert writer.is_enabled()
    writer.disable()
    assert not writer.is_enabled()
