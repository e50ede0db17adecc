"""The ``hh-raiser`` command line.

Exit codes (documented in the README):
0 success; 1 other failure; 2 usage error; 3 nothing due yet; 4 sign-in needed;
5 another instance is running.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from keyring.backend import KeyringBackend

from tray_app import __version__
from tray_app.adapters.control import (
    ControlClient,
    InstanceUnavailable,
    result_to_json,
    snapshot_to_json,
)
from tray_app.adapters.login import LoginError, obtain_code, redirect_uri
from tray_app.adapters.logs import setup_logging
from tray_app.adapters.service import Service
from tray_app.adapters.text import (
    attempt_text,
    auth_text,
    error_text,
    event_text,
    local_time,
    reason_text,
)
from tray_app.core.engine import EngineOptions, NotDue
from tray_app.core.errors import (
    AlreadyRunningError,
    ConfigError,
    HHRaiserError,
    NoKeyringError,
    SignInNeeded,
)
from tray_app.core.events import Event
from tray_app.core.models import Attempt, AuthState, Outcome, TokenPair
from tray_app.i18n import t
from tray_app.storage.envfile import EnvFileError, read_env
from tray_app.storage.lock import InstanceLock
from tray_app.storage.paths import HOME_ENV, AppPaths, app_paths
from tray_app.storage.secrets import CLIENT_SECRET, TELEGRAM_BOT_TOKEN, TokenStore
from tray_app.storage.settings import FIELDS, SettingsStore, to_text, validate
from tray_app.wiring import API_URL_ENV, OAUTH_URL_ENV, Runtime, build_runtime

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_DUE = 3
EXIT_SIGN_IN = 4
EXIT_ALREADY_RUNNING = 5
SIGN_IN_STATES = (AuthState.SIGN_IN_NEEDED.value, AuthState.NOT_CONFIGURED.value)


@dataclass
class Cli:
    """What a command needs from the outside; tests replace the parts they drive."""

    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    keyring_backend: KeyringBackend | None = None
    prompt: Callable[[str], str] = input
    secret_prompt: Callable[[str], str] = getpass.getpass
    open_browser: Callable[[str], bool] = webbrowser.open
    stop: threading.Event = field(default_factory=threading.Event)
    language: str = "ru"

    @property
    def paths(self) -> AppPaths:
        return app_paths(self.environ)

    def say(self, text: str) -> None:
        if self.out is not None:  # None in a windowed (frozen) build
            print(text, file=self.out, flush=True)

    def complain(self, text: str) -> None:
        if self.err is not None:
            print(text, file=self.err, flush=True)

    def runtime(self, *, long_running: bool = False) -> Runtime:
        """One-shot commands skip the server-clock calibration probes (seconds)."""
        return build_runtime(
            self.environ,
            keyring_backend=self.keyring_backend,
            engine_options=EngineOptions(calibrate=long_running),
        )


# ---- run / demo ---------------------------------------------------------------------


def _serve(cli: Cli, runtime: Runtime) -> int:
    """Runs the service, printing its events, until ``cli.stop`` is set."""
    settings = runtime.settings

    def print_event(event: Event) -> None:
        text = event_text(event, settings().language)
        if text:
            cli.say(text)

    runtime.bus.subscribe(print_event)
    service = Service(runtime)
    service.start()
    cli.say(t("run.started", settings().language, version=__version__))
    try:
        # POSIX interrupts this wait for signals; elsewhere wake once a second for Ctrl+C
        while not cli.stop.wait(None if os.name == "posix" else 1.0):
            pass
    finally:
        service.stop()
    cli.say(t("run.stopped", settings().language))
    return EXIT_OK


def _install_signal_handlers(cli: Cli) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: cli.stop.set())


def cmd_run(cli: Cli, args: argparse.Namespace) -> int:
    if not getattr(args, "headless", False):
        cli.complain(t("run.tray_missing", cli.language))
    with InstanceLock(cli.paths.lock_file).acquire():
        runtime = cli.runtime(long_running=True)
        if not runtime.has_account():
            runtime.close()
            cli.complain(t("auth.sign_in_needed", cli.language))
            return EXIT_SIGN_IN
        _install_signal_handlers(cli)
        return _serve(cli, runtime)


def cmd_demo(cli: Cli, args: argparse.Namespace) -> int:
    """The app against the built-in simulator, with fake tokens in memory only."""
    from tray_app.simulator.hh import HHSimulator, SimConfig
    from tray_app.storage.memory_keyring import MemoryKeyring

    sim = HHSimulator(SimConfig(cooldown=float(args.cooldown))).start()
    home = tempfile.mkdtemp(prefix="hh-raiser-demo-")
    environ = {**cli.environ, HOME_ENV: home, API_URL_ENV: sim.url, OAUTH_URL_ENV: sim.url}
    demo = replace(cli, environ=environ, keyring_backend=MemoryKeyring())
    store = SettingsStore(demo.paths.settings_file)
    store.save(
        replace(
            store.load(),
            margin_seconds=1.0,
            language=cli.language,
            contact_email="demo@example.com",
        )
    )
    try:
        with InstanceLock(demo.paths.lock_file).acquire():
            runtime = demo.runtime(long_running=True)
            token = sim.issue_tokens()
            TokenStore(runtime.secrets).save(TokenPair(token.access_token, token.refresh_token))
            cli.say(t("demo.started", cli.language, url=sim.url, cooldown=args.cooldown))
            _install_signal_handlers(demo)
            return _serve(demo, runtime)
    finally:
        sim.stop()
        shutil.rmtree(home, ignore_errors=True)


def cmd_start(cli: Cli, args: argparse.Namespace) -> int:
    """No command: run if an account is set up, else the demo."""
    try:
        runtime = cli.runtime()
    except NoKeyringError as exc:  # the demo keeps its fake tokens in memory
        cli.complain(error_text(exc, cli.language))
        has_account = False
    else:
        has_account = runtime.has_account()
        runtime.close()
    if has_account:
        return cmd_run(cli, args)
    cli.say(t("demo.no_account", cli.language))
    return cmd_demo(cli, argparse.Namespace(cooldown=20))


# ---- talking to the running instance, or acting alone -----------------------------


def _live(cli: Cli, action: Callable[[Runtime], Any]) -> Any:
    """Runs ``action`` in this process, holding the instance lock (no instance runs)."""
    with InstanceLock(cli.paths.lock_file, timeout=5).acquire():
        runtime = cli.runtime()
        try:
            if not runtime.has_account():
                runtime.engine.mark_not_configured()
            return action(runtime)
        finally:
            runtime.close()


def _status_data(cli: Cli) -> dict[str, Any]:
    try:
        return ControlClient(cli.paths.control_file).status()
    except InstanceUnavailable:
        pass

    def read(runtime: Runtime) -> dict[str, Any]:
        if runtime.engine.auth_state is not AuthState.NOT_CONFIGURED:
            runtime.engine.refresh()
        return snapshot_to_json(runtime.engine.snapshot())

    return dict(_live(cli, read))


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def cmd_status(cli: Cli, args: argparse.Namespace) -> int:
    data = _status_data(cli)
    if args.json:
        cli.say(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        lang = cli.language
        auth = data["auth"]
        cli.say(
            t(
                "status.header",
                lang,
                auth=auth_text(AuthState(auth["state"]), lang, auth.get("captcha_url")),
            )
        )
        if data.get("paused"):
            cli.say(t("status.paused", lang))
        if not data["resumes"]:
            cli.say(t("status.no_resumes", lang))
        for r in data["resumes"]:
            cli.say(
                t(
                    "status.line",
                    lang,
                    mark="[x]" if r["enabled"] else "[ ]",
                    title=r["title"],
                    last=local_time(_parse_time(r["last_raise_at"]), lang)
                    if r["last_raise_at"]
                    else t("never", lang),
                    outcome=t(f"outcome_name.{r['last_outcome']}", lang)
                    if r["last_outcome"]
                    else t("never", lang),
                    next=local_time(_parse_time(r["next_raise_at"]), lang),
                )
            )
    return EXIT_SIGN_IN if data["auth"]["state"] in SIGN_IN_STATES else EXIT_OK


def cmd_resumes(cli: Cli, args: argparse.Namespace) -> int:
    data = _status_data(cli)
    for r in data["resumes"]:
        cli.say(
            t(
                "resumes.line",
                cli.language,
                id=r["id"],
                mark="[x]" if r["enabled"] else "[ ]",
                title=r["title"],
                status=reason_text(r["note"], cli.language) if r["note"] else "ok",
            )
        )
    if data["auth"]["state"] in SIGN_IN_STATES:
        cli.complain(auth_text(AuthState(data["auth"]["state"]), cli.language))
        return EXIT_SIGN_IN
    return EXIT_OK


def _result_from_json(item: dict[str, Any]) -> Attempt | NotDue:
    if item["outcome"] == "not_due":
        return NotDue(item["resume_id"], item["title"], _parse_time(item["next_raise_at"]))
    return Attempt.from_record(item)


def raise_now_exit_code(outcomes: Sequence[str]) -> int:
    if Outcome.SIGN_IN_NEEDED.value in outcomes:
        return EXIT_SIGN_IN
    failures = {Outcome.FAILED, Outcome.UNCONFIRMED, Outcome.CAPTCHA, Outcome.API_CLOSED}
    if any(o in {f.value for f in failures} for o in outcomes):
        return EXIT_FAILURE
    if Outcome.RAISED.value in outcomes:
        return EXIT_OK
    return EXIT_NOT_DUE


def cmd_raise_now(cli: Cli, args: argparse.Namespace) -> int:
    try:
        results = ControlClient(cli.paths.control_file).raise_now(args.resume)
    except InstanceUnavailable:
        results = _live(
            cli,
            lambda rt: [
                result_to_json(r, rt.engine.next_raise_at(r.resume_id))
                for r in rt.engine.raise_now(args.resume)
            ],
        )
    if args.json:
        cli.say(json.dumps({"results": results}, ensure_ascii=False, indent=2))
    else:
        for item in results:
            result = _result_from_json(item)
            cli.say(attempt_text(result, _parse_time(item.get("next_raise_at")), cli.language))
    return raise_now_exit_code([r["outcome"] for r in results])


# ---- configuration and credentials --------------------------------------------------


def _notify_instance(cli: Cli, what: str) -> None:
    try:
        ControlClient(cli.paths.control_file).reload(what)
    except InstanceUnavailable:
        return
    except (RuntimeError, OSError) as exc:  # saved; only the live pick-up failed
        cli.complain(t("err.instance", cli.language, detail=exc))
        return
    cli.say(t("config.applied", cli.language))


def cmd_config(cli: Cli, args: argparse.Namespace) -> int:
    store = SettingsStore(cli.paths.settings_file)
    if args.action == "list":
        settings = store.load()
        for key in FIELDS:
            cli.say(f"{key} = {to_text(getattr(settings, key))}")
    elif args.action == "get":
        cli.say(to_text(getattr(store.load(), args.key)))
    else:
        settings = store.set(args.key, args.value)
        cli.say(
            t("config.set", cli.language, key=args.key, value=to_text(getattr(settings, args.key)))
        )
        _notify_instance(cli, "settings")
    return EXIT_OK


def cmd_import_env(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    path = Path(args.path)
    try:
        env = read_env(path)
    except EnvFileError as exc:
        cli.complain(t("import.bad", lang, path=path, line=exc.line_number, reason=exc.reason))
        return EXIT_FAILURE
    values = env.values
    if ("ACCESS_TOKEN" in values) != ("REFRESH_TOKEN" in values):
        cli.complain(t("import.partial_tokens", lang))
        return EXIT_FAILURE
    setting_keys = {
        "RESUME_ID": "enabled_resumes",
        "CLIENT_ID": "client_id",
        "CONTACT_EMAIL": "contact_email",
        "CHAT_ID": "telegram_chat_id",
    }
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key in setting_keys:
            try:
                updates[setting_keys[key]] = validate(setting_keys[key], value)
            except ConfigError as exc:
                line = env.line_of[key]
                cli.complain(t("import.bad", lang, path=path, line=line, reason=exc))
                return EXIT_FAILURE
    runtime = cli.runtime()  # fails clearly without a keyring, before anything is written
    items: list[str] = []
    if "ACCESS_TOKEN" in values:
        TokenStore(runtime.secrets).save(TokenPair(values["ACCESS_TOKEN"], values["REFRESH_TOKEN"]))
        items.append(t("import.tokens", lang))
    if values.get("CLIENT_SECRET"):
        runtime.secrets.set(CLIENT_SECRET, values["CLIENT_SECRET"])
        items.append(t("import.client_secret", lang))
    if values.get("TELEGRAM_TOKEN"):
        runtime.secrets.set(TELEGRAM_BOT_TOKEN, values["TELEGRAM_TOKEN"])
        items.append(t("import.telegram", lang))
    runtime.close()
    store = SettingsStore(cli.paths.settings_file)
    if updates:
        store.save(replace(store.load(), **updates))
    labels = {
        "enabled_resumes": lambda v: t("import.resume", lang, id=",".join(v)),
        "client_id": lambda v: t("import.client_id", lang),
        "contact_email": lambda v: t("import.email", lang),
        "telegram_chat_id": lambda v: t("import.chat", lang, id=v),
    }
    items.extend(labels[key](value) for key, value in updates.items())
    if env.unknown_keys:
        cli.complain(t("import.unknown", lang, keys=", ".join(env.unknown_keys)))
    if not items:
        cli.complain(t("import.nothing", lang, path=path))
        return EXIT_FAILURE
    cli.say(t("import.done", lang, path=path, items=", ".join(items)))
    _notify_instance(cli, "credentials")
    return EXIT_OK


def cmd_login(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    runtime = cli.runtime()
    try:
        settings = runtime.settings()
        if not settings.client_id:
            cli.complain(t("login.need_client", lang))
            return EXIT_FAILURE
        secret = runtime.secrets.get(CLIENT_SECRET)
        if not secret:
            secret = cli.secret_prompt(t("login.secret_prompt", lang)).strip()
            runtime.secrets.set(CLIENT_SECRET, secret)
        code = obtain_code(
            oauth_base=runtime.endpoints.oauth,
            client_id=settings.client_id,
            port=settings.redirect_port,
            language=lang,
            open_browser=cli.open_browser,
            prompt=cli.prompt,
            say=cli.say,
            timeout=args.timeout,
            paste_only=args.paste,
        )
        runtime.tokens.exchange_code(
            code,
            client_id=settings.client_id,
            client_secret=secret,
            redirect_uri=redirect_uri(settings.redirect_port),
        )
    except LoginError as exc:
        cli.complain(str(exc))
        return EXIT_FAILURE
    finally:
        runtime.close()
    cli.say(t("login.done", lang, backend=runtime.secrets.backend_name))
    _notify_instance(cli, "credentials")
    return EXIT_OK


# ---- parsing and dispatch -----------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hh-raiser",
        description="Keeps your hh.ru resumes at the top of search. / Поднимает резюме на hh.ru.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage, 3 nothing due yet, 4 sign-in needed, "
        "5 already running.",
    )
    parser.add_argument("--version", action="version", version=f"hh-raiser {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="raise resumes until stopped")
    run.add_argument("--headless", action="store_true", help="no tray icon (servers)")
    demo = sub.add_parser("demo", help="run against the built-in hh.ru simulator")
    demo.add_argument("--cooldown", type=int, default=20, help="seconds between raises")
    raise_now = sub.add_parser("raise-now", help="raise what is due now")
    raise_now.add_argument("--resume", metavar="ID")
    raise_now.add_argument("--json", action="store_true")
    status = sub.add_parser("status", help="sign-in state, last and next raises")
    status.add_argument("--json", action="store_true")
    sub.add_parser("resumes", help="list resumes with their ids")
    login = sub.add_parser("login", help="sign in to hh.ru (OAuth)")
    login.add_argument("--paste", action="store_true", help="paste the code instead of a listener")
    login.add_argument("--timeout", type=float, default=300.0)
    imp = sub.add_parser("import-env", help="import the old script's .env file")
    imp.add_argument("path")
    config = sub.add_parser("config", help="read or change settings")
    config_sub = config.add_subparsers(dest="action", required=True)
    config_sub.add_parser("list")
    get = config_sub.add_parser("get")
    get.add_argument("key", choices=list(FIELDS))
    set_ = config_sub.add_parser("set")
    set_.add_argument("key", choices=list(FIELDS))
    set_.add_argument("value")
    return parser


COMMANDS: dict[str, Callable[[Cli, argparse.Namespace], int]] = {
    "run": cmd_run,
    "demo": cmd_demo,
    "raise-now": cmd_raise_now,
    "status": cmd_status,
    "resumes": cmd_resumes,
    "login": cmd_login,
    "import-env": cmd_import_env,
    "config": cmd_config,
}


def _language(paths: AppPaths) -> str:
    try:
        return SettingsStore(paths.settings_file).load().language
    except ConfigError:
        return "ru"


def main(argv: Sequence[str] | None = None, cli: Cli | None = None) -> int:
    cli = cli or Cli()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    cli.language = _language(cli.paths)
    setup_logging(cli.paths.log_file, verbose=args.verbose)
    command = COMMANDS.get(args.command or "", cmd_start)
    try:
        return command(cli, args)
    except AlreadyRunningError:
        cli.complain(t("err.already_running", cli.language, path=cli.paths.lock_file))
        return EXIT_ALREADY_RUNNING
    except SignInNeeded as exc:
        cli.complain(error_text(exc, cli.language))
        return EXIT_SIGN_IN
    except HHRaiserError as exc:
        cli.complain(error_text(exc, cli.language))
        return EXIT_FAILURE
    except RuntimeError as exc:  # the running instance reported a failure
        cli.complain(t("err.instance", cli.language, detail=exc))
        return EXIT_FAILURE
