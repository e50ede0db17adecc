"""``secrets status``, ``secrets new-key PATH``, ``secrets migrate --to STORE``: where
the secrets are kept (:mod:`tray_app.storage.secret_choice`) and moving them."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli
from tray_app.core.errors import AlreadyRunningError, ConfigError, SecretStoreError
from tray_app.core.models import StoreKind
from tray_app.i18n import t
from tray_app.i18n.text import error_text, store_text
from tray_app.storage.file_secrets import new_key_text, write_new_key
from tray_app.storage.lock import InstanceLock
from tray_app.storage.secret_choice import STORE_ENV, ChosenBy, chosen_store, open_store
from tray_app.storage.secret_migration import delete_moved, move_secrets
from tray_app.storage.settings import SettingsStore


def cmd_status(cli: Cli, args: argparse.Namespace) -> int:
    """The store in use, and a read that proves it answers; exit 1 when it cannot be used."""
    try:
        secrets, info = cli.secrets()
        secrets.get("self-check")
    except (SecretStoreError, ConfigError) as exc:
        if args.json:
            cli.say(json.dumps({"usable": False, "problem": str(exc)}, ensure_ascii=False))
        cli.complain(error_text(exc, cli.language))
        return EXIT_FAILURE
    if args.json:
        cli.say(json.dumps({**info.as_json(), "usable": True}, ensure_ascii=False))
    else:
        cli.say(t("secrets.status", cli.language, text=store_text(info, cli.language)))
    return EXIT_OK


def cmd_new_key(cli: Cli, args: argparse.Namespace) -> int:
    """``new-key PATH`` writes a key file 0600; ``new-key -`` prints the key alone on
    stdout (``docker compose run … secrets new-key - > secrets.key``)."""
    if args.path == "-":
        cli.say(new_key_text())
        cli.complain(t("secrets.new_key.stdout", cli.language))
        return EXIT_OK
    path = Path(args.path).expanduser()
    try:
        write_new_key(path)
    except FileExistsError:
        cli.complain(t("secrets.new_key.exists", cli.language, path=path))
        return EXIT_FAILURE
    except OSError as exc:
        cli.complain(t("secrets.new_key.failed", cli.language, path=path, detail=exc))
        return EXIT_FAILURE
    cli.say(t("secrets.new_key.done", cli.language, path=path.absolute()))
    return EXIT_OK


def cmd_migrate(cli: Cli, args: argparse.Namespace) -> int:
    """Copies every secret, reads it back, then switches the ``secret_store`` setting.
    Holds the instance lock: a running instance could rotate the tokens mid-copy."""
    lang, paths = cli.language, cli.paths
    settings_store = SettingsStore(paths.settings_file)
    settings = settings_store.load()
    current, chosen_by = chosen_store(cli.environ, settings)
    source_kind = StoreKind(args.source) if args.source else current
    target_kind = StoreKind(args.to)
    if source_kind == target_kind:
        cli.complain(t("secrets.migrate.same", lang, kind=target_kind))
        return EXIT_FAILURE
    try:
        lock = InstanceLock(paths.lock_file).acquire()
    except AlreadyRunningError:
        cli.complain(t("secrets.migrate.running", lang, path=paths.lock_file))
        return EXIT_FAILURE
    try:
        source, _ = open_store(source_kind, paths, cli.environ, cli.keyring_backend)
        target, _ = open_store(target_kind, paths, cli.environ, cli.keyring_backend)
        moved = move_secrets(source, target, [settings.web_host], datetime.now(UTC))
        settings_store.update(secret_store=target_kind)
        if args.delete_old:
            delete_moved(source, moved)
    finally:
        lock.release()
    hosts = t("secrets.migrate.hosts", lang, hosts=", ".join(moved.hosts)) if moved.hosts else ""
    names = {"source": source_kind.value, "target": target_kind.value}
    cli.say(t("secrets.migrate.done", lang, count=moved.count, hosts=hosts, **names))
    cli.say(
        t("secrets.migrate.deleted" if args.delete_old else "secrets.migrate.kept", lang, **names)
    )
    if chosen_by == ChosenBy.ENVIRONMENT and current != target_kind:
        cli.complain(
            t("secrets.migrate.env_overrides", lang, value=cli.environ[STORE_ENV], **names)
        )
    return EXIT_OK


def cmd_secrets(cli: Cli, args: argparse.Namespace) -> int:
    if args.action == "new-key":
        return cmd_new_key(cli, args)
    if args.action == "migrate":
        return cmd_migrate(cli, args)
    return cmd_status(cli, args)


def add_parser(sub: Any, language: str) -> None:
    def say(key: str) -> str:
        return t(f"cli.{key}", language)

    secrets = sub.add_parser("secrets", help=say("secrets"), description=say("secrets"))
    actions = secrets.add_subparsers(dest="action", required=True, metavar=say("action"))
    status = actions.add_parser(
        "status", help=say("secrets.status"), description=say("secrets.status")
    )
    status.add_argument("--json", action="store_true", help=say("json"))
    new_key = actions.add_parser(
        "new-key", help=say("secrets.new_key"), description=say("secrets.new_key")
    )
    new_key.add_argument("path", metavar=say("path"), help=say("secrets.new_key.path"))
    migrate = actions.add_parser(
        "migrate", help=say("secrets.migrate"), description=say("secrets.migrate")
    )
    kinds = [kind.value for kind in StoreKind]
    migrate.add_argument(
        "--to", required=True, choices=kinds, metavar=say("store"), help=say("secrets.to")
    )
    migrate.add_argument(
        "--from", dest="source", choices=kinds, metavar=say("store"), help=say("secrets.from")
    )
    migrate.add_argument("--delete-old", action="store_true", help=say("secrets.delete_old"))
