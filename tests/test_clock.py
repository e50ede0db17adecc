"""Server-clock estimation: bounds from Date headers, never early, quick to converge."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest

from tray_app.core.clock import ServerClock, parse_hh_datetime, skew_sample


def exchange(
    true_offset: float, local_send: float, rtt: float, stamp_at: float
) -> tuple[str, datetime, datetime]:
    """One request: the server stamps Date (whole seconds) at a point inside the trip."""
    server_stamp = local_send + rtt * stamp_at + true_offset
    date = formatdate(server_stamp, usegmt=True)  # formatdate truncates to seconds
    sent = datetime.fromtimestamp(local_send, UTC)
    received = datetime.fromtimestamp(local_send + rtt, UTC)
    return date, sent, received


def test_sample_bounds_contain_the_true_offset() -> None:
    rng = random.Random(7)
    for _ in range(500):
        offset = rng.uniform(-600, 600)
        date, sent, received = exchange(
            offset, 1_800_000_000 + rng.random() * 1000, rng.uniform(0, 0.3), rng.random()
        )
        sample = skew_sample(date, sent, received)
        assert sample is not None
        assert sample.low <= offset <= sample.high + 1e-6


@pytest.mark.parametrize("offset", [-5.0, -0.4, 0.0, 0.3, 5.0, 123.7])
def test_estimate_never_places_a_server_time_early_and_converges(offset: float) -> None:
    rng = random.Random(int(offset * 10))
    clock = ServerClock()
    local = 1_800_000_000.123
    for _ in range(12):
        local += rng.uniform(1, 50)
        clock.add(skew_sample(*exchange(offset, local, 0.02, rng.random())))  # type: ignore[arg-type]
        assert clock.offset <= offset + 1e-6  # lower bound: converted times are never early
    assert offset - clock.offset < 0.25


def test_probes_timed_on_second_boundaries_halve_the_uncertainty() -> None:
    offset = 0.637
    clock = ServerClock()
    local = 1_800_000_000.0
    clock.add(skew_sample(*exchange(offset, local, 0.01, 0.5)))  # type: ignore[arg-type]
    first = clock.uncertainty
    for _ in range(4):
        probe = clock.next_probe(datetime.fromtimestamp(local, UTC)).timestamp()
        local = probe
        clock.add(skew_sample(*exchange(offset, local, 0.01, 0.5)))  # type: ignore[arg-type]
    assert first > 0.9
    assert clock.uncertainty < 0.1
    assert clock.offset <= offset


def test_contradicting_sample_after_a_clock_jump_starts_over() -> None:
    clock = ServerClock()
    clock.add(skew_sample(*exchange(0.0, 1_800_000_000.5, 0.01, 0.5)))  # type: ignore[arg-type]
    clock.add(skew_sample(*exchange(3600.0, 1_800_000_100.5, 0.01, 0.5)))  # type: ignore[arg-type]
    assert 3599 <= clock.offset <= 3600


def test_conversion_uses_the_offset() -> None:
    clock = ServerClock()
    clock.add(skew_sample(*exchange(10.0, 1_800_000_000.0, 0.0, 0.0)))  # type: ignore[arg-type]
    server = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    assert clock.to_local(server) == server - timedelta(seconds=clock.offset)
    assert clock.to_server(clock.to_local(server)) == server


def test_unparseable_date_is_ignored() -> None:
    assert skew_sample("yesterday", datetime.now(UTC), datetime.now(UTC)) is None


@pytest.mark.parametrize(
    "text",
    ["2026-11-27T14:19:03+0300", "2026-11-27T14:19:03+03:00", "2026-11-27T11:19:03+0000"],
)
def test_hh_dates_parse_to_utc(text: str) -> None:
    assert parse_hh_datetime(text) == datetime(2026, 11, 27, 11, 19, 3, tzinfo=UTC)


def test_naive_date_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_hh_datetime("2026-11-27T14:19:03")
