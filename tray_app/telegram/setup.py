"""Connecting a bot and a chat: the steps ``telegram setup`` / ``telegram test`` and the
settings window share, without any printing or prompting.

The token is checked with ``getMe``. Anyone can write to a bot, so the chat is not
simply the latest one that did: setup shows a one-time code (and the deep link
``https://t.me/<bot>?start=<code>``, which makes the Telegram app send ``/start
<code>``), and only that code, sent from a private chat after setup began (by
Telegram's clock), proves the chat is the user's. Every other message seen meanwhile
is ignored, reported and confirmed, so the command poller never acts on it either.
The chat and the user who sent the code are saved only after a test message reached
the chat, so a half-working setup never replaces a working one.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tray_app.core.errors import TelegramConflict, TelegramError, TelegramRejected
from tray_app.i18n import t
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.telegram.api import BotApi, BotConfig
from tray_app.telegram.commands import OffsetFile
from tray_app.telegram.delivery import TelegramTargets
from tray_app.telegram.html import escape

if TYPE_CHECKING:  # wiring builds the telegram package; only its type is needed here
    from tray_app.wiring import Runtime

POLL_STEP = 10.0  # seconds per getUpdates while waiting for the code
CONFLICT_PAUSE = 1.0  # a running HH Raiser polls the same bot: ask again after this
# No 0/O, 1/I/L: read off a screen and typed on a phone without doubt. 8 of these 31
# symbols are almost 40 bits, and a code lives for one setup: far beyond guessing.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
NAME_LIMIT = 32  # characters of a stranger's name shown in a report
# a message's ``date`` and an answer's ``Date`` may come from different Telegram
# machines: a message this much older than the start of setup still counts as new
# (the code proves the sender; the time only sorts out what was waiting before)
CLOCK_GRACE = timedelta(seconds=30)


class Refusal(StrEnum):
    """Why a message seen during setup did not confirm it."""

    OLD = "old"  # sent before setup began
    NOT_PRIVATE = "not_private"  # a group's message: its members are not the user
    NO_CODE = "no_code"  # a private message without this setup's code


@dataclass(frozen=True)
class IgnoredMessage:
    """A message setup saw and ignored: who sent it, from which chat, and why."""

    chat_id: str
    name: str
    refusal: Refusal


@dataclass(frozen=True)
class FoundChat:
    """The private chat that sent the code, its user, and the ``getUpdates`` offset
    after that message (saved with the setup, so the command poller does not answer
    it again)."""

    chat_id: str
    user_id: str
    name: str
    offset: int


@dataclass(frozen=True)
class CodeExposed:
    """The code was sent in a group, where others read it: it proves nothing any
    more, and setup stops (the user starts it again for a new code)."""

    where: IgnoredMessage


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def ignored_text(message: IgnoredMessage, language: str) -> str:
    """The line the CLI prints and the settings window shows for an ignored message."""
    why = t(f"tgsetup.why.{message.refusal.value}", language)
    return t("tgsetup.ignored", language, name=message.name, chat=message.chat_id, why=why)


def deep_link(username: str, code: str) -> str:
    """Opens the bot; Telegram's app then sends ``/start <code>`` (Bot API, deep
    linking: a payload of up to 64 characters A-Z a-z 0-9 _ -)."""
    return f"https://t.me/{username}?start={code}"


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


def is_code(text: str, code: str) -> bool:
    """``/start <code>`` (from the deep link, maybe ``/start@bot``) or the code alone;
    letter case does not matter (it is typed on a phone)."""
    words = text.split()
    if len(words) == 2 and words[0].split("@", 1)[0].lower() == "/start":
        words = words[1:]
    return len(words) == 1 and hmac.compare_digest(words[0].upper().encode(), code.encode())


def sender_name(message: dict[str, Any]) -> str:
    """Who wrote, short and printable (a stranger chooses it: no terminal escapes)."""
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    name = str(sender.get("username") or sender.get("first_name") or chat.get("title") or "?")
    return "".join(ch for ch in name if ch.isprintable())[:NAME_LIMIT] or "?"


def _refusal(message: dict[str, Any], code: str, since: datetime | None) -> Refusal | None:
    """None when ``message`` confirms the setup."""
    chat = message.get("chat") or {}
    sender = message.get("from") or {}
    # Bot API Chat.type: only a private chat is the user's alone (and its id is the
    # user's id); in a group, anyone in it could have sent the message
    if chat.get("type") != "private" or sender.get("id") != chat.get("id"):
        return Refusal.NOT_PRIVATE
    sent = message.get("date")
    if since is not None and (
        not isinstance(sent, int) or sent < (since - CLOCK_GRACE).timestamp()
    ):
        return Refusal.OLD
    if not is_code(str(message.get("text") or ""), code):
        return Refusal.NO_CODE
    return None


def find_chat(
    bot: BotApi,
    code: str,
    timeout: float,
    stop: threading.Event | None = None,
    on_ignored: Callable[[IgnoredMessage], None] | None = None,
) -> FoundChat | CodeExposed | None:
    """Waits for ``code`` from a private chat; None when ``timeout`` passes (or
    ``stop`` is set) first. Each other message goes to ``on_ignored``.

    Setup begins at Telegram's time of the first (immediate) poll, so a wrong local
    clock changes nothing; an answer without ``Date`` leaves the code as the only test.
    """
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    offset: int | None = None
    confirmed: int | None = None
    since: datetime | None = None
    started = False
    try:
        while (remaining := deadline - time.monotonic()) > 0 and not stop.is_set():
            try:
                batch = bot.poll(offset, min(POLL_STEP, remaining) if started else 0)
            except TelegramConflict:
                stop.wait(CONFLICT_PAUSE)
                continue
            confirmed = offset
            if not started:
                started, since = True, batch.server_time
            for update in batch.updates:
                offset = update["update_id"] + 1
                message: dict[str, Any] = update.get("message") or {}
                chat = message.get("chat") or {}
                if "id" not in chat:
                    continue
                refusal = _refusal(message, code, since)
                if refusal is None:
                    sender = message["from"]
                    return FoundChat(
                        str(chat["id"]), str(sender["id"]), sender_name(message), offset
                    )
                ignored = IgnoredMessage(str(chat["id"]), sender_name(message), refusal)
                if refusal is Refusal.NOT_PRIVATE and is_code(str(message.get("text") or ""), code):
                    return CodeExposed(ignored)
                if on_ignored is not None:
                    on_ignored(ignored)
        return None
    finally:
        if offset is not None and offset != confirmed:
            _confirm(bot, offset)


def _confirm(bot: BotApi, offset: int) -> None:
    """Confirms every update before ``offset``: the poller will not act on them."""
    # best effort: if it fails they stay as they were, and the poller's own checks
    # (chat, person, age) still apply to them
    with contextlib.suppress(TelegramError):
        bot.get_updates(offset, 0)


def save_connection(
    runtime: Runtime, token: str, chat_id: str, user_id: str, offset: int | None
) -> None:
    """Stores a checked setup: the token in the keyring, the chat and the user who may
    command in the settings, and the offset past the code that confirmed them."""
    runtime.secrets.set(TELEGRAM_BOT_TOKEN, token)
    runtime.settings.update(telegram_chat_id=chat_id, telegram_user_id=user_id)
    if offset is not None:
        OffsetFile(runtime.paths.telegram_offset_file).save(offset)
