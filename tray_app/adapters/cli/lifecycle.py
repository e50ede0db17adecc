"""``quit`` and ``reset``: what an uninstaller runs (the Windows one runs ``quit``, then
``reset --yes`` if the user agreed), and what a pipx or AppImage user runs by hand.
Both work with no console (the windowed Windows build) and end within seconds."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from tray_app.adapters.autostart import for_this_system as autostart_for_this_system
from tray_app.adapters.cli.base import (
    EXIT_ALREADY_RUNNING,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Cli,
    not_hh_raiser_text,
)
from tray_app.adapters.cli.parser import seconds
from tray_app.adapters.control import ControlClient, InstanceUnavailable, NotHHRaiser
from tray_app.adapters.logs import close_log_file
from tray_app.core.errors import AlreadyRunningError, ConfigError, NoKeyringError, SecretStoreError
from tray_app.core.models import StoreKind
from tray_app.i18n import t
from tray_app.i18n.text import error_text
from tray_app.storage.lock import InstanceLock
from tray_app.storage.paths import AppPaths
from tray_app.storage.secret_choice import KEY_FILE_ENV, chosen_store, open_store
from tray_app.storage.settings import Settings, SettingsStore
from tray_app.storage.wipe import FoldersRemoved, remove_folders, remove_secrets
from tray_app.wiring import set_up_before

QUIT_TIMEOUT = 30.0
"""Seconds ``quit`` waits by default: a raise in flight settles (hh.ru answers within
its timeout) and the outbox is written well within it."""
POLL_SECONDS = 0.2
YES = frozenset(("y", "yes", "д", "да"))


def add_parser(sub: Any, language: str) -> None:
    def say(key: str) -> str:
        return t(f"cli.{key}", language)

    quit_ = sub.add_parser("quit", help=say("quit"), description=say("quit"))
    quit_.add_argument(
        "--timeout",
        type=seconds(language),
        default=QUIT_TIMEOUT,
        metavar=say("seconds"),
        help=say("quit.timeout"),
    )
    reset = sub.add_parser("reset", help=say("reset"), description=say("reset"))
    reset.add_argument("--yes", action="store_true", help=say("reset.yes"))


def _instance_gone(paths: AppPaths) -> bool:
    """Whether no process holds the instance lock (taken and let go at once)."""
    try:
        InstanceLock(paths.lock_file).acquire().release()
    except AlreadyRunningError:
        return False
    return True


def cmd_quit(cli: Cli, args: argparse.Namespace) -> int:
    """Asks the running instance to stop through the control channel, then waits
    until it has gone: the instance lock is free. One that is still starting (no
    channel yet) is asked again until the time is up."""
    lang, paths = cli.language, cli.paths
    if _instance_gone(paths):
        cli.say(t("quit.not_running", lang))
        return EXIT_OK
    client = ControlClient(paths.control_file)
    deadline = time.monotonic() + args.timeout
    asked = refused = False
    while True:
        if not asked and not refused:
            try:
                client.quit()
                asked = True
                cli.say(t("quit.asked", lang))
            except NotHHRaiser as exc:
                cli.complain(not_hh_raiser_text(cli, exc.port))
                refused = True
            except InstanceUnavailable:
                pass  # starting (no channel yet), or a one-shot command holds the lock
            except RuntimeError as exc:  # an older version, or it did not answer
                cli.complain(t("err.instance", lang, detail=exc))
                refused = True
        if _instance_gone(paths):
            cli.say(t("quit.stopped" if asked else "quit.not_running", lang))
            return EXIT_OK
        if time.monotonic() >= deadline:
            cli.complain(t("quit.timeout", lang, seconds=f"{args.timeout:g}", path=paths.lock_file))
            return EXIT_ALREADY_RUNNING
        cli.stop.wait(POLL_SECONDS)


def _confirmed(cli: Cli) -> int | None:
    """None when the user said yes; else the exit code (no terminal to ask at: a
    usage error, as ``--yes`` is missing)."""
    lang = cli.language
    if cli.stdin is None or not cli.stdin.isatty():
        cli.complain(t("reset.needs_yes", lang))
        return EXIT_USAGE
    folders = "\n".join(f"  {folder}" for folder in cli.paths.private_dirs)
    answer = cli.prompt(t("reset.confirm", lang, folders=folders))
    if answer.strip().lower() in YES:
        return None
    cli.say(t("reset.cancelled", lang))
    return EXIT_FAILURE


def _settings(cli: Cli) -> Settings:
    """The settings, or the defaults when the file is unreadable (it is removed anyway;
    the store chosen by the environment still counts)."""
    try:
        return SettingsStore(cli.paths.settings_file).load()
    except ConfigError as exc:
        cli.complain(error_text(exc, cli.language))
        return Settings()


def _reset_secrets(cli: Cli, settings: Settings) -> bool:
    """Removes the secrets of the store in use, saying what went; False if any stays."""
    lang, paths = cli.language, cli.paths
    kind, chosen_by = chosen_store(cli.environ, settings)
    try:
        store, info = open_store(kind, paths, cli.environ, cli.keyring_backend, chosen_by=chosen_by)
    except NoKeyringError as exc:
        if kind == StoreKind.KEYRING and set_up_before(paths):
            cli.complain(t("reset.secrets_unreachable", lang, detail=error_text(exc, lang)))
            return False
        cli.say(t("reset.no_secrets", lang))  # nothing set up, or a file store: no keyring used
        return True
    except SecretStoreError as exc:  # a secrets file without its key, or damaged: it goes
        cli.complain(error_text(exc, lang))  # with the folder, secrets and all
        return True
    removed = remove_secrets(store, [settings.web_host])
    entries = [*removed.names, *(t("reset.session", lang, host=h) for h in removed.hosts)]
    if entries:
        cli.say(t("reset.secrets_removed", lang, where=info.where, what=", ".join(entries)))
    elif removed.failed is None:
        cli.say(t("reset.no_secrets", lang))
    if removed.failed is not None:
        detail = error_text(removed.failed, lang)
        cli.complain(t("reset.secrets_unreachable", lang, detail=detail))
        return False
    return True


def _reset_autostart(cli: Cli) -> None:
    autostart = autostart_for_this_system(cli.environ)
    if autostart is None:
        return
    try:
        was_on = autostart.is_enabled()
        autostart.disable()
    except OSError as exc:
        cli.complain(t("reset.autostart_failed", cli.language, detail=exc))
        return
    if was_on:
        cli.say(t("reset.autostart_removed", cli.language))


def _kept_key_files(cli: Cli) -> list[Path]:
    """A key file the user named is theirs (it may open a backup of the secrets),
    even when they keep it in our config folder."""
    named = cli.environ.get(KEY_FILE_ENV, "").strip()
    return [Path(named).expanduser()] if named else []


def cmd_reset(cli: Cli, args: argparse.Namespace) -> int:
    """Secrets, start at login, then the folders, under the instance lock, so nothing
    starts meanwhile. The lock file is the last to go, once the lock is let go:
    Windows cannot delete a file held open."""
    lang, paths = cli.language, cli.paths
    try:
        lock = InstanceLock(paths.lock_file).acquire()
    except AlreadyRunningError:
        cli.complain(t("reset.running", lang, path=paths.lock_file))
        return EXIT_ALREADY_RUNNING
    keep = _kept_key_files(cli)
    try:
        if not args.yes and (refused := _confirmed(cli)) is not None:
            return refused
        secrets_gone = _reset_secrets(cli, _settings(cli))
        _reset_autostart(cli)
        if not secrets_gone:
            cli.complain(t("reset.folders_kept", lang))
            return EXIT_FAILURE
        close_log_file()
        first = remove_folders(paths, keep=[*keep, paths.lock_file])
    finally:
        lock.release()
    last = remove_folders(paths, keep=keep)
    return _report_folders(cli, paths, first, last, keep)


def _report_folders(
    cli: Cli, paths: AppPaths, first: FoldersRemoved, last: FoldersRemoved, keep: list[Path]
) -> int:
    lang = cli.language
    failed = {folder: why for folder, why in (*first.failed, *last.failed) if folder.exists()}
    for folder in paths.private_dirs:
        if not folder.exists() and folder not in failed:
            cli.say(t("reset.folder_removed", lang, path=folder))
    for path in keep:
        if path.exists() and any(path.is_relative_to(f) for f in paths.private_dirs):
            cli.say(t("reset.key_kept", lang, path=path))
    for folder, why in failed.items():
        cli.complain(t("reset.folder_failed", lang, path=folder, detail=why))
    if failed:
        return EXIT_FAILURE
    cli.say(t("reset.done", lang))
    return EXIT_OK
