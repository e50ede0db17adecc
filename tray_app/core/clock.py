"""Time sources: the local clock (injectable) and hh.ru's clock as seen through ``Date``.

Everything in the core works with timezone-aware UTC datetimes. The local clock can
be wrong by minutes; hh.ru decides when a resume may be raised by *its* clock, so the
planner converts server times to local ones through :class:`ServerClock`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol


class Clock(Protocol):
    """What the core needs of a clock; tests pass a fake one."""

    def now(self) -> datetime:
        """Current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary point; never jumps."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class SkewSample:
    """Bounds on (server time - local time), in seconds, from one HTTP exchange."""

    low: float
    high: float


def parse_http_date(header: str | None) -> datetime | None:
    """An HTTP ``Date`` header (RFC 7231, ``Wed, 02 Dec 2026 05:29:25 GMT``) as an aware
    datetime; None when missing or unreadable."""
    if not header:
        return None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def skew_sample(date_header: str, sent: datetime, received: datetime) -> SkewSample | None:
    """Bounds the server's clock offset from one response's ``Date`` header.

    ``Date`` has one-second resolution and was stamped somewhere between our send and
    receive times, so the true offset lies in
    ``[date - received, date + 1 s - sent]``.
    """
    server = parse_http_date(date_header)
    if server is None:
        return None
    low = (server - received).total_seconds()
    high = (server + timedelta(seconds=1) - sent).total_seconds()
    return SkewSample(low, high)


class ServerClock:
    """Estimates hh.ru's clock offset so raises are on time and never early.

    The estimate is the *lowest* offset consistent with every recent sample (the
    greatest lower bound). Using the lower bound means a converted server time is
    never earlier on our clock than on the server's: we may fire a fraction of a
    second late, never early. Samples at different sub-second phases narrow the
    bound. When samples contradict each other (a clock jump), the old ones go.
    """

    def __init__(self, max_samples: int = 64) -> None:
        self._lock = threading.Lock()
        self._samples: list[SkewSample] = []
        self._max = max_samples

    def add(self, sample: SkewSample) -> None:
        with self._lock:
            low, high = self._bounds_locked()
            if self._samples and (sample.high < low or sample.low > high):
                self._samples.clear()  # one of the clocks jumped: start over
            self._samples.append(sample)
            del self._samples[: -self._max]

    def _bounds_locked(self) -> tuple[float, float]:
        if not self._samples:
            return (0.0, 0.0)
        return (max(s.low for s in self._samples), min(s.high for s in self._samples))

    @property
    def offset(self) -> float:
        """Server minus local seconds (conservative); 0 until the first sample."""
        with self._lock:
            return self._bounds_locked()[0]

    @property
    def uncertainty(self) -> float:
        """Width of the offset interval, seconds."""
        with self._lock:
            low, high = self._bounds_locked()
            return max(0.0, high - low)

    @property
    def has_samples(self) -> bool:
        with self._lock:
            return bool(self._samples)

    def sample(self, date_header: str | None, sent: datetime, received: datetime) -> None:
        """Takes one answer's ``Date`` (sent and received on our clock), if it has one."""
        if date_header:
            sample = skew_sample(date_header, sent, received)
            if sample is not None:
                self.add(sample)

    def next_probe(self, local_now: datetime, lead: float = 0.05) -> datetime:
        """When to send a request so its ``Date`` best narrows the offset.

        A request stamped exactly when the server's second ticks over (assuming the
        offset is the middle of the current interval) halves the interval whichever
        second it shows.
        """
        with self._lock:
            low, high = self._bounds_locked()
        mid = (low + high) / 2
        server_now = local_now.timestamp() + mid
        boundary = math.ceil(server_now + lead)
        return datetime.fromtimestamp(boundary - mid, UTC)

    def to_local(self, server_time: datetime) -> datetime:
        """The local instant at which the server's clock shows ``server_time``."""
        return server_time - timedelta(seconds=self.offset)

    def to_server(self, local_time: datetime) -> datetime:
        return local_time + timedelta(seconds=self.offset)

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()


def parse_hh_datetime(value: str) -> datetime:
    """Parses hh.ru's ``2026-11-27T14:19:03+0300`` (also with a colon) to aware UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without a timezone: {value!r}")
    return parsed.astimezone(UTC)


def format_hh_datetime(value: datetime, utc_offset_hours: int = 3) -> str:
    """Formats like hh.ru does: Moscow offset, no colon, whole seconds."""
    local = value.astimezone(timezone(timedelta(hours=utc_offset_hours)))
    return local.strftime("%Y-%m-%dT%H:%M:%S%z")
