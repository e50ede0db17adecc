"""Remote control from the phone: ``/status``, ``/raise``, ``/pause``, ``/resume``,
``/help`` in the configured chat, read by long polling ``getUpdates``.

Only the person who confirmed ``telegram setup`` is obeyed (:func:`commander`), and
only in the configured chat; any other chat or person is ignored and logged once. The
offset is saved *before* a command runs, so a crash never runs a command twice, and a
command older than :data:`STALE_AFTER` (sent while the app was off) is ignored rather
than acted on hours later; "older" is measured on Telegram's clock (the ``Date`` of
the answer that brought it), so a machine whose clock is off still answers. A command
that fails, whatever the reason, gets a polite answer and the next one is read at
once. A 409 (another program polls this bot) and network failures back off instead of
looping; :meth:`stop` returns at once, and a poll that ends after it is not acted on
(its updates stay unconfirmed, so nothing is lost).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tray_app.core.clock import Clock
from tray_app.core.errors import (
    ConfigError,
    HHRaiserError,
    TelegramConflict,
    TelegramError,
    TelegramMisconfigured,
    TelegramRetryAfter,
)
from tray_app.core.models import NotifyLevel, Outcome
from tray_app.core.views import PollerState, RaiseResult, Status
from tray_app.i18n import t
from tray_app.i18n.text import attempt_text, error_text, local_time, status_lines
from tray_app.storage.atomic import write_atomic
from tray_app.storage.settings import Settings
from tray_app.telegram.api import BotApi, BotApiCache
from tray_app.telegram.delivery import TelegramTarget, TelegramTargets
from tray_app.telegram.html import fit

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25.0
RETRY_FIRST = 5.0
RETRY_MAX = 300.0
CONFLICT_WAIT = 30.0
STALE_AFTER = timedelta(minutes=10)
ARGUMENT_SHOWN = 32  # characters of a bad argument quoted back
STRANGERS_LOGGED = 1000  # chats and people logged once each; beyond, a flood stays quiet
_NUMBER = re.compile(r"[0-9]{1,6}")  # not str.isdigit: "²".isdigit() is True, int("²") fails


def commander(settings: Settings) -> str | None:
    """The Telegram user id whose commands are obeyed: the one who confirmed setup.
    A private chat set up before that was stored is its own user's (Bot API: a
    private chat's id is its user's id); a group set up so has nobody (None) until
    ``telegram setup`` is run again."""
    if settings.telegram_user_id:
        return settings.telegram_user_id
    chat = settings.telegram_chat_id
    return chat if chat and not chat.startswith("-") else None


class RemoteControl(Protocol):
    """What the running instance lets the phone do (the service implements it)."""

    def status(self) -> Status: ...

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]: ...

    def set_paused(self, paused: bool) -> None: ...


class OffsetFile:
    """The next ``getUpdates`` offset, kept across restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8")).get("offset")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, int) else None

    def save(self, offset: int) -> None:
        try:
            write_atomic(self.path, json.dumps({"offset": offset}))
        except OSError:
            log.exception("could not save the Telegram update offset")


