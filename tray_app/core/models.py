"""Plain data the core passes around. All datetimes are aware UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What one raise attempt came to (also the history file's vocabulary)."""

    RAISED = "raised"  # publish accepted and confirmed by a re-read
    UNCONFIRMED = "unconfirmed"  # publish accepted, the re-read shows no change
    TOO_EARLY = "too_early"  # 429: rescheduled from the server's answer, not a failure
    NOT_PUBLISHABLE = "not_publishable"  # a draft, blocked, or refused (400): re-checked later
    SIGN_IN_NEEDED = "sign_in_needed"
    CAPTCHA = "captcha"
    API_CLOSED = "api_closed"
    BOT_CHECK = "bot_check"  # hh.ru's bot protection answered instead of the site
    FAILED = "failed"  # transient or unexpected; retried with backoff


class AuthState(StrEnum):
    """Whether the app can act for the user, as shown by ``status``."""

    OK = "ok"
    NOT_CONFIGURED = "not_configured"  # no tokens at all
    SIGN_IN_NEEDED = "sign_in_needed"
    SESSION_EXPIRED = "session_expired"  # the website session ended: import a new one
    CAPTCHA_NEEDED = "captcha_needed"
    API_CLOSED = "api_closed"
    BOT_CHECK = "bot_check"  # bot protection stopped us: retried with back-off
    UNKNOWN = "unknown"  # not checked yet, or the network is down

    @property
    def blocks_raising(self) -> bool:
        """Nothing can be raised until the user signs in (or imports a session):
        the engine plans nothing, and ``status`` / ``resumes`` exit with code 4."""
        return self in (
            AuthState.NOT_CONFIGURED,
            AuthState.SIGN_IN_NEEDED,
            AuthState.SESSION_EXPIRED,
        )

    @property
    def needs_user(self) -> bool:
        """A problem the user is told about and can fix."""
        return self not in (AuthState.OK, AuthState.UNKNOWN)


class TransportKind(StrEnum):
    """How resumes are raised: through the API (OAuth) or the website's session."""

    API = "api"
    WEB = "web"


class StoreKind(StrEnum):
    """Where the secrets are kept. Only the user switches it (never automatically):
    the OS keyring, or on a machine without one a file, encrypted or (opted into,
    with a warning) plain."""

    KEYRING = "keyring"
    ENCRYPTED_FILE = "encrypted-file"
    PLAIN_FILE = "plain-file"


class NotifyLevel(StrEnum):
    """Which notices are told: all, all but routine raises, none."""

    ALL = "all"
    IMPORTANT = "important"
    OFF = "off"


class Language(StrEnum):
    """The language of everything the user reads."""

    RU = "ru"
    EN = "en"


class Standing(StrEnum):
    """Our reading of hh.ru's status words: can the resume be raised at all?

    Decided by exclusion (hh's API docs; public hh.ru tools' code): only a draft, a
    block or a deletion rule a resume out. Every other word, an unknown one included,
    reads as live, and hh.ru's answer to the raise has the last word.
    """

    LIVE = "live"
    DRAFT = "draft"  # API not_published, site not_finished
    BLOCKED = "blocked"
    DELETED = "deleted"


@dataclass(frozen=True)
class Resume:
    """One resume as hh.ru reports it, times in server terms.

    ``status`` and ``can_publish`` are hh.ru's raw words, kept for ``status``, the
    log and ``doctor``; decisions use ``standing`` and the dates only. (hh.ru's
    ``can_publish_or_update`` means "now": it is false through every cooldown.)
    """

    id: str
    title: str
    status: str  # raw: API not_published|published|blocked|on_moderation; site: new, ...
    blocked: bool
    can_publish: bool | None
    next_publish_at: datetime | None  # server clock; None when hh.ru gives none
    updated_at: datetime | None
    standing: Standing = Standing.LIVE
    raw: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """hh.ru's fields as read, for ``doctor`` (no personal data)."""

    def describe(self) -> str:
        """hh.ru's words and our reading of them, for the log (no personal data)."""

        def moment(value: datetime | None) -> str:
            return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"

        return (
            f"{self.id[:8]} status={self.status} can_publish={self.can_publish} "
            f"updated={moment(self.updated_at)} next={moment(self.next_publish_at)} "
            f"-> {self.standing.value}"
        )

    @property
    def raisable(self) -> bool:
        """Whether hh.ru's words allow a raise at all (not whether it is due)."""
        return self.standing is Standing.LIVE

    @property
    def state_signature(self) -> tuple[object, ...]:
        """Changes when the resume's standing may have changed (not with the
        cooldown: ``can_publish`` flips every window and is left out)."""
        return (self.status, self.blocked, self.standing)


@dataclass(frozen=True)
class TokenPair:
    """OAuth tokens; ``expires_at`` is in server time, None when unknown (imported).

    ``rejected`` marks a pair hh.ru refused (``invalid_grant``, revoked): it is kept,
    so nothing is lost, but never sent again.
    """

    access_token: str
    refresh_token: str
    expires_at: datetime | None = None
    rejected: bool = False


@dataclass(frozen=True)
class Attempt:
    """One raise attempt: a history line, and a ``raise-now`` result."""

    at: datetime
    resume_id: str
    outcome: Outcome
    http_status: int | None = None
    request_id: str | None = None
    detail: str | None = None
    title: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON form (history file, control channel); times in ISO 8601."""
        return {
            "at": self.at.isoformat(),
            "resume_id": self.resume_id,
            "title": self.title,
            "outcome": self.outcome.value,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "detail": self.detail,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Attempt:
        """Raises ValueError, KeyError or TypeError for a record that is not one."""
        return cls(
            at=datetime.fromisoformat(data["at"]),
            resume_id=str(data["resume_id"]),
            outcome=Outcome(data["outcome"]),
            http_status=data.get("http_status"),
            request_id=data.get("request_id"),
            detail=data.get("detail"),
            title=data.get("title"),
        )


@dataclass(frozen=True)
class InFlight:
    """A raise sent to hh.ru whose outcome is not yet in the history: kept on disk
    until it is, so a process killed in between can settle it at its next start from
    hh.ru's dates as they were before the raise."""

    resume_id: str
    title: str
    at: datetime
    updated_at: datetime | None
    next_publish_at: datetime | None

    def to_record(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "resume_id": self.resume_id,
            "title": self.title,
            "at": self.at.isoformat(),
            "updated_at": iso(self.updated_at),
            "next_publish_at": iso(self.next_publish_at),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> InFlight:
        """Raises ValueError, KeyError or TypeError for a record that is not one."""

        def moment(value: Any) -> datetime | None:
            parsed = None if value is None else datetime.fromisoformat(value)
            if parsed is not None and parsed.tzinfo is None:
                raise ValueError("a time without its zone")
            return parsed

        at = moment(data["at"])
        if at is None:
            raise ValueError("no time")
        return cls(
            str(data["resume_id"]),
            str(data.get("title") or ""),
            at,
            moment(data.get("updated_at")),
            moment(data.get("next_publish_at")),
        )


@dataclass(frozen=True)
class PublishReceipt:
    """hh.ru accepted a publish; whether it took effect is checked separately."""

    status: int
    request_id: str | None
