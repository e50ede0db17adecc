"""What the core needs from the outside, as small interfaces: a transport (the API
and website transports provide it), the settings that shape the plan, the history
file and the raises in flight. The core never imports storage or transports;
``wiring`` plugs them in.
"""

from __future__ import annotations

from datetime import time
from typing import Protocol

from tray_app.core.models import Attempt, InFlight, PublishReceipt, Resume


class Transport(Protocol):
    def list_resumes(self) -> list[Resume]:
        """Every resume of the user; raises a :class:`RemoteError` subclass on failure."""
        ...

    def publish(self, resume_id: str) -> PublishReceipt:
        """Asks hh.ru to raise the resume."""
        ...

    def ping(self) -> None:
        """A cheap request whose only use is a fresh ``Date`` sample."""
        ...

    def credentials_changed(self) -> None:
        """New credentials were stored (login, import): drop any cached copy."""
        ...


class PlanSettings(Protocol):
    """The settings that decide when (and whether) a resume is raised."""

    @property
    def paused(self) -> bool: ...

    @property
    def margin_seconds(self) -> float: ...

    @property
    def jitter_seconds(self) -> float: ...

    @property
    def anchor(self) -> time | None: ...

    @property
    def active_window(self) -> tuple[time, time] | None: ...

    def is_enabled(self, resume_id: str) -> bool: ...


class AttemptLog(Protocol):
    """Where attempts are kept across restarts (``history.jsonl``)."""

    def read(self) -> list[Attempt]:
        """Every attempt on record, oldest first."""
        ...

    def append(self, attempt: Attempt) -> None:
        """On disk before it returns; raises OSError when it cannot be written."""
        ...


class InFlightLog(Protocol):
    """Raises sent whose outcome is not yet in the history (``raises-in-flight.json``)."""

    def pending(self) -> list[InFlight]:
        """What a process that died left unsettled."""
        ...

    def begin(self, raise_: InFlight) -> None:
        """On disk before it returns (before the raise is sent); raises OSError."""
        ...

    def end(self, resume_id: str) -> None:
        """The outcome is in the history; raises OSError."""
        ...
