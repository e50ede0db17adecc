"""The ``hh-raiser`` command line: parsing and dispatch."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from tray_app import __version__
from tray_app.adapters.bundle import prepare_process
from tray_app.adapters.cli import doctor, secrets, telegram
from tray_app.adapters.cli.account import cmd_config, cmd_import_env, cmd_login
from tray_app.adapters.cli.base import (
    EXIT_ALREADY_RUNNING,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_SIGN_IN,
    Cli,
)
from tray_app.adapters.cli.instance import cmd_raise_now, cmd_resumes, cmd_status
from tray_app.adapters.cli.selfcheck import cmd_self_check
from tray_app.adapters.cli.serve import cmd_demo, cmd_run, cmd_start
from tray_app.adapters.logs import setup_logging
from tray_app.core.errors import AlreadyRunningError, ConfigError, HHRaiserError, SignInNeeded
from tray_app.core.models import Language
from tray_app.i18n import t
from tray_app.i18n.text import error_text
from tray_app.storage.paths import AppPaths
from tray_app.storage.settings import FIELDS, SettingsStore

log = logging.getLogger(__name__)
TAB_NAMES = ("hh", "telegram", "raising", "general", "about")


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
    demo.add_argument("--headless", action="store_true", help="in the console, no tray icon")
    demo.add_argument("--cooldown", type=int, default=20, help="seconds between raises")
    demo.add_argument(
        "--web", action="store_true", help="raise through the simulated website session"
    )
    raise_now = sub.add_parser("raise-now", help="raise what is due now")
    raise_now.add_argument("--resume", metavar="ID")
    raise_now.add_argument("--json", action="store_true")
    status = sub.add_parser("status", help="sign-in state, last and next raises")
    status.add_argument("--json", action="store_true")
    sub.add_parser("resumes", help="list resumes with their ids")
    login = sub.add_parser(
        "login", help="sign in to hh.ru: OAuth, or --web with the browser's session"
    )
    login.add_argument("--paste", action="store_true", help="paste the code instead of a listener")
    login.add_argument("--timeout", type=float, default=300.0)
    login.add_argument(
        "--web", action="store_true", help="raise through the website with your browser's session"
    )
    source = login.add_mutually_exclusive_group()
    source.add_argument(
        "--cookies", metavar="FILE", help="Cookie header or cookies.txt; '-' reads stdin"
    )
    source.add_argument(
        "--window",
        action="store_true",
        help="sign in on hh.ru's own page in HH Raiser's window (no cookies to copy)",
    )
    source.add_argument(
        "--firefox",
        nargs="?",
        const="",
        metavar="PROFILE",
        help="take the session from Firefox (the profile in use, or this profile folder)",
    )
    login.add_argument("--host", help="the hh.ru site: hh.ru, spb.hh.ru, hh.kz, rabota.by…")
    imp = sub.add_parser("import-env", help="import the old script's .env file")
    imp.add_argument("path", help="the .env file; - reads it from standard input")
    config = sub.add_parser("config", help="read or change settings")
    config_sub = config.add_subparsers(dest="action", required=True)
    config_sub.add_parser("list")
    get = config_sub.add_parser("get")
    get.add_argument("key", choices=list(FIELDS))
    set_ = config_sub.add_parser("set")
    set_.add_argument("key", choices=list(FIELDS))
    set_.add_argument("value")
    telegram.add_parser(sub)
    doctor.add_parser(sub)
    secrets.add_parser(sub)
    check = sub.add_parser(
        "self-check", help="what this installation uses: secret store, tray, menus, paths"
    )
    check.add_argument("--json", action="store_true")
    check.add_argument("--headless", action="store_true", help="a server: no tray is needed")
    settings = sub.add_parser("settings", help="the settings window")
    settings.add_argument("--tab", choices=TAB_NAMES, default="hh", help="the tab to show")
    return parser


def cmd_settings(cli: Cli, args: argparse.Namespace) -> int:
    """The settings window, a process of its own (the tray starts it)."""
    import tkinter

    from tray_app.adapters.settings_window.window import SettingsWindow

    runtime = cli.runtime()
    try:
        try:
            root = tkinter.Tk(className="hh-raiser-settings")
        except tkinter.TclError as exc:
            cli.complain(t("settings.no_display", cli.language, detail=exc))
            return EXIT_FAILURE
        SettingsWindow(
            runtime, root, tab=args.tab, environ=cli.environ, open_browser=cli.open_browser
        ).run()
    finally:
        runtime.close()
    return EXIT_OK


COMMANDS: dict[str, Callable[[Cli, argparse.Namespace], int]] = {
    "run": cmd_run,
    "demo": cmd_demo,
    "raise-now": cmd_raise_now,
    "status": cmd_status,
    "resumes": cmd_resumes,
    "login": cmd_login,
    "import-env": cmd_import_env,
    "config": cmd_config,
    "telegram": telegram.cmd_telegram,
    "settings": cmd_settings,
    "self-check": cmd_self_check,
    "doctor": doctor.cmd_doctor,
    "secrets": secrets.cmd_secrets,
}


def _language(paths: AppPaths) -> str:
    try:
        return SettingsStore(paths.settings_file).load().language
    except ConfigError:
        return Language.RU


def _make_private(paths: AppPaths) -> None:
    """Every process, at start: what older versions left open to other users of the
    machine is closed (said in the log once, as nothing is left to close after)."""
    tightened = paths.make_private()
    if tightened:
        shown = ", ".join(map(str, tightened[:10]))
        more = f" and {len(tightened) - 10} more" if len(tightened) > 10 else ""
        log.info("made private (others could read them): %s%s", shown, more)


def main(argv: Sequence[str] | None = None, cli: Cli | None = None) -> int:
    if cli is not None:  # tests pass their own Cli
        return _run(cli, argv)
    prepare_process()  # the real process only
    cli = Cli()
    code = _run(cli, argv)
    if cli.exit_at_once:
        # everything is said, stored and logged by now; what is left is the toolkit's
        # teardown, which was seen to hang after the window had closed
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    return code


def _run(cli: Cli, argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    cli.language = _language(cli.paths)
    setup_logging(cli.paths.log_file, verbose=args.verbose)
    _make_private(cli.paths)
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
