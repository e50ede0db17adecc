"""Linux: a systemd **user** unit, ``~/.config/systemd/user/hh-raiser.service``.

The unit runs ``run --headless`` as the user (no root, the user's own files and
keyring), restarts it when it fails, and watches it through the notify protocol
(:mod:`~tray_app.adapters.os_service.sd_notify`): ``Type=notify`` waits for
``READY=1``, ``WatchdogSec=`` kills and restarts a process whose scheduler loop stopped
pinging. stdout and stderr go to the journal; the app keeps its own log file too.

``systemctl`` and ``loginctl`` are run through an injectable :data:`Runner`, so the
commands can be shown instead when there is no user manager to talk to.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tray_app import APP_NAME
from tray_app.adapters.autostart.linux import config_home
from tray_app.storage.atomic import write_atomic
from tray_app.storage.paths import HOME_ENV
from tray_app.storage.secret_choice import KEY_FILE_ENV, KEY_NAME, STORE_ENV

UNIT_NAME = "hh-raiser.service"
CREDENTIAL = KEY_NAME
"""The systemd credential the encrypted secret store reads its key from
(``$CREDENTIALS_DIRECTORY/hh-raiser-secrets-key``)."""
PASSED_ENV = (
    HOME_ENV,
    STORE_ENV,
    "HH_RAISER_API_URL",
    "HH_RAISER_OAUTH_URL",
    "HH_RAISER_WEB_URL",
    "HH_RAISER_TELEGRAM_URL",
    "HH_RAISER_RELEASES_URL",
    "HH_RAISER_TIMEOUT",
)
"""The app's own variables, copied into the unit as they are set at install time (a
service does not see the shell's environment). Proxy variables are not copied: their
URL may hold a password, and the unit is a plain file."""
PATH_ENV = (HOME_ENV,)  # made absolute: the service starts in another folder
WATCHDOG_SECONDS = 600
"""Twice the longest a job of the scheduler can take when hh.ru answers nothing:
every request waits its timeout and is retried (a raise and its two re-reads, about
five minutes). A loop silent for longer is hung, not slow."""
RESTART_SECONDS = 30
STOP_SECONDS = 90  # the scheduler waits up to 60 s for a raise in flight
NO_RESTART_EXIT_CODES = (2, 4, 5)
"""Usage error, sign-in needed, another instance runs: a restart cannot help."""


NOT_FOUND = 127  # the shell's code for a command that is not there


@dataclass(frozen=True)
class Ran:
    """What a command answered; ``code`` :data:`NOT_FOUND` when it could not be
    started at all."""

    code: int
    out: str = ""
    err: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


Runner = Callable[[list[str]], Ran]


def run_command(argv: list[str], environ: Mapping[str, str] | None = None) -> Ran:
    """Runs a system command with a timeout; never raises. ``environ``: the command's
    own (its PATH, and XDG_RUNTIME_DIR, where ``systemctl --user`` finds the manager)."""
    env = None if environ is None else dict(environ)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, check=False, env=env
        )
    except FileNotFoundError as exc:
        return Ran(NOT_FOUND, "", str(exc))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Ran(1, "", str(exc))
    return Ran(done.returncode, done.stdout.strip(), done.stderr.strip())


def unit_dir(environ: Mapping[str, str]) -> Path:
    return config_home(environ) / "systemd" / "user"


def _escape(text: str) -> str:
    """Inside double quotes: backslash and quote escaped, specifiers kept literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return escaped.replace("%", "%%")


def exec_line(command: list[str]) -> str:
    """``ExecStart=``'s words (systemd.service(5), "Command lines"): quoted where
    needed, ``%`` kept literal everywhere, ``$`` in the arguments (the program's own
    path is never searched for variables, so ``$$`` would stay doubled there)."""

    def word(part: str, dollars: bool) -> str:
        if part and not any(ch in part for ch in " \t\n\"'\\;"):
            text = part.replace("%", "%%")
        else:
            text = '"' + _escape(part) + '"'
        return text.replace("$", "$$") if dollars else text

    return " ".join(word(part, number > 0) for number, part in enumerate(command))


@dataclass(frozen=True)
class UnitSpec:
    """What the unit runs and with what."""

    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    key_file: Path | None = None  # passed as the credential ``hh-raiser-secrets-key``


def unit_spec(
    launch: list[str], environ: Mapping[str, str], *, log_format: str = "text"
) -> UnitSpec:
    """The unit for this installation: ``launch`` (the app's command) runs headless;
    the app's variables set now are kept, with folders made absolute."""
    command = [os.path.abspath(launch[0]), *launch[1:], "run", "--headless"]
    if log_format != "text":
        command += ["--log-format", log_format]
    environment = {}
    for name in PASSED_ENV:
        value = environ.get(name)
        if value:
            environment[name] = (
                os.path.abspath(os.path.expanduser(value)) if name in PATH_ENV else value
            )
    if launch[1:3] == ["-m", "tray_app"] and environ.get("PYTHONPATH"):
        environment["PYTHONPATH"] = environ["PYTHONPATH"]  # a checkout, not installed
    key = environ.get(KEY_FILE_ENV)
    key_file = Path(os.path.abspath(os.path.expanduser(key))) if key else None
    return UnitSpec(command, environment, key_file)


