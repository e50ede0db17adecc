"""The app's hints ("run hh-raiser login") name a command the user can run:
``./scripts/start`` puts nothing on PATH, so a bare ``hh-raiser`` often names nothing."""

from __future__ import annotations

import io
import os
import re
import shlex
from pathlib import Path

import pytest

from tray_app import i18n
from tray_app.adapters.autostart import launch_command
from tray_app.adapters.cli import EXIT_FAILURE, Cli, main
from tray_app.adapters.command import command_name
from tray_app.i18n import en, ru, t
from tray_app.storage.memory_keyring import MemoryKeyring

# "hh-raiser login", "hh-raiser config set …": a command typed by hand, not a file name
# or systemd's unit (journalctl -u hh-raiser)
TYPED_COMMAND = re.compile(r"(?<![\w/.-])(?<!-u )hh-raiser (?=[a-z-])")
NOT_THIS_PROGRAM = (
    "The hh-raiser service is",  # the unit's name, not a command
    "(hh-raiser secrets new-key - > secrets.key)",  # typed on the Docker host, not here
)


@pytest.fixture(autouse=True)
def _keep_the_command_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` tells i18n how this process is started: undone after each test."""
    monkeypatch.setattr(i18n, "_command", i18n._command)


def venv(root: Path) -> Path:
    """A venv's ``bin`` with its interpreter and the ``hh-raiser`` script."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "hh-raiser"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_the_bare_name_only_when_path_finds_this_very_program(tmp_path: Path) -> None:
    bin_dir = venv(tmp_path / "checkout" / ".venv")
    python, script = str(bin_dir / "python"), str(bin_dir / "hh-raiser")

    def name(path: str) -> str:
        return command_name({"PATH": path}, frozen=False, executable=python, platform="linux")

    assert name(f"/usr/bin{os.pathsep}{bin_dir}") == "hh-raiser"  # activated
    assert name("/usr/bin") == script  # ./scripts/start: nothing on PATH
    other = venv(tmp_path / "other")  # another installation comes first
    assert name(f"{other}{os.pathsep}{bin_dir}") == script
    # pipx: a link in ~/.local/bin to the script in its venv
    local_bin = tmp_path / "local-bin"
    local_bin.mkdir()
    (local_bin / "hh-raiser").symlink_to(script)
    assert name(f"{local_bin}{os.pathsep}/usr/bin") == "hh-raiser"


def test_the_full_command_is_quoted_for_the_shell(tmp_path: Path) -> None:
    bin_dir = venv(tmp_path / "my projects" / ".venv")
    (bin_dir / "hh-raiser").unlink()  # no script beside the interpreter: python -m
    python = str(bin_dir / "python")
    assert command_name(
        {"PATH": "/usr/bin"}, frozen=False, executable=python, platform="linux"
    ) == (f"'{python}' -m tray_app")
    # the built app is its own executable, on Windows quoted Windows' way
    built = r"C:\Program Files\hh-raiser\hh-raiser.exe"
    assert command_name({"PATH": ""}, frozen=True, executable=built, platform="win32") == (
        f'"{built}"'
    )
    appimage = {"PATH": "/usr/bin", "APPIMAGE": "/home/me/HH Raiser.AppImage"}
    assert command_name(appimage, platform="linux") == "'/home/me/HH Raiser.AppImage'"


@pytest.mark.parametrize("catalog", [ru.MESSAGES, en.MESSAGES], ids=["ru", "en"])
def test_every_hint_names_the_command_that_runs(catalog: dict[str, str]) -> None:
    """A command in a message is ``{cmd} …``, filled in by ``t``, never a bare
    ``hh-raiser …`` that may run nothing."""

    def typed(text: str) -> bool:
        for phrase in NOT_THIS_PROGRAM:
            text = text.replace(phrase, "")
        return bool(TYPED_COMMAND.search(text))

    assert {key: text for key, text in catalog.items() if typed(text)} == {}


def login_without_a_client_id(tmp_path: Path, path: str) -> str:
    """What ``hh-raiser login`` says with no client_id set: a command to set it."""
    environ = {"HH_RAISER_HOME": str(tmp_path / "home"), "PATH": path}
    err = io.StringIO()
    code = main(
        ["login", "--paste"],
        Cli(environ=environ, out=io.StringIO(), err=err, keyring_backend=MemoryKeyring()),
    )
    assert code == EXIT_FAILURE
    return err.getvalue()


def test_a_hint_prints_the_command_this_installation_runs(tmp_path: Path) -> None:
    """The full command when PATH does not lead here (a fresh ``./scripts/start``),
    the bare name when it does (an activated venv)."""
    this = launch_command({})  # this interpreter's hh-raiser script, else python -m
    told = login_without_a_client_id(tmp_path, "/usr/bin:/bin")
    assert f"dev.hh.ru: {shlex.join(this)} config set client_id" in told
    if len(this) == 1:  # a script to find on PATH
        told = login_without_a_client_id(tmp_path, f"{Path(this[0]).parent}:/usr/bin")
        assert "dev.hh.ru: hh-raiser config set client_id" in told


def test_the_hint_in_english_too() -> None:
    i18n.use_command(lambda: "/opt/hh raiser/bin/hh-raiser")
    assert "run “/opt/hh raiser/bin/hh-raiser login”" in t("auth.sign_in_needed", "en")
