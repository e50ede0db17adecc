"""What the tray's menu needs on a Linux desktop (PyGObject over GTK and AppIndicator),
said as a command that fits how this copy is installed, and offered to be installed.

``./scripts/start`` sets these up only when it runs on a desktop; a checkout set up on
a server (or over ssh) and then used on a desktop had to know to run it again. Now the
app itself, started in a terminal from a checkout's venv, shows what it would run and
asks. Never elsewhere: a built app carries its own GTK, and a pipx or system install
is not ours to change (they get the command to run instead)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tray_app
from tray_app import APP_ID
from tray_app.adapters.bundle import is_frozen
from tray_app.adapters.command import shell_join
from tray_app.i18n import t

PYGOBJECT = "PyGObject<3.51"  # pyproject.toml's linux-tray extra (a test keeps them equal)
EXTRA = "linux-tray"
DEPS_SCRIPT = "scripts/linux-desktop-deps"
# the part of DEPS_SCRIPT's list the menu needs: GTK, AppIndicator, what PyGObject builds on
APT_PACKAGES = (
    "libgirepository1.0-dev",
    "libcairo2-dev",
    "pkg-config",
    "gir1.2-gtk-3.0",
    "gir1.2-ayatanaappindicator3-0.1",
)
YES = ("y", "yes", "д", "да")


@dataclass(frozen=True)
class Installation:
    """How this copy of HH Raiser is installed, as far as adding packages goes."""

    python: str
    checkout: Path | None  # the source folder whose venv runs us (``./scripts/start``)
    pipx: bool
    frozen: bool


@dataclass(frozen=True)
class Step:
    command: list[str]
    does: str | None  # what a script will do, shown beside it

    def shown(self) -> str:
        return shell_join(self.command) + (f"   # {self.does}" if self.does else "")


def this_installation(
    *,
    frozen: bool | None = None,
    python: str | None = None,
    prefix: str | None = None,
    base_prefix: str | None = None,
    source: Path | None = None,
) -> Installation:
    """A checkout is a source folder with ``scripts/`` whose package this venv runs
    (``pip install -e``); ``pipx install .`` copies the package into a venv of pipx's,
    which pipx marks with its ``pipx_metadata.json``."""
    frozen = is_frozen() if frozen is None else frozen
    prefix = sys.prefix if prefix is None else prefix
    base_prefix = sys.base_prefix if base_prefix is None else base_prefix
    source = Path(tray_app.__file__).resolve().parents[1] if source is None else source
    in_venv = Path(prefix) != Path(base_prefix)
    is_checkout = (source / DEPS_SCRIPT).is_file() and (source / "pyproject.toml").is_file()
    return Installation(
        python=python or sys.executable,
        checkout=source if not frozen and in_venv and is_checkout else None,
        pipx=not frozen and (Path(prefix) / "pipx_metadata.json").is_file(),  # pipx writes it
        frozen=frozen,
    )


def install_command(installation: Installation) -> str:
    """What to run by hand so the next start has a tray with a menu."""
    if installation.checkout is not None:
        return f"cd {shlex.quote(str(installation.checkout))} && ./scripts/start"
    apt = f"sudo apt install {' '.join(APT_PACKAGES)}"
    if installation.frozen:  # the build carries PyGObject
        return apt
    if installation.pipx:
        return f"{apt} && pipx inject {APP_ID} {shlex.quote(PYGOBJECT)}"
    return f"{apt} && {shell_join([installation.python, '-m', 'pip', 'install', PYGOBJECT])}"


def install_steps(installation: Installation, missing: Sequence[str], *, root: bool) -> list[Step]:
    """What the offer runs in a checkout: the system packages (as ``scripts/start``
    does, through sudo unless root), then the extra into the checkout's venv."""
    checkout = installation.checkout
    assert checkout is not None
    steps = []
    if missing:
        script = str(checkout / DEPS_SCRIPT)
        does = f"apt-get install {' '.join(missing)}"
        steps.append(Step([script] if root else ["sudo", script], does))
    pip = [installation.python, "-m", "pip", "install", "-e", f"{checkout}[{EXTRA}]"]
    steps.append(Step(pip, None))
    return steps


def missing_packages(checkout: Path) -> list[str]:
    """The system packages ``scripts/linux-desktop-deps`` would install (none known
    off Debian-like systems)."""
    try:
        found = subprocess.run(
            [str(checkout / DEPS_SCRIPT), "--missing"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return found.stdout.split()


def run_step(command: Sequence[str]) -> int:
    """In the user's terminal, so sudo asks for the password there."""
    try:
        return subprocess.run(list(command), check=False).returncode
    except OSError as exc:
        print(exc, file=sys.stderr)
        return 127


def offer_install(
    installation: Installation,
    *,
    language: str,
    say: Callable[[str], None],
    ask: Callable[[str], str],
    run: Callable[[Sequence[str]], int] | None = None,
    missing: Callable[[Path], list[str]] | None = None,
    root: bool | None = None,
) -> bool:
    """Shows what would run and asks; True once everything installed (the process
    must start again to load it). Nothing runs without a yes, sudo never unseen."""
    if installation.checkout is None:
        return False
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    missing_now = (missing or missing_packages)(installation.checkout)
    steps = install_steps(installation, missing_now, root=root)
    say(t("tray.offer", language, commands="\n".join(f"  {step.shown()}" for step in steps)))
    if any(step.command[0] == "sudo" for step in steps):
        say(t("tray.offer_sudo", language))
    try:
        answer = ask(t("tray.offer_ask", language))
    except EOFError:
        return False
    if answer.strip().lower() not in YES:
        return False
    for step in steps:
        code = (run or run_step)(step.command)
        if code != 0:
            say(t("tray.offer_failed", language, command=shell_join(step.command), code=code))
            return False
    say(t("tray.offer_done", language))
    return True
