"""The ``hh-raiser`` command line: parsing and dispatch."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence

from tray_app import __version__
from tray_app.adapters.bundle import prepare_process
from tray_app.adapters.cli import doctor, lifecycle, os_service, secrets, telegram
from tray_app.adapters.cli.account import cmd_config, cmd_import_env, cmd_login
from tray_app.adapters.cli.base import (
    EXIT_ALREADY_RUNNING,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_SIGN_IN,
    Cli,
)
from tray_app.adapters.cli.instance import cmd_raise_now, cmd_resumes, cmd_status
from tray_app.adapters.cli.parser import argparse_speaks, parser_class, seconds, setting
from tray_app.adapters.cli.selfcheck import cmd_self_check
from tray_app.adapters.cli.serve import cmd_demo, cmd_run, cmd_start
from tray_app.adapters.command import command_name
from tray_app.adapters.logs import LOG_FORMATS, setup_logging
from tray_app.core.errors import AlreadyRunningError, ConfigError, HHRaiserError, SignInNeeded
from tray_app.core.models import Language
from tray_app.i18n import t, use_command
from tray_app.i18n.text import error_text
from tray_app.storage.paths import AppPaths
from tray_app.storage.settings import FIELDS, SettingsStore

log = logging.getLogger(__name__)
TAB_NAMES = ("hh", "telegram", "raising", "general", "about")


def build_parser(language: str = "ru", cli: Cli | None = None) -> argparse.ArgumentParser:
    """Every command and option, described in ``language``; help and usage errors go
    to ``cli``'s streams (the process's without one). Build it, and parse with it,
    inside :func:`argparse_speaks` for argparse's own words to be in that language."""

    def say(key: str, **values: object) -> str:
        return t(f"cli.{key}", language, **values)

    streams = (cli.out, cli.err) if cli is not None else (sys.stdout, sys.stderr)
    parser = parser_class(*streams)(
        prog="hh-raiser", description=say("description"), epilog=say("epilog")
    )
    parser.add_argument(
        "--version", action="version", version=f"hh-raiser {__version__}", help=say("version")
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=say("verbose"))
    sub = parser.add_subparsers(dest="command", metavar=say("command"))
    run = sub.add_parser("run", help=say("run"), description=say("run"))
    run.add_argument("--headless", action="store_true", help=say("run.headless"))
    demo = sub.add_parser("demo", help=say("demo"), description=say("demo"))
    demo.add_argument("--headless", action="store_true", help=say("demo.headless"))
    for serving in (run, demo):
        serving.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            default="text",
            metavar=say("format"),
            help=say("log_format"),
        )
    demo.add_argument(
        "--cooldown",
        type=seconds(language, whole=True),
        default=20,
        metavar=say("seconds"),
        help=say("demo.cooldown"),
    )
    demo.add_argument("--web", action="store_true", help=say("demo.web"))
    raise_now = sub.add_parser("raise-now", help=say("raise_now"), description=say("raise_now"))
    raise_now.add_argument("--resume", metavar="ID", help=say("raise_now.resume"))
    raise_now.add_argument("--json", action="store_true", help=say("json"))
    status = sub.add_parser("status", help=say("status"), description=say("status"))
    status.add_argument("--json", action="store_true", help=say("json"))
    sub.add_parser("resumes", help=say("resumes"), description=say("resumes"))
    login = sub.add_parser("login", help=say("login"), description=say("login"))
    login.add_argument("--paste", action="store_true", help=say("login.paste"))
    login.add_argument(
        "--timeout",
        type=seconds(language),
        default=300.0,
        metavar=say("seconds"),
        help=say("login.timeout"),
    )
    login.add_argument("--web", action="store_true", help=say("login.web"))
    source = login.add_mutually_exclusive_group()
    source.add_argument("--cookies", metavar=say("file"), help=say("login.cookies"))
    source.add_argument("--window", action="store_true", help=say("login.window"))
    source.add_argument(
        "--firefox", nargs="?", const="", metavar=say("profile"), help=say("login.firefox")
    )
    login.add_argument(
        "--host", type=setting("web_host", language), metavar=say("site"), help=say("login.host")
    )
    imp = sub.add_parser("import-env", help=say("import_env"), description=say("import_env"))
    imp.add_argument("path", metavar=say("path"), help=say("import_env.path"))
    config = sub.add_parser("config", help=say("config"), description=say("config"))
    config_sub = config.add_subparsers(dest="action", required=True, metavar=say("action"))
    config_sub.add_parser("list", help=say("config.list"), description=say("config.list"))
    keys = ", ".join(FIELDS)
    get = config_sub.add_parser("get", help=say("config.get"), description=say("config.get"))
    get.add_argument("key", choices=list(FIELDS), metavar=say("key"), help=say("keys", keys=keys))
    set_ = config_sub.add_parser("set", help=say("config.set"), description=say("config.set"))
    set_.add_argument("key", choices=list(FIELDS), metavar=say("key"), help=say("keys", keys=keys))
    set_.add_argument("value", metavar=say("value"), help=say("config.value"))
    telegram.add_parser(sub, language)
    doctor.add_parser(sub, language)
    secrets.add_parser(sub, language)
    os_service.add_parser(sub, language)
    lifecycle.add_parser(sub, language)
    check = sub.add_parser("self-check", help=say("self_check"), description=say("self_check"))
    check.add_argument("--json", action="store_true", help=say("json"))
    check.add_argument("--headless", action="store_true", help=say("self_check.headless"))
    settings = sub.add_parser("settings", help=say("settings"), description=say("settings"))
    settings.add_argument(
        "--tab", choices=TAB_NAMES, default="hh", metavar=say("tab"), help=say("settings.tab")
    )
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
    "service": os_service.cmd_service,
    "quit": lifecycle.cmd_quit,
    "reset": lifecycle.cmd_reset,
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
    try:
        code = _run(cli, argv)
    except BrokenPipeError:  # `hh-raiser status | head`: the reader has gone; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs do
        return EXIT_FAILURE
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
    cli.language = _language(cli.paths)  # before the parser: it speaks the same language
    use_command(functools.cache(lambda: command_name(cli.environ)))  # for the hints
    try:
        with argparse_speaks(cli.language):
            args = build_parser(cli.language, cli).parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (2) already told
        return int(exc.code or 0)
    log_format = getattr(args, "log_format", "text")
    cli.log_json = log_format == "json"
    setup_logging(cli.paths.log_file, verbose=args.verbose, log_format=log_format)
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
    except EOFError:  # a prompt got no answer: Ctrl+D, or no terminal (</dev/null, cron)
        cli.complain(t("err.no_input", cli.language))
        return EXIT_FAILURE
    except KeyboardInterrupt:  # Ctrl+C at a prompt (run and demo quit on it by themselves)
        cli.complain(t("err.interrupted", cli.language))
        return EXIT_FAILURE