def unit_text(spec: UnitSpec) -> str:
    environment = [f'Environment="{_escape(f"{k}={v}")}"' for k, v in spec.environment.items()]
    credential = (
        [f"LoadCredential={CREDENTIAL}:{str(spec.key_file).replace('%', '%%')}"]
        if spec.key_file
        else []
    )
    return "\n".join(
        [
            "# Written by `hh-raiser service install`; `hh-raiser service uninstall` removes it.",
            "[Unit]",
            f"Description={APP_NAME}: raises resumes on hh.ru",
            f"StartLimitIntervalSec={10 * RESTART_SECONDS}",
            "StartLimitBurst=5",
            "",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            f"ExecStart={exec_line(spec.command)}",
            "Restart=on-failure",
            f"RestartSec={RESTART_SECONDS}",
            f"RestartPreventExitStatus={' '.join(map(str, NO_RESTART_EXIT_CODES))}",
            f"WatchdogSec={WATCHDOG_SECONDS}",
            f"TimeoutStopSec={STOP_SECONDS}",
            *environment,
            # a watchdog kill (SIGABRT) then prints where every thread hung
            'Environment="PYTHONFAULTHANDLER=1"',
            *credential,
            "StandardOutput=journal",
            "StandardError=journal",
            "SyslogIdentifier=hh-raiser",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


@dataclass(frozen=True)
class UnitState:
    installed: bool
    path: Path
    enabled: str  # systemctl's word: enabled, disabled, ... or "unknown"
    active: str  # active, inactive, failed, activating, ... or "unknown"
    linger: bool | None  # None: loginctl could not say
    exec_start: str | None  # the unit file's ExecStart= line

    @property
    def running(self) -> bool:
        return self.active == "active"


@dataclass
class Change:
    """What ``install`` or ``uninstall`` did: the ``systemctl`` calls made, and the
    first that failed (nothing after it was run; ``todo`` is left to the user)."""

    path: Path
    ran: list[str] = field(default_factory=list)
    failed: Ran | None = None
    todo: list[str] = field(default_factory=list)
    started: bool = False


def shell_line(argv: list[str]) -> str:
    return " ".join(argv)


class SystemdUserService:
    """Writes, removes and asks about the user unit; runs ``systemctl --user``."""

    def __init__(self, directory: Path, user: str, runner: Runner = run_command) -> None:
        self.path = directory / UNIT_NAME
        self.user = user
        self._run = runner

    def systemctl(self, *args: str) -> Ran:
        return self._run(["systemctl", "--user", *args])

    def write(self, spec: UnitSpec) -> bool:
        """Writes the unit; False when it was already exactly this."""
        text = unit_text(spec)
        try:
            if self.path.read_text(encoding="utf-8") == text:
                return False
        except OSError:
            pass
        write_atomic(self.path, text, mode=0o644)
        return True

    def remove(self) -> None:
        """The unit and the link ``enable`` made (left dangling if ``disable`` could
        not be run)."""
        self.path.unlink(missing_ok=True)
        wants = self.path.parent / "default.target.wants" / UNIT_NAME
        if wants.is_symlink():
            wants.unlink()

    def _steps(self, change: Change, steps: list[list[str]]) -> Change:
        """Runs ``systemctl --user`` steps in order; after a failure, the rest are
        left in ``change.todo`` with the failed one."""
        for number, step in enumerate(steps):
            ran = self.systemctl(*step)
            if not ran.ok:
                change.failed = ran
                change.todo = [shell_line(["systemctl", "--user", *s]) for s in steps[number:]]
                return change
            change.ran.append(shell_line(["systemctl", "--user", *step]))
        return change

    def install(self, spec: UnitSpec, *, start: bool) -> Change:
        """Writes the unit, reloads the user manager, enables the unit; starts it
        when ``start`` (a running one is restarted if its unit changed)."""
        changed = self.write(spec)
        change = self._steps(Change(self.path), [["daemon-reload"]])
        if change.failed is not None:
            change.todo.append(shell_line(["systemctl", "--user", "enable", "--now", UNIT_NAME]))
            return change
        if self.systemctl("is-active", UNIT_NAME).out == "active":
            steps = [["enable", UNIT_NAME]] + ([["restart", UNIT_NAME]] if changed else [])
            change.started = True
        elif start:
            steps = [["enable", "--now", UNIT_NAME]]
            change.started = True
        else:
            steps = [["enable", UNIT_NAME]]
        self._steps(change, steps)
        change.started = change.started and change.failed is None
        return change

    def uninstall(self) -> Change:
        """Stops and disables the unit, then removes it: the files go even when the
        user manager cannot be reached (what is left to do by hand is said)."""
        change = self._steps(Change(self.path), [["disable", "--now", UNIT_NAME]])
        self.remove()
        if change.failed is None:
            self._steps(change, [["daemon-reload"]])
        else:
            change.todo = [
                shell_line(["systemctl", "--user", "stop", UNIT_NAME]),
                shell_line(["systemctl", "--user", "daemon-reload"]),
            ]
        return change

    def exec_start(self) -> str | None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        return next(
            (line.split("=", 1)[1] for line in lines if line.startswith("ExecStart=")), None
        )

    def linger(self) -> bool | None:
        """Whether the user's services run without a login session (and from boot)."""
        ran = self._run(["loginctl", "show-user", self.user, "--property=Linger", "--value"])
        if not ran.ok or ran.out not in ("yes", "no"):
            return None
        return ran.out == "yes"

    def state(self) -> UnitState:
        def word(ran: Ran) -> str:
            # is-active/is-enabled print the state and exit non-zero for "inactive";
            # with no user manager they print nothing
            return ran.out.splitlines()[0] if ran.out else "unknown"

        return UnitState(
            installed=self.path.exists(),
            path=self.path,
            enabled=word(self.systemctl("is-enabled", UNIT_NAME)),
            active=word(self.systemctl("is-active", UNIT_NAME)),
            linger=self.linger(),
            exec_start=self.exec_start(),
        )
