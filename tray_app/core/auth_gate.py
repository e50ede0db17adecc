"""The auth gate: whether the engine may act for the user, and when to ask again.

hh.ru's errors move it between :class:`AuthState` values; each change is published
once as :class:`AuthChanged`. States the user cannot fix by waiting (captcha, the
closed API, bot protection) carry a retry time, so the list is read again later
instead of every cycle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tray_app.core.clock import Clock
from tray_app.core.errors import (
    ApplicantApiClosed,
    BotCheck,
    CaptchaRequired,
    RemoteError,
    SessionExpired,
    SignInNeeded,
)
from tray_app.core.events import AuthChanged, EventBus
from tray_app.core.models import AuthState, Outcome
from tray_app.core.planner import backoff
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)

CAPTCHA_RETRY = timedelta(minutes=10)
API_CLOSED_RETRY = timedelta(hours=1)
BOT_CHECK_RETRY_FIRST = 120.0
BOT_CHECK_RETRY_MAX = 30 * 60.0
"""Bot protection is not hammered: each stop doubles the wait, up to half an hour."""

_OUTCOMES = {
    AuthState.CAPTCHA_NEEDED: Outcome.CAPTCHA,
    AuthState.API_CLOSED: Outcome.API_CLOSED,
    AuthState.BOT_CHECK: Outcome.BOT_CHECK,
    AuthState.SIGN_IN_NEEDED: Outcome.SIGN_IN_NEEDED,
    AuthState.SESSION_EXPIRED: Outcome.SIGN_IN_NEEDED,
    AuthState.NOT_CONFIGURED: Outcome.SIGN_IN_NEEDED,
}


@dataclass(frozen=True)
class _Verdict:
    state: AuthState = AuthState.UNKNOWN
    detail: str | None = None
    captcha_url: str | None = None
    retry_at: datetime | None = None
    bot_checks: int = 0  # bot-protection stops in a row, for the back-off


class AuthGate:
    """The auth state machine. Not thread-safe: the engine's thread drives it."""

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._verdict = _Verdict()

    @property
    def state(self) -> AuthState:
        return self._verdict.state

    @property
    def detail(self) -> str | None:
        return self._verdict.detail

    @property
    def captcha_url(self) -> str | None:
        return self._verdict.captcha_url

    @property
    def retry_at(self) -> datetime | None:
        """When a waiting state (captcha, closed API, bot check) is checked again."""
        return self._verdict.retry_at

    @property
    def holds_raises(self) -> bool:
        """No raise is planned or sent: the user must act, or a verdict's wait runs."""
        return self.state.blocks_raising or self.retry_at is not None

    def set(
        self, state: AuthState, detail: str | None = None, captcha_url: str | None = None
    ) -> None:
        previous = self._verdict
        bot_checks = previous.bot_checks + 1 if state is AuthState.BOT_CHECK else 0
        wait = {
            AuthState.CAPTCHA_NEEDED: CAPTCHA_RETRY,
            AuthState.API_CLOSED: API_CLOSED_RETRY,
            AuthState.BOT_CHECK: backoff(bot_checks, BOT_CHECK_RETRY_FIRST, BOT_CHECK_RETRY_MAX),
        }.get(state)
        retry_at = self._clock.now() + wait if wait else None
        self._verdict = _Verdict(state, detail, captcha_url, retry_at, bot_checks)
        if (previous.state, previous.detail) != (state, detail):
            log.info("auth state: %s %s", state.value, detail or "")
            self._bus.publish(AuthChanged(state, detail, captcha_url))

    def absorb(self, exc: RemoteError) -> bool:
        """Moves to the state ``exc`` calls for; False if it is not an auth error."""
        if isinstance(exc, SessionExpired):
            self.set(AuthState.SESSION_EXPIRED, redactor(str(exc)))
        elif isinstance(exc, SignInNeeded):
            self.set(AuthState.SIGN_IN_NEEDED, redactor(str(exc)))
        elif isinstance(exc, CaptchaRequired):
            self.set(AuthState.CAPTCHA_NEEDED, redactor(str(exc)), exc.captcha_url)
        elif isinstance(exc, ApplicantApiClosed):
            self.set(AuthState.API_CLOSED, redactor(str(exc)))
        elif isinstance(exc, BotCheck):
            log.warning("hh.ru's bot protection: %s; fingerprint: %s", exc, exc.fingerprint)
            self.set(AuthState.BOT_CHECK, redactor(str(exc)))
        else:
            return False
        return True

    def forget(self) -> None:
        """Back to "not checked yet" (new credentials, or the user asked), silently:
        the next read publishes whatever it finds."""
        self._verdict = _Verdict()

    def end_wait(self) -> None:
        """The retry time came: the list is read again with the state kept."""
        self._verdict = _Verdict(
            self.state, self.detail, self.captcha_url, None, self._verdict.bot_checks
        )

    def blocked_outcome(self) -> Outcome:
        """What a raise that the current state stopped before sending comes to."""
        return _OUTCOMES.get(self.state, Outcome.FAILED)