class CommandPoller:
    def __init__(
        self,
        targets: TelegramTargets,
        settings: Callable[[], Settings],
        control: RemoteControl,
        offsets: OffsetFile,
        clock: Clock,
        *,
        poll_timeout: float = POLL_TIMEOUT,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        conflict_wait: float = CONFLICT_WAIT,
    ) -> None:
        self._targets = targets
        self._settings = settings
        self._control = control
        self._offsets = offsets
        self._clock = clock
        self._poll_timeout = poll_timeout
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._conflict_wait = conflict_wait
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._apis = BotApiCache()
        self._failures = 0
        self._strangers: set[str] = set()
        self.state = PollerState.OFF
        self.offset = offsets.load()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="telegram-commands", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Returns at once; a poll still in flight is abandoned, its updates unconfirmed."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Settings or token changed: poll again now with them."""
        self._failures = 0
        self._wake.set()

    def _pause(self, seconds: float | None) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _set_state(self, state: PollerState, detail: object = None) -> None:
        if state is not self.state:
            if state in (PollerState.OFF, PollerState.POLLING):
                log.info("Telegram commands: %s", state.value)
            else:
                log.warning("Telegram commands: %s (%s)", state.value, detail)
        self.state = state

    def _run(self) -> None:
        while not self._stopping.is_set():
            target = self._targets.current()
            if target is None or not self._settings().telegram_commands:
                self._set_state(PollerState.OFF)
                self._pause(None)
                continue
            try:
                self._poll_once(target)
            except Exception:  # a bug must not end remote control for good
                log.exception("Telegram command polling failed")
                self._pause(self._retry_max)
        self._apis.close()

    def _poll_once(self, target: TelegramTarget) -> None:
        api = self._apis.get(target.bot)
        try:
            batch = api.poll(self.offset, self._poll_timeout)
        except TelegramConflict as exc:
            self._set_state(PollerState.CONFLICT, exc)
            self._pause(self._backoff(self._conflict_wait))
            return
        except TelegramRetryAfter as exc:
            self._pause(exc.retry_after)
            return
        except TelegramMisconfigured as exc:
            self._set_state(PollerState.MISCONFIGURED, exc)
            self._pause(None)  # until the settings change
            return
        except (TelegramError, ConfigError) as exc:
            self._set_state(PollerState.UNREACHABLE, exc)
            self._pause(self._backoff(self._retry_first))
            return
        if self._stopping.is_set():
            return  # not acted on and not confirmed: the next run sees them again
        self._failures = 0
        self._set_state(PollerState.POLLING)
        # how old a command is, by Telegram's clock; the local one only if no Date came
        now = batch.server_time or self._clock.now()
        for update in batch.updates:
            if self._stopping.is_set():
                return
            self.offset = update["update_id"] + 1
            self._offsets.save(self.offset)
            try:
                self._handle(update, target, api, now)
            except Exception:  # one odd update must not hold up the ones after it
                log.exception("could not handle Telegram update %s", update.get("update_id"))

    def _backoff(self, first: float) -> float:
        self._failures += 1
        return float(min(self._retry_max, first * 2 ** (self._failures - 1)))

    # ---- one message ----------------------------------------------------------------

    def _handle(
        self, update: dict[str, Any], target: TelegramTarget, api: BotApi, now: datetime
    ) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        chat = message.get("chat") or {}
        chat_id = str(chat.get("id"))
        if chat_id != target.chat_id:
            self._ignore_once(
                f"chat:{chat_id}",
                "ignored a message from Telegram chat %s: only the configured chat "
                "controls HH Raiser (further messages from it are ignored silently)",
                chat_id,
            )
            return
        sender = str((message.get("from") or {}).get("id"))
        allowed = commander(self._settings())
        if allowed is None:
            self._ignore_once(
                f"nobody:{chat_id}",
                "ignored commands in Telegram group %s: it was set up before HH Raiser "
                "knew who may command; run 'hh-raiser telegram setup --chat-id %s' to "
                "confirm it is you (notifications still go there)",
                chat_id,
                chat_id,
            )
            return
        if sender != allowed:
            self._ignore_once(
                f"user:{sender}",
                "ignored a message from Telegram user %s in the configured chat: only "
                "the user who confirmed 'telegram setup' controls HH Raiser (further "
                "messages from them are ignored silently)",
                sender,
            )
            return
        text = str(message.get("text") or "").strip()
        sent = datetime.fromtimestamp(int(message.get("date") or 0), UTC)
        if now - sent > STALE_AFTER:
            log.info(
                "ignored a Telegram command sent at %s (Telegram's time now %s: too old)",
                sent.isoformat(),
                now.isoformat(),
            )
            return
        reply = self.answer(text)
        if not reply:
            return
        try:
            api.send_message(target.chat_id, fit(reply))
        except TelegramError as exc:
            log.warning("could not answer a Telegram command: %s", exc)

    def _ignore_once(self, who: str, text: str, *values: object) -> None:
        if who not in self._strangers and len(self._strangers) < STRANGERS_LOGGED:
            self._strangers.add(who)
            log.warning(text, *values)

    def answer(self, text: str) -> str:
        """The reply to one command (empty: the notifications already say it all)."""
        lang = self._settings().language
        word, _, argument = text.partition(" ")
        command = word.split("@", 1)[0].lower()
        try:
            if command in ("/start", "/help"):
                return t("tg.help", lang)
            if command == "/status":
                return "\n".join(status_lines(self._control.status(), lang, numbered=True))
            if command == "/raise":
                return self._raise(argument.strip(), lang)
            if command == "/pause":
                self._control.set_paused(True)
                return t("tg.paused", lang)
            if command == "/resume":
                self._control.set_paused(False)
                following = self._control.status().earliest_next_raise()
                return t("tg.resumed", lang, next=local_time(following, lang))
        except (HHRaiserError, RuntimeError, TimeoutError, OSError) as exc:
            return error_text(exc, lang)
        except Exception:  # a bug: said politely, kept in the log, the poller goes on
            log.exception("Telegram command %r failed", command)
            return t("tg.failed", lang)
        return t("tg.unknown", lang)

    def _raise(self, argument: str, lang: str) -> str:
        resume_id: str | None = None
        if argument:
            resumes = self._control.status().resumes
            resume_id = self._resolve(argument, [r.id for r in resumes])
            if resume_id is None:
                # quoted back short (the reply is escaped as a whole when sent)
                what = argument[:ARGUMENT_SHOWN] + ("…" if len(argument) > ARGUMENT_SHOWN else "")
                return t("tg.no_resume", lang, what=what, count=len(resumes))
        results = self._control.raise_now(resume_id)
        # with notify_level "all" every raise is also told by its own notification
        told = self._settings().notify_level is NotifyLevel.ALL
        lines = [
            attempt_text(r.result, r.next_raise_at, lang)
            for r in results
            if not (told and r.outcome is Outcome.RAISED)
        ]
        if not results:
            return t("status.no_resumes", lang)
        return "\n".join(lines)

    @staticmethod
    def _resolve(argument: str, ids: list[str]) -> str | None:
        """A resume by its number in /status (1-based), its id, or an id prefix."""
        if _NUMBER.fullmatch(argument) and 1 <= int(argument) <= len(ids):
            return ids[int(argument) - 1]
        matches = [i for i in ids if i.startswith(argument)]
        return matches[0] if len(matches) == 1 else None
