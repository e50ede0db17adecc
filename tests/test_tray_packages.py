"""A Linux desktop without the tray menu's packages: the app says what to run for how
it is installed, and from a checkout's venv, in a terminal, offers to run it."""

from __future__ import annotations

import io
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from tray_app.adapters.cli import Cli
from tray_app.adapters.cli import serve as serve_module
from tray_app.adapters.tray import packages
from tray_app.adapters.tray.app import TrayUnavailable
from tray_app.adapters.tray.packages import (
    PYGOBJECT,
    Installation,
    install_command,
    offer_install,
    this_installation,
)

ROOT = Path(__file__).parent.parent
CHECKOUT = Installation(
    python="/src/hh raiser/.venv/bin/python",
    checkout=Path("/src/hh raiser"),
    pipx=False,
    frozen=False,
)
MISSING = ["gir1.2-gtk-3.0", "gir1.2-ayatanaappindicator3-0.1"]


def checkout_folder(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    (root / packages.DEPS_SCRIPT).write_text("#!/bin/sh\n")
    (root / "pyproject.toml").write_text("")
    return root


def test_how_this_copy_is_installed(tmp_path: Path) -> None:
    source = checkout_folder(tmp_path / "src")
    venv = dict(prefix="/src/.venv", base_prefix="/usr")
    found = this_installation(frozen=False, source=source, **venv)
    assert found.checkout == source and not found.pipx
    assert this_installation(frozen=True, source=source, **venv).checkout is None
    # pip outside any venv: the system's Python is not ours to add to
    assert this_installation(frozen=False, source=source, prefix="/usr", base_prefix="/usr") == (
        Installation(python=sys.executable, checkout=None, pipx=False, frozen=False)
    )
    pipx_venv = tmp_path / "home" / "venvs" / "hh-raiser"
    site = pipx_venv / "lib" / "site-packages"
    site.mkdir(parents=True)
    (pipx_venv / "pipx_metadata.json").write_text("{}")
    pipx = this_installation(frozen=False, source=site, prefix=str(pipx_venv), base_prefix="/usr")
    assert pipx.pipx and pipx.checkout is None


def test_the_command_to_run_fits_the_installation() -> None:
    assert install_command(CHECKOUT) == "cd '/src/hh raiser' && ./scripts/start"
    apt = "sudo apt install libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0"
    pipx = Installation("/p/python", None, pipx=True, frozen=False)
    assert install_command(pipx).startswith(apt)
    assert install_command(pipx).endswith(" && pipx inject hh-raiser 'PyGObject<3.51'")
    venv = Installation("/opt/venv/bin/python", None, pipx=False, frozen=False)
    assert install_command(venv).endswith(
        " && /opt/venv/bin/python -m pip install 'PyGObject<3.51'"
    )
    assert install_command(Installation("/x/hh-raiser", None, False, frozen=True)) == (
        apt + " gir1.2-ayatanaappindicator3-0.1"
    )


def test_the_pin_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"][packages.EXTRA]
    assert [requirement.split(";")[0].strip() for requirement in extra] == [PYGOBJECT]


class Terminal:
    """The user at the terminal: what was shown, the answer, the steps run."""

    def __init__(self, answer: str | None, fail: int | None = None) -> None:
        self.answer, self.fail = answer, fail
        self.shown: list[str] = []
        self.ran: list[list[str]] = []

    def ask(self, question: str) -> str:
        self.shown.append(question)
        if self.answer is None:
            raise EOFError
        return self.answer

    def run(self, command: Sequence[str]) -> int:
        self.ran.append(list(command))
        return 1 if self.fail == len(self.ran) else 0

    def offer(self, installation: Installation = CHECKOUT, *, root: bool = False) -> bool:
        return offer_install(
            installation,
            language="en",
            say=self.shown.append,
            ask=self.ask,
            run=self.run,
            missing=lambda _checkout: MISSING,
            root=root,
        )


SUDO_STEP = ["sudo", "/src/hh raiser/scripts/linux-desktop-deps"]
PIP_STEP = ["/src/hh raiser/.venv/bin/python", "-m", "pip", "install", "-e"]


@pytest.mark.parametrize("answer", ["y", "Yes", "да"])
def test_yes_installs_after_showing_every_command(answer: str) -> None:
    user = Terminal(answer)
    assert user.offer() is True
    shown = "\n".join(user.shown)
    # sudo is never run unseen: the exact lines first, the question after them
    assert "  sudo '/src/hh raiser/scripts/linux-desktop-deps'   # apt-get install " in shown
    assert "gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1" in shown
    assert "-m pip install -e '/src/hh raiser[linux-tray]'" in shown
    assert "sudo asks for your password" in shown
    assert shown.index("Install now? [y/N]") > shown.index("pip install")
    assert user.ran == [SUDO_STEP, [*PIP_STEP, "/src/hh raiser[linux-tray]"]]
    assert "Starting HH Raiser again" in user.shown[-1]


@pytest.mark.parametrize("answer", ["", "n", "no", None])  # None: stdin closed
def test_anything_but_yes_runs_nothing(answer: str | None) -> None:
    user = Terminal(answer)
    assert user.offer() is False
    assert user.ran == []


def test_a_failed_step_stops_and_is_named() -> None:
    user = Terminal("y", fail=1)
    assert user.offer() is False
    assert user.ran == [SUDO_STEP]
    assert user.shown[-1] == (
        "Installing failed: “sudo '/src/hh raiser/scripts/linux-desktop-deps'” exited with code 1."
    )


def test_as_root_no_sudo_and_no_password_said() -> None:
    user = Terminal("y")
    assert user.offer(root=True) is True
    assert user.ran[0] == SUDO_STEP[1:]
    assert not any("sudo" in line for line in user.shown)


def test_only_a_checkout_is_offered() -> None:
    user = Terminal("y")
    for other in (
        Installation("/p/python", None, pipx=True, frozen=False),
        Installation("/x/hh-raiser", None, pipx=False, frozen=True),
    ):
        assert user.offer(other) is False
    assert user.shown == [] and user.ran == []


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "restarts"), [("y", 1), ("n", 0)])
def test_a_desktop_without_the_menu_offers_and_starts_again(
    monkeypatch: pytest.MonkeyPatch, answer: str, restarts: int
) -> None:
    def no_menu(language: str) -> None:
        raise TrayUnavailable("the tray would have no menu")

    monkeypatch.setattr(serve_module, "load_pystray", no_menu)
    monkeypatch.setattr(serve_module, "this_installation", lambda: CHECKOUT)
    monkeypatch.setattr(packages, "missing_packages", lambda _checkout: [])
    ran: list[list[str]] = []

    def run(command: Sequence[str]) -> int:
        ran.append(list(command))
        return 0

    monkeypatch.setattr(packages, "run_step", run)
    started: list[bool] = []
    err = io.StringIO()
    cli = Cli(environ={}, out=io.StringIO(), err=err, stdin=Tty(), prompt=lambda _q: answer)
    with pytest.raises(TrayUnavailable):
        serve_module._choose_tray(cli, False, restart=lambda: started.append(True))
    assert len(started) == restarts == len(ran)
    assert "pip install -e" in err.getvalue()


def test_not_in_a_terminal_nothing_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_menu(language: str) -> None:
        raise TrayUnavailable("the tray would have no menu")

    monkeypatch.setattr(serve_module, "load_pystray", no_menu)
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return "y"

    cli = Cli(environ={}, out=io.StringIO(), err=io.StringIO(), stdin=io.StringIO(), prompt=ask)
    with pytest.raises(TrayUnavailable):
        serve_module._choose_tray(cli, False, restart=lambda: None)
    assert asked == []


def test_the_script_lists_what_is_missing_and_installs_nothing() -> None:
    listed = subprocess.run(
        [str(ROOT / packages.DEPS_SCRIPT), "--missing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    script = (ROOT / packages.DEPS_SCRIPT).read_text(encoding="utf-8")
    assert all(name in script for name in listed.stdout.split())
