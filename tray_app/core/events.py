"""Events the engine publishes; adapters (console, tray, Telegram) subscribe.

Data flows one way: the engine never calls an adapter directly, so a slow or broken
subscriber cannot hold up a raise beyond its own callback, and a failing callback is
logged and skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tray_app.core.models import Attempt, AuthState, Resume

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of all events."""


@dataclass(frozen=True)
class RaiseAttempted(Event):
    attempt: Attempt
    next_raise_at: datetime | None


@dataclass(frozen=True)
class RaiseStarted(Event):
    """hh.ru accepted a publish; the re-read that confirms it is under way.

    Published after the request, so no subscriber can delay the raise itself."""

    resume_id: str


@dataclass(frozen=True)
class ResumeSkipped(Event):
    """Reported once per state: the resume cannot be raised until it changes."""

    resume: Resume
    reason: str


@dataclass(frozen=True)
class AuthChanged(Event):
    state: AuthState
    detail: str | None = None
    captcha_url: str | None = None


@dataclass(frozen=True)
class TokenRefreshed(Event):
    expires_at: datetime | None


@dataclass(frozen=True)
class ResumesChanged(Event):
    resumes: tuple[Resume, ...]


@dataclass(frozen=True)
class PlanChanged(Event):
    """The agenda changed (the scheduler listens and asks the engine for it)."""


@dataclass(frozen=True)
class TransientFailure(Event):
    error: str
    retry_at: datetime


@dataclass(frozen=True)
class ConnectionRestored(Event):
    """hh.ru answered again after failures (the list could be read)."""


class ChannelState(StrEnum):
    """How the Telegram channel is doing; the values are those of ``status --json``."""

    NOT_CONFIGURED = "not_configured"  # no bot token or no chat id
    OK = "ok"  # nothing wrong known
    UNREACHABLE = "unreachable"  # retrying with back-off
    MISCONFIGURED = "misconfigured"  # waiting for the user to fix the settings


class ChannelProblem(StrEnum):
    """Why Telegram is not usable: the ``reason`` of ``status --json`` and the
    ``telegram.reason.*`` texts (``misconfigured``, the generic one, has none)."""

    MISCONFIGURED = "misconfigured"  # something only the user can fix, not said what
    BAD_TOKEN = "bad_token"
    CHAT_NOT_FOUND = "chat_not_found"
    BOT_BLOCKED = "bot_blocked"
    PROXY = "proxy"  # a proxy requests cannot use
    UNREACHABLE = "unreachable"
    NOT_CONFIGURED = "not_configured"
    CONFLICT = "conflict"  # another poller uses the bot (commands only)


@dataclass(frozen=True)
class TelegramStatusChanged(Event):
    """The Telegram channel became usable or unusable; ``reason`` says why not."""

    state: ChannelState
    reason: ChannelProblem | None = None
    detail: str | None = None


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous, thread-safe publish/subscribe."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Adds a subscriber; returns a function that removes it."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", callback, type(event).__name__)
