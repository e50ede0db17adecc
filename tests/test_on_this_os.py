"""This OS's own parts, for real: its keyring, and the place start-at-login writes to.
The release workflow runs this file on Windows and macOS runners (scripts/
platform-tests); here, on Linux, the keyring is the Secret Service of
scripts/with-test-keyring, and the autostart writers of the other systems are covered
by test_autostart.py against stand-ins."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import keyring
import pytest

from tray_app.adapters.autostart import for_this_system, launch_command
from tray_app.storage.secrets import SecretStore

from .conftest import in_ci


def test_the_systems_keyring_keeps_a_secret_and_forgets_it() -> None:
    backend = keyring.get_keyring()
    if type(backend).__module__.startswith("keyring.backends.fail"):
        message = f"no keyring here ({backend!r}): scripts/with-test-keyring gives one"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    store = SecretStore(backend, service=f"hh-raiser-test-{uuid.uuid4().hex[:8]}")
    expected = {
        "linux": "keyring.backends.SecretService.Keyring",
        "win32": "keyring.backends.Windows.WinVaultKeyring",
        "darwin": "keyring.backends.macOS.Keyring",
    }
    assert store.backend_name == expected[sys.platform]
    value = "токен " + uuid.uuid4().hex * 20  # not ASCII, and longer than a short field
    store.set("access_token", value)
    try:
        assert store.get("access_token") == value
    finally:
        store.delete("access_token")
    assert store.get("access_token") is None


def test_start_at_login_in_the_real_registry() -> None:
    if sys.platform != "win32":  # a platform check mypy understands: winreg is Windows'
        pytest.skip("the Windows registry")
    else:
        import winreg

        from tray_app.adapters.autostart.windows import RUN_KEY, WindowsAutostart, WinRegistry

        name = f"HH Raiser test {uuid.uuid4().hex[:8]}"  # never the user's own value
        command = [r"C:\Program Files\HH Raiser\hh-raiser.exe"]
        autostart = WindowsAutostart(command, WinRegistry(), name=name)
        autostart.enable()
        try:
            assert autostart.is_enabled()
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, kind = winreg.QueryValueEx(key, name)
            assert (value, kind) == (f'"{command[0]}"', winreg.REG_SZ)
        finally:
            autostart.disable()
        assert not autostart.is_enabled()


@pytest.mark.skipif(sys.platform != "darwin", reason="macOS LaunchAgents")
def test_start_at_login_as_a_launch_agent_launchd_accepts(tmp_path: Path) -> None:
    autostart = for_this_system()
    assert autostart is not None
    path: Path = autostart.path  # type: ignore[attr-defined]
    if path.exists():
        pytest.skip(f"{path} is this user's own: not touched")
    autostart.enable()
    try:
        assert autostart.is_enabled()
        assert plistlib.loads(path.read_bytes())["ProgramArguments"] == launch_command()
        if shutil.which("plutil"):
            subprocess.run(["plutil", "-lint", str(path)], check=True)
    finally:
        autostart.disable()
    assert not path.exists()


def test_this_system_has_a_start_at_login_writer() -> None:
    autostart = for_this_system({**os.environ, "XDG_CONFIG_HOME": "/nonexistent-config"})
    assert autostart is not None
    writers = {"linux": "linux", "win32": "windows", "darwin": "macos"}
    assert type(autostart).__module__.split(".")[-1] == writers[sys.platform]
