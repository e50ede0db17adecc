"""``telegram setup`` and ``telegram test``: argument parsing, prompts and printing
around the setup steps in :mod:`tray_app.telegram.setup`."""

from __future__ import annotations

import argparse
from typing import Any

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli, notify_instance
from tray_app.adapters.cli.parser import seconds, setting
from tray_app.i18n import t
from tray_app.storage.settings import validate
from tray_app.telegram.api import BotApi
from tray_app.telegram.setup import (
    CodeExposed,
    bot_username,
    deep_link,
    find_chat,
    ignored_text,
    new_code,
    open_bot,
    save_connection,
    send_checked,
)


def cmd_telegram_setup(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    runtime = cli.runtime()  # fails clearly without a keyring, before anything is asked
    try:
        token = cli.secret_prompt(t("tgsetup.token_prompt", lang)).strip()
        if not token:
            cli.complain(t("tgsetup.empty_token", lang))
            return EXIT_FAILURE
        given = validate("telegram_chat_id", args.chat_id) if args.chat_id else ""
        bot = open_bot(runtime.telegram_targets, token)
        try:
            username = bot_username(bot)
            cli.say(t("tgsetup.bot_ok", lang, username=username))
            offset: int | None = None
            if given and not given.startswith("-"):
                # Bot API: a private chat's id is its user's id, and only that user
                # writes there: the person who may command is known
                chat_id = user_id = given
            else:
                if given:
                    cli.say(t("tgsetup.group_needs_code", lang, chat=given))
                code = new_code()
                cli.say(
                    t(
                        "tgsetup.send_code",
                        lang,
                        link=deep_link(username, code),
                        username=username,
                        code=code,
                        timeout=int(args.timeout),
                    )
                )
                found = find_chat(
                    bot, code, args.timeout, cli.stop, lambda m: cli.say(ignored_text(m, lang))
                )
                if found is None:
                    cli.complain(t("tgsetup.no_start", lang, timeout=int(args.timeout)))
                    return EXIT_FAILURE
                if isinstance(found, CodeExposed):
                    cli.complain(t("tgsetup.code_exposed", lang, chat=found.where.chat_id))
                    return EXIT_FAILURE
                chat_id, user_id, offset = given or found.chat_id, found.user_id, found.offset
                cli.say(t("tgsetup.found", lang, chat=found.chat_id, name=found.name))
            send_checked(bot, chat_id, t("tgsetup.test_text", lang))
        finally:
            bot.close()
        save_connection(runtime, token, chat_id, user_id, offset)
        cli.say(t("tgsetup.saved", lang, backend=runtime.secrets.backend_name))
        cli.say(t("tgsetup.test_sent", lang))
    finally:
        runtime.close()
    notify_instance(cli, "credentials")
    return EXIT_OK


def cmd_telegram_test(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    runtime = cli.runtime()
    try:
        target = runtime.telegram_targets.current()
        if target is None:
            cli.complain(t("telegram.reason.not_configured", lang))
            return EXIT_FAILURE
        bot = BotApi(target.bot)
        try:
            send_checked(bot, target.chat_id, t("tgtest.text", lang))
        finally:
            bot.close()
    finally:
        runtime.close()
    cli.say(t("tgsetup.test_sent", lang))
    notify_instance(cli, "credentials")  # a running instance waiting for a fix retries now
    return EXIT_OK


def cmd_telegram(cli: Cli, args: argparse.Namespace) -> int:
    if args.action == "setup":
        return cmd_telegram_setup(cli, args)
    return cmd_telegram_test(cli, args)


def add_parser(sub: Any, language: str) -> None:
    def say(key: str) -> str:
        return t(f"cli.{key}", language)

    telegram = sub.add_parser("telegram", help=say("telegram"), description=say("telegram"))
    actions = telegram.add_subparsers(dest="action", required=True, metavar=say("action"))
    setup = actions.add_parser(
        "setup", help=say("telegram.setup"), description=say("telegram.setup")
    )
    setup.add_argument(
        "--chat-id",
        type=setting("telegram_chat_id", language),
        metavar="ID",
        help=say("telegram.chat_id"),
    )
    setup.add_argument(
        "--timeout",
        type=seconds(language),
        default=120.0,
        metavar=say("seconds"),
        help=say("telegram.timeout"),
    )
    actions.add_parser("test", help=say("telegram.test"), description=say("telegram.test"))
