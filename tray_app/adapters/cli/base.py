"""What every command shares: the injectable outside world, exit codes, output.

Exit codes (documented in the README):
0 success; 1 other failure; 2 usage error; 3 nothing due yet; 4 sign-in needed (again,
or for the first time: no account set up yet); 5 another instance is running.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from keyring.backend import KeyringBackend

from tray_app.adapters.bundle import open_in_browser
from tray_app.adapters.control import InstanceUnavailable, NotHHRaiser
from tray_app.adapters.usecases import InstanceReply, tell_instance
from tray_app.core.engine import EngineOptions
from tray_app.core.errors import NoKeyringError
from tray_app.core.models import StoreKind
from tray_app.i18n import t
from tray_app.storage.memory_keyring import demo_keyring
from tray_app.storage.paths import AppPaths, app_paths
from tray_app.storage.secret_choice import StoreInfo, open_chosen
from tray_app.storage.secrets import MissingKeyring, SecretStore
from tray_app.storage.settings import SettingsStore
from tray_app.wiring import Runtime, build_runtime, set_up_before

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_DUE = 3
EXIT_SIGN_IN = 4
EXIT_ALREADY_RUNNING = 5


_output_lock = threading.Lock()
console_log = logging.getLogger("tray_app.console")
log = logging.getLogger(__name__)


def _write_line(stream: TextIO | None, text: str) -> None:
    """One write per line under a lock: lines from several threads never interleave.
    ``stream`` is None in a windowed (frozen) build."""
    if stream is None:
        return
    with _output_lock:
        stream.write(text + "\n")
        stream.flush()


@dataclass
class Cli:
    """What a command needs from the outside; tests replace the parts they drive."""

    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO | None = field(default_factory=lambda: sys.stdin)  # None: windowed build
    keyring_backend: KeyringBackend | None = None
    prompt: Callable[[str], str] = input
    secret_prompt: Callable[[str], str] = getpass.getpass
    open_browser: Callable[[str], bool] = open_in_browser
    stop: threading.Event = field(default_factory=threading.Event)
    language: str = "ru"
    exit_at_once: bool = False
    """Set by a command whose GUI toolkit may hang the interpreter's exit (the sign-in
    window: WebKitGTK's threads); the real process then ends as soon as it returns."""
    warned_unsafe: bool = False  # said once per command, however often it opens the store
    log_json: bool = False
    """``--log-format json``: what would be printed becomes a log line too, so every
    line the process writes is JSON (on stderr, with the log)."""

    def __post_init__(self) -> None:
        if self.keyring_backend is None:  # a window the demo opened: the demo's secrets
            self.keyring_backend = demo_keyring(self.environ)

    @property
    def paths(self) -> AppPaths:
        return app_paths(self.environ)

    def say(self, text: str) -> None:
        if self.log_json:
            console_log.info("%s", text, extra={"event": "console"})
        else:
            _write_line(self.out, text)

    def complain(self, text: str) -> None:
        if self.log_json:
            console_log.error("%s", text, extra={"event": "console"})
        else:
            _write_line(self.err, text)

    def runtime(self, *, long_running: bool = False, fresh_install_ok: bool = False) -> Runtime:
        """One-shot commands skip the server-clock calibration probes (seconds).

        ``fresh_install_ok``: where nothing was ever set up, a missing keyring holds no
        account either, so an empty stand-in answers and the command can say "not set
        up yet"; once anything was set up, the missing keyring is the problem, raised
        as :class:`NoKeyringError`."""
        options = EngineOptions(calibrate=long_running)
        try:
            runtime = build_runtime(
                self.environ, keyring_backend=self.keyring_backend, engine_options=options
            )
        except NoKeyringError as exc:
            if not fresh_install_ok or set_up_before(self.paths):
                raise
            log.info("no keyring, and nothing set up yet: %s", exc)
            runtime = build_runtime(
                self.environ, keyring_backend=MissingKeyring(exc), engine_options=options
            )
        self.warn_unsafe(runtime.secret_store)
        return runtime

    def secrets(self) -> tuple[SecretStore, StoreInfo]:
        """The chosen secret store, for a command that needs no runtime."""
        settings = SettingsStore(self.paths.settings_file).load()
        store, info = open_chosen(self.paths, self.environ, settings, self.keyring_backend)
        self.warn_unsafe(info)
        return store, info

    def warn_unsafe(self, info: StoreInfo) -> None:
        """A store the user chose but that is not safe is said on every start, on
        stderr (the log has it too): plain text, or a key others can read."""
        if self.warned_unsafe:
            return
        self.warned_unsafe = not info.safe
        if info.kind == StoreKind.PLAIN_FILE:
            self.complain(t("secrets.plain_warning", self.language, path=info.where))
        if info.key_exposed and info.key is not None:
            self.complain(t("secrets.key_exposed", self.language, path=info.key.path))


def notify_instance(cli: Cli, what: str) -> None:
    """Presents :func:`tell_instance`: silent when no instance runs."""
    told = tell_instance(cli.paths, what)
    if told.reply == InstanceReply.FAILED:  # saved; only the live pick-up failed
        cli.complain(t("err.instance", cli.language, detail=told.detail))
    elif told.reply == InstanceReply.APPLIED:
        cli.say(t("config.applied", cli.language))
    elif told.reply == InstanceReply.NOT_HH_RAISER:
        cli.complain(not_hh_raiser_text(cli, told.port))


def not_hh_raiser_text(cli: Cli, port: int | None) -> str:
    return t("err.not_hh_raiser", cli.language, port=port, path=cli.paths.control_file)


def no_instance(cli: Cli, reason: InstanceUnavailable) -> None:
    """Before a command acts alone: when control.json's port is another program's, the
    user learns why it did not go through the running instance (none runs, or the
    instance lock will say so)."""
    if isinstance(reason, NotHHRaiser):
        cli.complain(not_hh_raiser_text(cli, reason.port))
