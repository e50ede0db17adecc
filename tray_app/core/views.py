"""What the core shows of its state: read-only views for ``status``, the tray, the
Telegram commands and ``raise-now``. Times are aware UTC; adapters show them local.

JSON exists only at the process edge (``adapters/control.py``); inside the process
every adapter reads these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tray_app.core.events import ChannelProblem, ChannelState
from tray_app.core.models import Attempt, AuthState, Outcome, TransportKind
from tray_app.core.updates import UpdateKind, UpdateView


@dataclass(frozen=True)
class ResumeStatus:
    id: str
    title: str
    enabled: bool
    last_raise_at: datetime | None
    last_outcome: Outcome | None
    next_raise_at: datetime | None
    next_publish_at: datetime | None  # on our clock
    note: str | None  # why it is not planned (draft, blocked, refused), or None
    hh_status: str = ""  # hh.ru's own word for it, as read
    can_publish: bool | None = None  # hh.ru's can_publish_or_update, as read (API only)


class NothingPlanned(StrEnum):
    """Why no enabled resume has a next raise (``tray.none_planned.*`` texts)."""

    WAITING = "waiting"  # nothing read from hh.ru yet
    NO_RESUMES = "no_resumes"  # hh.ru lists none
    ALL_OFF = "all_off"  # the user switched every resume off
    CANNOT = "cannot"  # every enabled resume is a draft, blocked or refused
    UNKNOWN = "unknown"  # none of the above: the auth state or a failure says why


@dataclass(frozen=True)
class Snapshot:
    """The engine's picture: who we act as and what each resume is waiting for."""

    auth_state: AuthState
    auth_detail: str | None
    captcha_url: str | None
    paused: bool
    resumes: tuple[ResumeStatus, ...]

    @property
    def enabled(self) -> tuple[ResumeStatus, ...]:
        return tuple(r for r in self.resumes if r.enabled)

    def earliest_next_raise(self) -> datetime | None:
        """The next raise of any enabled resume."""
        planned = [r.next_raise_at for r in self.enabled if r.next_raise_at is not None]
        return min(planned) if planned else None

    @property
    def failing(self) -> bool:
        """An enabled resume's last attempt failed."""
        return any(r.last_outcome is Outcome.FAILED for r in self.enabled)

    def nothing_planned(self) -> NothingPlanned | None:
        """Why nothing will be raised, or None when something will (or raising is
        paused, which says so itself): the tray must never call that "all fine"."""
        if self.paused or self.earliest_next_raise() is not None:
            return None
        if not self.resumes:
            if self.auth_state is AuthState.UNKNOWN:
                return NothingPlanned.WAITING
            return NothingPlanned.NO_RESUMES
        if not self.enabled:
            return NothingPlanned.ALL_OFF
        if all(r.note for r in self.enabled):
            return NothingPlanned.CANNOT
        return NothingPlanned.UNKNOWN


@dataclass(frozen=True)
class NotDue:
    """``raise_now`` found the resume still in its cooldown and sent nothing."""

    resume_id: str
    title: str
    next_raise_at: datetime | None


@dataclass(frozen=True)
class RaiseResult:
    """One resume's answer to "raise now", with its next planned raise."""

    result: Attempt | NotDue
    next_raise_at: datetime | None

    @property
    def resume_id(self) -> str:
        return self.result.resume_id

    @property
    def outcome(self) -> Outcome | None:
        """What the attempt came to; None when nothing was sent (not due yet)."""
        return self.result.outcome if isinstance(self.result, Attempt) else None


@dataclass(frozen=True)
class TelegramChannel:
    """Whether notices reach Telegram, as the delivery worker knows it."""

    state: ChannelState
    reason: ChannelProblem | None
    detail: str | None
    since: datetime | None
    pending: int  # important notices waiting on disk
    last_delivery_at: datetime | None


class PollerState(StrEnum):
    """Telegram remote control (``/status``, ``/raise``...)."""

    OFF = "off"  # commands disabled, or no bot/chat set up
    POLLING = "polling"
    CONFLICT = "conflict"  # another program polls this bot (409)
    UNREACHABLE = "unreachable"
    MISCONFIGURED = "misconfigured"


@dataclass(frozen=True)
class Status(Snapshot):
    """What a running instance reports: the engine's snapshot, the account choice,
    the Telegram channel (``status``, the tray, ``/status``) and the update check."""

    transport: TransportKind
    web_host: str
    telegram: TelegramChannel
    commands: PollerState | None  # None: no running instance polls for commands
    update: UpdateView = field(default_factory=lambda: UpdateView(UpdateKind.UNKNOWN))
