"""What the core shows of its state: read-only views for ``status``, the tray, the
Telegram commands and ``raise-now``. Times are aware UTC; adapters show them local.

JSON exists only at the process edge (``adapters/control.py``); inside the process
every adapter reads these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tray_app.core.models import AuthState, Outcome


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


@dataclass(frozen=True)
class Snapshot:
    """The engine's picture: who we act as and what each resume is waiting for."""

    auth_state: AuthState
    auth_detail: str | None
    captcha_url: str | None
    paused: bool
    resumes: tuple[ResumeStatus, ...]


@dataclass(frozen=True)
class NotDue:
    """``raise_now`` found the resume still in its cooldown and sent nothing."""

    resume_id: str
    title: str
    next_raise_at: datetime | None
