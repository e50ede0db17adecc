"""Connecting a bot and a chat: the steps ``telegram setup`` / ``telegram test`` and the
settings window share, without any printing or prompting.

The token is checked with ``getMe``, the chat is found from the message the user sends
the bot (``getUpdates``), and nothing is saved until a test message reached that chat,
so a half-working setup never replaces a working one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tray_app.core.errors import TelegramConflict, TelegramRejected
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.telegram.api import BotApi, BotConfig
from tray_app.telegram.commands import OffsetFile
from tray_app.telegram.delivery import TelegramTargets
from tray_app.telegram.html import escape

if TYPE_CHECKING:  # wiring builds the telegram package; only its type is needed here
    from tray_app.wiring import Runtime

POLL_STEP = 10.0  # seconds per getUpdates while waiting for /start
CONFLICT_PAUSE = 1.0  # a running HH Raiser polls the same bot: ask again after this


@dataclass(frozen=True)
class FoundChat:
    """The chat that wrote to the bot, and the ``getUpdates`` offset after its message
    (saved with the setup, so the command poller does not answer that message again)."""

    chat_id: str
    name: str
    offset: int


def open_bot(targets: TelegramTargets, token: str) -> BotApi:
    """A client for ``token`` (typed in, not yet stored) through the configured
    Bot API address and proxy."""
    return BotApi(BotConfig(token, targets.api_url(), targets.proxy()))


def bot_username(bot: BotApi) -> str:
    """``getMe``: proves the token works (BotTokenInvalid otherwise)."""
    return str(bot.get_me().get("username") or "?")


def send_checked(bot: BotApi, chat_id: str, text: str) -> None:
    """Sends; a 400 is reported as "chat not found" only if the chat is the problem."""
    try:
        bot.send_message(chat_id, escape(text))
    except TelegramRejected as exc:
        raise bot.explain_rejection(chat_id, exc) from None


def find_chat(bot: BotApi, timeout: float, stop: threading.Event | None = None) -> FoundChat | None:
    """Waits for a message to the bot; the latest chat, preferring one that sent
    ``/start``. None when ``timeout`` passes (or ``stop`` is set) first."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    offset: int | None = None
    while (remaining := deadline - time.monotonic()) > 0 and not stop.is_set():
        try:
            updates = bot.get_updates(offset, min(POLL_STEP, remaining))
        except TelegramConflict:
            stop.wait(CONFLICT_PAUSE)
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
            return FoundChat(found[0], found[1], offset)
    return None


def save_connection(runtime: Runtime, token: str, chat_id: str, offset: int | None) -> None:
    """Stores a checked setup: the token in the keyring, the chat in the settings, and
    the offset past the ``/start`` that found the chat."""
    runtime.secrets.set(TELEGRAM_BOT_TOKEN, token)
    runtime.settings.update(telegram_chat_id=chat_id)
    if offset is not None:
        OffsetFile(runtime.paths.telegram_offset_file).save(offset)
