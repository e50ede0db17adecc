"""What is worth telling the user, decided once for every channel (Telegram, desktop).

:class:`NoticeComposer` turns core events into :class:`Notice`s: a routine one for
each raise, an important one for everything else the user may need to act on. A
run of failures is told once (when it reaches :data:`FAILURE_STREAK`), and its end
is told too, so the user is never left believing it is still broken.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from tray_app.core.clock import Clock
from tray_app.core.events import (
    AuthChanged,
    ConnectionRestored,
    Event,
    EventBus,
    RaiseAttempted,
    ResumeSkipped,
    TokenRefreshed,
    TransientFailure,
)
from tray_app.core.models import AuthState, NotifyLevel, Outcome
from tray_app.i18n import t
from tray_app.i18n.text import attempt_text, auth_text, local_time, reason_text
from tray_app.storage.settings import Settings

log = logging.getLogger(__name__)

FAILURE_STREAK = 3  # consecutive failures before the user hears about them


@dataclass(frozen=True)
class Notice:
    """One thing to tell the user, already in their language (plain text)."""

    kind: str
    text: str
    important: bool
    at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "important": self.important,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Notice:
        """Raises ValueError, KeyError or TypeError for a record that is not one."""
        return cls(
            kind=str(data["kind"]),
            text=str(data["text"]),
            important=bool(data["important"]),
            at=datetime.fromisoformat(data["at"]),
        )


def wanted(level: NotifyLevel, notice: Notice) -> bool:
    """``notify_level``: ``all``, ``important`` (all but routine raises), ``off``."""
    if level == NotifyLevel.OFF:
        return False
    return level == NotifyLevel.ALL or notice.important


class NoticeComposer:
    """Events in, notices out; remembers streaks and problems to tell their end."""

    def __init__(self, language: Callable[[], str], clock: Clock, tz: tzinfo | None = None):
        self._language = language
        self._clock = clock
        self._tz = tz
        self._failures = 0
        self._streak_told = False
        self._auth_problem_told: AuthState | None = None

    def compose(self, event: Event) -> list[Notice]:
        lang = self._language()
        if isinstance(event, RaiseAttempted):
            return self._attempt(event, lang)
        if isinstance(event, TransientFailure):
            return self._failure(event.error, event.retry_at, lang)
        if isinstance(event, ConnectionRestored):
            return self._success(lang)
        if isinstance(event, AuthChanged):
            return self._auth(event, lang)
        if isinstance(event, TokenRefreshed):
            return [self._notice("token_refreshed", t("token_refreshed", lang), important=True)]
        if isinstance(event, ResumeSkipped):
            text = t(
                "outcome.not_publishable",
                lang,
                title=event.resume.title,
                reason=reason_text(event.reason, lang),
            )
            return [self._notice("not_publishable", text, important=True)]
        return []

    def _notice(self, kind: str, text: str, *, important: bool) -> Notice:
        return Notice(kind, text, important, self._clock.now())

    def _attempt(self, event: RaiseAttempted, lang: str) -> list[Notice]:
        attempt = event.attempt
        if attempt.outcome is Outcome.FAILED:
            return self._failure(attempt.detail or "?", event.next_raise_at, lang)
        if attempt.outcome not in (Outcome.RAISED, Outcome.UNCONFIRMED, Outcome.TOO_EARLY):
            return []  # sign-in, captcha, API closed: told once through AuthChanged
        notices = self._success(lang)  # hh.ru answered: any failure streak is over
        text = attempt_text(attempt, event.next_raise_at, lang, self._tz)
        if attempt.outcome is Outcome.RAISED:
            notices.append(self._notice("raised", text, important=False))
        elif attempt.outcome is Outcome.UNCONFIRMED:
            notices.append(self._notice("unconfirmed", text, important=True))
        return notices

    def _failure(self, error: str, retry_at: datetime | None, lang: str) -> list[Notice]:
        self._failures += 1
        if self._failures < FAILURE_STREAK or self._streak_told:
            return []
        self._streak_told = True
        text = t(
            "notice.failing",
            lang,
            count=self._failures,
            error=error,
            time=local_time(retry_at, lang, self._tz),
        )
        return [self._notice("failing", text, important=True)]

    def _success(self, lang: str) -> list[Notice]:
        told, self._streak_told, self._failures = self._streak_told, False, 0
        return (
            [self._notice("recovered", t("notice.recovered", lang), important=True)] if told else []
        )

    def _auth(self, event: AuthChanged, lang: str) -> list[Notice]:
        # "no account set up" is where every install starts, not something that happened
        if event.state.needs_user and event.state is not AuthState.NOT_CONFIGURED:
            self._auth_problem_told = event.state
            text = auth_text(event.state, lang, event.captcha_url)
            return [self._notice(event.state.value, text, important=True)]
        if event.state is AuthState.OK and self._auth_problem_told is not None:
            self._auth_problem_told = None
            return [self._notice("auth_restored", t("notice.auth_restored", lang), important=True)]
        return []


Sink = Callable[[Notice], None]


class Notifications:
    """Subscribes to the bus and hands each wanted notice to every sink.

    Sinks must not block (the Telegram one only queues): this runs on the thread
    that published the event, usually the one raising resumes.
    """

    def __init__(
        self,
        bus: EventBus,
        settings: Callable[[], Settings],
        clock: Clock,
        tz: tzinfo | None = None,
    ) -> None:
        self._settings = settings
        self._composer = NoticeComposer(lambda: settings().language, clock, tz)
        self._sinks: list[Sink] = []
        self._lock = threading.Lock()
        self._unsubscribe = bus.subscribe(self._on_event)

    def add_sink(self, sink: Sink) -> None:
        with self._lock:
            self._sinks.append(sink)

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, event: Event) -> None:
        with self._lock:  # the composer's streak state is shared by every publisher
            notices = self._composer.compose(event)
            sinks = list(self._sinks)
        level = self._settings().notify_level
        for notice in notices:
            if not wanted(level, notice):
                continue
            for sink in sinks:
                try:
                    sink(notice)
                except Exception:
                    log.exception("notification sink %r failed", sink)
