"""``hh-raiser service install|uninstall|status``: the app as a service of the system's
service manager (:mod:`tray_app.adapters.os_service`), for servers and for desktops
that prefer it to start at login (never both: one instance runs)."""

from __future__ import annotations

import argparse
from typing import Any

from tray_app.adapters.autostart import for_this_system as autostart_for_this_system
from tray_app.adapters.autostart import launch_command
from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli
from tray_app.adapters.logs import LOG_FORMATS
from tray_app.adapters.os_service import OsService, for_this_system
from tray_app.adapters.os_service.systemd import (
    NOT_FOUND,
    Change,
    Ran,
    exec_line,
    run_command,
    unit_spec,
)
from tray_app.core.errors import AlreadyRunningError
from tray_app.i18n import t
from tray_app.storage.lock import InstanceLock


def add_parser(sub: Any, language: str) -> None:
    def say(key: str) -> str:
        return t(f"cli.{key}", language)

    service = sub.add_parser("service", help=say("service"), description=say("service"))
    actions = service.add_subparsers(dest="action", required=True, metavar=say("action"))
    install = actions.add_parser(
        "install", help=say("service.install"), description=say("service.install")
    )
    install.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        metavar=say("format"),
        help=say("service.log_format"),
    )
    install.add_argument(
        "--replace-autostart", action="store_true", help=say("service.replace_autostart")
    )
    actions.add_parser(
        "uninstall", help=say("service.uninstall"), description=say("service.uninstall")
    )
    actions.add_parser("status", help=say("service.status"), description=say("service.status"))


def _service(cli: Cli) -> OsService | None:
    """systemctl and loginctl found through the command's own PATH."""
    return for_this_system(cli.environ, runner=lambda argv: run_command(argv, cli.environ))


def cmd_service(cli: Cli, args: argparse.Namespace) -> int:
    service = _service(cli)
    if service is None:
        cli.complain(t("service.unsupported", cli.language))
        return EXIT_FAILURE
    if args.action == "install":
        return _install(cli, service, args)
    if args.action == "uninstall":
        return _uninstall(cli, service)
    return _status(cli, service)


def _ask(cli: Cli, question: str) -> bool:
    """A yes/no question, only when someone is at the terminal."""
    if cli.stdin is None or not cli.stdin.isatty():
        return False
    return cli.prompt(question).strip().lower() in ("y", "yes", "д", "да")


def _instance_running(cli: Cli) -> bool:
    try:
        InstanceLock(cli.paths.lock_file).acquire().release()
    except AlreadyRunningError:
        return True
    return False


def _detail(ran: Ran) -> str:
    return " ".join((ran.err or ran.out or f"exit code {ran.code}").split())


def _install(cli: Cli, service: OsService, args: argparse.Namespace) -> int:
    lang = cli.language
    autostart = autostart_for_this_system(cli.environ)
    if autostart is not None and autostart.is_enabled():
        where = getattr(autostart, "path", "")
        if not (args.replace_autostart or _ask(cli, t("service.autostart_ask", lang))):
            cli.complain(t("service.autostart_conflict", lang, path=where))
            return EXIT_FAILURE
        autostart.disable()
        cli.say(t("service.autostart_off", lang))
    spec = unit_spec(launch_command(cli.environ), cli.environ, log_format=args.log_format)
    if spec.key_file is not None and not spec.key_file.is_file():
        cli.complain(t("service.no_key_file", lang, path=spec.key_file))
        return EXIT_FAILURE
    runtime = cli.runtime()  # the secrets open here as they will in the service
    try:
        has_account = runtime.has_account()
    finally:
        runtime.close()
    elsewhere = _instance_running(cli)
    change = service.install(spec, start=has_account and not elsewhere)
    cli.say(t("service.written", lang, path=service.path))
    code = _report_install(cli, service, change, has_account=has_account, elsewhere=elsewhere)
    _linger_note(cli, service)
    return code


def _report_install(
    cli: Cli, service: OsService, change: Change, *, has_account: bool, elsewhere: bool
) -> int:
    lang = cli.language
    if change.failed is not None:
        if change.failed.code == NOT_FOUND:
            cli.complain(t("service.no_systemctl", lang))
        elif change.todo and change.todo[0].endswith("daemon-reload"):
            commands = "\n".join(f"  {line}" for line in change.todo)
            detail = _detail(change.failed)
            cli.complain(
                t("service.no_manager", lang, detail=detail, user=service.user, commands=commands)
            )
        else:
            cli.complain(t("service.start_failed", lang, detail=_detail(change.failed)))
        return EXIT_FAILURE
    if change.started:
        cli.say(t("service.started", lang))
    elif not has_account:
        cli.complain(t("service.no_account", lang))
    elif elsewhere:
        cli.complain(t("service.other_instance", lang))
    return EXIT_OK


def _linger_note(cli: Cli, service: OsService) -> None:
    """Without linger a user's services live only while the user is logged in."""
    state = service.state()
    if state.linger is True:
        return
    key = "service.linger" if state.linger is False else "service.linger_unknown"
    cli.say(t(key, cli.language, user=service.user))


def _uninstall(cli: Cli, service: OsService) -> int:
    lang = cli.language
    if not service.path.exists():
        cli.say(t("service.not_installed", lang, path=service.path))
        return EXIT_OK
    change = service.uninstall()
    cli.say(t("service.removed", lang, path=service.path))
    if change.failed is not None:
        commands = "\n".join(f"  {line}" for line in change.todo)
        cli.complain(
            t("service.left_to_do", lang, detail=_detail(change.failed), commands=commands)
        )
        return EXIT_FAILURE
    return EXIT_OK


def _yes_no(value: bool | None, lang: str) -> str:
    return t("service.unknown" if value is None else f"service.{'yes' if value else 'no'}", lang)


def _status(cli: Cli, service: OsService) -> int:
    """Exit 0 only when the service is running."""
    lang = cli.language
    state = service.state()
    if not state.installed:
        cli.say(t("service.not_installed", lang, path=state.path))
        return EXIT_FAILURE
    cli.say(t("service.status_unit", lang, path=state.path))
    cli.say(t("service.status_runs", lang, command=state.exec_start))
    cli.say(t("service.status_enabled", lang, state=state.enabled))
    cli.say(t("service.status_active", lang, state=state.active))
    cli.say(t("service.status_linger", lang, state=_yes_no(state.linger, lang)))
    cli.say(t("service.status_log", lang))
    this_app = exec_line(unit_spec(launch_command(cli.environ), cli.environ).command)
    if state.exec_start and not state.exec_start.startswith(this_app):
        cli.complain(t("service.stale", lang, command=state.exec_start))
    return EXIT_OK if state.running else EXIT_FAILURE
