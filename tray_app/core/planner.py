"""When to raise a resume: pure functions of the server's window and the user's rules.

The window comes from hh.ru's dates (:func:`hh_window`: ``next_publish_at``, or the last
raise + 4 h on the website), converted to our clock by :class:`ServerClock`; margin and
jitter push it later; an anchor time shifts the 4-hour chain once so that one raise a
day lands at the chosen local time; active hours move a raise to the next allowed local
time. Nothing here ever moves a raise earlier than the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from tray_app.core.models import Resume

DEFAULT_INTERVAL = timedelta(hours=4)
MAX_ANCHOR_DRIFT = timedelta(minutes=15)
"""A chain that runs this much behind its anchor slot is shifted to the next slot.

Each raise comes a few seconds after the window (margin, network), and hh.ru counts
the next window from the raise, so an aligned chain drifts later by about
6 x margin a day; it is re-aligned (one long wait) only when the drift passes this.
"""


LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def hh_window(resume: Resume) -> datetime:
    """When hh.ru allows the next raise, on its clock: ``next_publish_at`` (API) or
    last raise + 4 h (site), whatever ``can_publish_or_update`` says. A live resume
    without either is taken as due: hh.ru's answer to the raise decides."""
    if resume.next_publish_at is not None:
        return resume.next_publish_at
    if resume.updated_at is not None:
        return resume.updated_at + DEFAULT_INTERVAL
    return LONG_AGO


def hh_interval(resume: Resume) -> timedelta:
    """hh.ru's cooldown as its own dates show it (4 h today), for the anchor and for
    when a refused resume is asked again."""
    last, window = resume.updated_at, resume.next_publish_at
    if last and window and window > last:
        return window - last
    return DEFAULT_INTERVAL


@dataclass(frozen=True)
class PlanRules:
    margin: timedelta = timedelta(seconds=5)
    anchor: time | None = None
    active_hours: tuple[time, time] | None = None
    tz: tzinfo | None = None  # None: the system's local zone, DST included


def to_local(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def local_moment(day: date, at: time, tz: tzinfo | None) -> datetime:
    """``at`` o'clock on ``day`` in the user's zone, as an aware datetime."""
    if tz is not None:
        return datetime.combine(day, at, tzinfo=tz)
    return datetime.combine(day, at).astimezone()


def align_to_anchor(
    candidate: datetime, anchor: time, interval: timedelta, tz: tzinfo | None
) -> datetime:
    """The candidate, or the next slot of ``anchor + k x interval`` if the chain is off it."""
    base = local_moment(to_local(candidate, tz).date(), anchor, tz)
    k = math.ceil((candidate - base) / interval)
    next_slot = base + k * interval
    previous_slot = next_slot - interval
    drift_allowed = min(MAX_ANCHOR_DRIFT, interval / 8)
    if candidate == next_slot or candidate - previous_slot <= drift_allowed:
        return candidate
    return next_slot


def in_active_hours(moment: datetime, window: tuple[time, time], tz: tzinfo | None) -> bool:
    start, end = window
    clock = to_local(moment, tz).time().replace(tzinfo=None)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # wraps midnight


def next_active_start(moment: datetime, window: tuple[time, time], tz: tzinfo | None) -> datetime:
    if in_active_hours(moment, window, tz):
        return moment
    day = to_local(moment, tz).date()
    for offset in range(3):
        start = local_moment(day + timedelta(days=offset), window[0], tz)
        if start > moment:
            return start
    raise AssertionError("an active window starts within two days")


def plan_raise(
    window: datetime,
    rules: PlanRules,
    *,
    now: datetime,
    jitter: timedelta = timedelta(0),
    interval: timedelta = DEFAULT_INTERVAL,
) -> datetime:
    """The local (UTC) moment to raise a resume whose window opens at ``window``."""
    candidate = max(window + rules.margin + jitter, now)
    if rules.anchor is not None and interval > timedelta(0):
        candidate = align_to_anchor(candidate, rules.anchor, interval, rules.tz)
    if rules.active_hours is not None:
        candidate = next_active_start(candidate, rules.active_hours, rules.tz)
    return candidate


def next_daily(at: time, after: datetime, tz: tzinfo | None) -> datetime:
    """The first ``at`` o'clock (user's zone) strictly after ``after`` (the digest)."""
    day = to_local(after, tz).date()
    for offset in range(3):
        moment = local_moment(day + timedelta(days=offset), at, tz)
        if moment > after:
            return moment
    raise AssertionError("a daily time comes within two days")


def backoff(failures: int, first: float, cap: float) -> timedelta:
    """``first`` seconds, doubled for each failure after the first, at most ``cap``."""
    return timedelta(seconds=min(first * 2 ** max(failures - 1, 0), cap))
