"""The planner's rules: margin, jitter, anchor time, active hours, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tray_app.core.planner import PlanRules, in_active_hours, plan_raise

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
FOUR_H = timedelta(hours=4)


def msk(hour: int, minute: int = 0, second: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=MSK).astimezone(UTC)


def test_window_plus_margin() -> None:
    rules = PlanRules(margin=timedelta(seconds=5), tz=MSK)
    assert plan_raise(msk(10), rules, now=msk(9)) == msk(10, 0, 5)


def test_zero_and_fractional_margin() -> None:
    assert plan_raise(msk(10), PlanRules(margin=timedelta(0), tz=MSK), now=msk(9)) == msk(10)
    planned = plan_raise(msk(10), PlanRules(margin=timedelta(seconds=0.5), tz=MSK), now=msk(9))
    assert planned == msk(10) + timedelta(seconds=0.5)


def test_overdue_window_raises_now() -> None:
    assert plan_raise(msk(10), PlanRules(tz=MSK), now=msk(11)) == msk(11)


def test_jitter_only_delays() -> None:
    rules = PlanRules(margin=timedelta(seconds=5), tz=MSK)
    planned = plan_raise(msk(10), rules, now=msk(9), jitter=timedelta(seconds=40))
    assert planned == msk(10, 0, 45)


def test_anchor_shifts_the_chain_once_then_follows_it() -> None:
    rules = PlanRules(margin=timedelta(seconds=5), anchor=time(9, 0), tz=MSK)
    # the chain runs at 10:30, 14:30, ...; slots are 09:00, 13:00, 17:00: shift to 17:00
    first = plan_raise(msk(14, 30), rules, now=msk(12), interval=FOUR_H)
    assert first == msk(17)
    # the following windows (17:00:00 + 4 h) stay on the chain despite margin drift
    second = plan_raise(msk(21, 0, 0), rules, now=msk(20), interval=FOUR_H)
    assert second == msk(21, 0, 5)
    third = plan_raise(msk(1, 0, 6, day=28), rules, now=msk(0, day=28), interval=FOUR_H)
    assert third == msk(1, 0, 11, day=28)
    # so one raise a day lands at the anchor time (plus the accumulated margin)
    ninth = plan_raise(msk(9, 0, 20, day=28), rules, now=msk(8, day=28), interval=FOUR_H)
    assert ninth == msk(9, 0, 25, day=28)


def test_anchor_never_moves_a_raise_earlier() -> None:
    rules = PlanRules(margin=timedelta(0), anchor=time(9, 0), tz=MSK)
    for minute in range(0, 240, 7):
        window = msk(9) + timedelta(minutes=minute)
        assert plan_raise(window, rules, now=msk(8), interval=FOUR_H) >= window


def test_active_hours_move_a_raise_to_the_window_start() -> None:
    rules = PlanRules(margin=timedelta(seconds=5), active_hours=(time(8, 0), time(23, 0)), tz=MSK)
    assert plan_raise(msk(2), rules, now=msk(1)) == msk(8)
    assert plan_raise(msk(12), rules, now=msk(11)) == msk(12, 0, 5)
    assert plan_raise(msk(23, 30), rules, now=msk(22)) == msk(8, day=28)


def test_active_hours_wrapping_midnight() -> None:
    window = (time(22, 0), time(2, 0))
    assert in_active_hours(msk(23), window, MSK)
    assert in_active_hours(msk(1, 59), window, MSK)
    assert not in_active_hours(msk(2), window, MSK)
    assert not in_active_hours(msk(12), window, MSK)
    rules = PlanRules(margin=timedelta(0), active_hours=window, tz=MSK)
    assert plan_raise(msk(12), rules, now=msk(11)) == msk(22)


def test_active_hours_follow_daylight_saving_time() -> None:
    # Berlin switches to summer time on 2027-03-28 at 02:00 -> 03:00
    rules = PlanRules(margin=timedelta(0), active_hours=(time(8, 0), time(20, 0)), tz=BERLIN)
    window = datetime(2027, 3, 27, 21, 0, tzinfo=BERLIN).astimezone(UTC)
    planned = plan_raise(window, rules, now=window)
    assert planned.astimezone(BERLIN) == datetime(2027, 3, 28, 8, 0, tzinfo=BERLIN)
    assert planned.astimezone(BERLIN).utcoffset() == timedelta(hours=2)
