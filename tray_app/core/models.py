"""Plain data the core passes around. All datetimes are aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What one raise attempt came to (also the history file's vocabulary)."""

    RAISED = "raised"  # publish accepted and confirmed by a re-read
    UNCONFIRMED = "unconfirmed"  # publish accepted, the re-read shows no change
    TOO_EARLY = "too_early"  # 429: rescheduled from the server's answer, not a failure
    NOT_PUBLISHABLE = "not_publishable"  # blocked, unpublished, 400: skipped until it changes
    SIGN_IN_NEEDED = "sign_in_needed"
    CAPTCHA = "captcha"
    API_CLOSED = "api_closed"
    FAILED = "failed"  # transient or unexpected; retried with backoff


class AuthState(StrEnum):
    """Whether the app can act for the user, as shown by ``status``."""

    OK = "ok"
    NOT_CONFIGURED = "not_configured"  # no tokens at all
    SIGN_IN_NEEDED = "sign_in_needed"
    SESSION_EXPIRED = "session_expired"  # the website session ended: import a new one
    CAPTCHA_NEEDED = "captcha_needed"
    API_CLOSED = "api_closed"
    UNKNOWN = "unknown"  # not checked yet, or the network is down


@dataclass(frozen=True)
class Resume:
    """One resume as hh.ru reports it, times in server terms."""

    id: str
    title: str
    status: str  # not_published | published | blocked | on_moderation
    blocked: bool
    can_publish: bool | None
    next_publish_at: datetime | None  # server clock; None when unpublished
    updated_at: datetime | None
    url: str | None = None
    paid_autoraise: bool = False

    @property
    def publishable(self) -> bool:
        """Whether a raise can succeed at all (not whether it is due)."""
        return (
            self.status == "published"
            and not self.blocked
            and self.can_publish is not False
            and self.next_publish_at is not None
        )

    @property
    def state_signature(self) -> tuple[object, ...]:
        """Changes when the resume's publishability may have changed."""
        return (self.status, self.blocked, self.can_publish, self.next_publish_at is None)


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
class PublishReceipt:
    """hh.ru accepted a publish; whether it took effect is checked separately."""

    status: int
    request_id: str | None
