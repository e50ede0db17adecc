"""``telegram setup`` and ``telegram test``: connect a bot and a chat, check them.

Setup validates the token with ``getMe``, finds the chat from the ``/start`` the
user sends (``getUpdates``), and saves nothing until a test message reached that
chat, so a half-working setup never replaces a working one.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli, notify_instance
from tray_app.core.errors import TelegramConflict, TelegramRejected
from tray_app.i18n import t
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import validate
from tray_app.telegram.api import BotApi, BotConfig
from tray_app.telegram.commands import OffsetFile
from tray_app.telegram.html import escape

POLL_STEP = 10.0  # seconds per getUpdates while waiting for /start


def send_checked(bot: BotApi, chat_id: str, text: str) -> None:
    """Sends; a 400 is reported as "chat not found" only if the chat is the problem."""
    try:
        bot.send_message(chat_id, escape(text))
    except TelegramRejected as exc:
        raise bot.explain_rejection(chat_id, exc) from None


def find_chat(bot: BotApi, timeout: float) -> tuple[str, str, int] | None:
    """Waits for a message to the bot; returns (chat id, name, next offset) of the
    latest one, preferring ``/start``."""
    deadline = time.monotonic() + timeout
    offset: int | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            updates = bot.get_updates(offset, min(POLL_STEP, remaining))
        except TelegramConflict:  # a running HH Raiser polls this bot: try again shortly
            time.sleep(1.0)
            continue
        found: tuple[str, str, bool] | None = None
        for update in updates:
            offset = update["update_id"] + 1
            message: dict[str, Any] = update.get("message") or {}
            chat = message.get("chat") or {}
            if "id" not in chat:
                continue
            name = chat.get("username") or chat.get("first_name") or chat.get("title") or "?"
            is_start = str(message.get("text") or "").startswith("/start")
            if found is None or is_start or not found[2]:
                found = (str(chat["id"]), str(name), is_start)
        if found is not None and offset is not None:
            bot.get_updates(offset, 0)  # confirm, so the command poller does not replay it
            return found[0], found[1], offset
    return None


def cmd_telegram_setup(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    runtime = cli.runtime()  # fails clearly without a keyring, before anything is asked
    try:
        token = cli.secret_prompt(t("tgsetup.token_prompt", lang)).strip()
        if not token:
            cli.complain(t("tgsetup.empty_token", lang))
            return EXIT_FAILURE
        targets = runtime.telegram_targets
        bot = BotApi(BotConfig(token, targets.api_url(), targets.proxy()))
        try:
            username = str(bot.get_me().get("username") or "?")
            cli.say(t("tgsetup.bot_ok", lang, username=username))
            offset: int | None = None
            if args.chat_id:
                chat_id = validate("telegram_chat_id", args.chat_id)
            else:
                cli.say(t("tgsetup.send_start", lang, username=username, timeout=int(args.timeout)))
                found = find_chat(bot, args.timeout)
                if found is None:
                    cli.complain(t("tgsetup.no_start", lang, timeout=int(args.timeout)))
                    return EXIT_FAILURE
                chat_id, name, offset = found
                cli.say(t("tgsetup.found", lang, chat=chat_id, name=name))
            send_checked(bot, chat_id, t("tgsetup.test_text", lang))
        finally:
            bot.close()
        runtime.secrets.set(TELEGRAM_BOT_TOKEN, token)
        runtime.settings.update(telegram_chat_id=chat_id)
        if offset is not None:
            OffsetFile(runtime.paths.telegram_offset_file).save(offset)
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


def add_parser(sub: Any) -> None:
    telegram = sub.add_parser("telegram", help="Telegram notifications and commands")
    actions = telegram.add_subparsers(dest="action", required=True)
    setup = actions.add_parser("setup", help="connect a bot (token from @BotFather) and a chat")
    setup.add_argument("--chat-id", help="skip waiting for /start: use this chat id")
    setup.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for /start")
    actions.add_parser("test", help="send a test message")
