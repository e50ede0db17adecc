"""The scheduler thread against the simulator in real time (short cooldowns)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tray_app.core.clock import Clock
from tray_app.core.engine import AgendaItem, Chore
from tray_app.core.models import Outcome
from tray_app.core.scheduler import HEARTBEAT_SECONDS, Scheduler
from tray_app.simulator.hh import HHSimulator, SimConfig
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.wiring import Runtime

from .conftest import FakeClock, make_runtime

MARGIN = 0.5
A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def park_all(sim: HHSimulator) -> None:
    """Nothing due for an hour: the loop has only idle time ahead."""
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)


Launch = Callable[..., Scheduler]


@pytest.fixture
def launch() -> Iterator[Launch]:
    """Starts schedulers on a runtime's engine; each is stopped after the test."""
    started: list[Scheduler] = []

    def start(
        runtime: Runtime, clock: Clock | None = None, heartbeat: float = HEARTBEAT_SECONDS
    ) -> Scheduler:
        scheduler = Scheduler(
            runtime.engine,
            clock or runtime.clock,
            refresh_minutes=lambda: runtime.settings().refresh_minutes,
            heartbeat=heartbeat,
        )
        runtime.bus.subscribe(scheduler.on_event)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.stop()


@pytest.mark.parametrize("server_offset", [-5.0, 0.0, 5.0])
def test_raises_land_within_a_second_of_window_plus_margin_and_never_early(
    server_offset: float, tmp_path: object, keyring_backend: MemoryKeyring, launch: Launch
) -> None:
    sim = HHSimulator(SimConfig(cooldown=3.0, clock_offset=server_offset)).start()
    try:
        environ = {
            "HH_RAISER_HOME": f"{tmp_path}/home",
            "HH_RAISER_API_URL": sim.url,
            "HH_RAISER_OAUTH_URL": sim.url,
        }
        runtime = make_runtime(environ, keyring_backend, sim, margin_seconds=MARGIN)
        launch(runtime)
        time.sleep(14)
        accepted = [p for p in sim.publishes if p.accepted]
        assert len(accepted) >= 6
        assert sim.premature_publishes() == []
        for publish in accepted:
            assert publish.window is not None
            lag = (publish.at - publish.window).total_seconds() - MARGIN
            assert 0 <= lag < 1.0, f"lag {lag:.3f}s with server offset {server_offset}"
    finally:
        sim.stop()


def test_raise_now_wakes_the_sleeping_loop_at_once(
    runtime: Runtime, sim: HHSimulator, launch: Launch
) -> None:
    park_all(sim)
    scheduler = launch(runtime)
    assert started_and_idle(scheduler)
    sim.open_window(A, in_seconds=-3)
    began = time.monotonic()
    results = scheduler.submit(lambda: runtime.engine.raise_now(A)).result(timeout=10)
    assert time.monotonic() - began < 1.0
    assert [r.outcome for r in results] == [Outcome.RAISED]  # type: ignore[union-attr]


def test_idle_loop_does_not_poll(runtime: Runtime, sim: HHSimulator, launch: Launch) -> None:
    park_all(sim)
    scheduler = launch(runtime)
    # after start-up the clock probes (a handful, a second apart) end, then quiet
    assert wait_until(
        lambda: scheduler._jobs.jobs and Chore.CLOCK_PROBE not in runtime.engine.agenda()
    )
    time.sleep(0.2)
    before = scheduler.wakeups
    time.sleep(3)
    assert scheduler.wakeups - before == 0


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def started_and_idle(scheduler: Scheduler) -> bool:
    return wait_until(lambda: scheduler.wakeups > 0 or scheduler._jobs.jobs)


def test_a_failing_job_does_not_end_the_loop(
    runtime: Runtime, sim: HHSimulator, launch: Launch
) -> None:
    calls: list[AgendaItem] = []
    original = runtime.engine.run_agenda_item

    def flaky(item: AgendaItem) -> None:
        calls.append(item)
        if len(calls) == 1:
            raise RuntimeError("boom")
        original(item)

    runtime.engine.run_agenda_item = flaky  # type: ignore[method-assign]
    scheduler = launch(runtime)
    assert wait_until(lambda: any(p.accepted for p in sim.publishes))
    assert scheduler.running and len(calls) >= 2


def test_clock_jump_triggers_a_catch_up(runtime: Runtime, sim: HHSimulator, launch: Launch) -> None:
    clock = FakeClock()
    jumps = threading.Event()
    runtime.engine.clock_jumped = jumps.set  # type: ignore[method-assign]
    scheduler = launch(runtime, clock, heartbeat=0.05)
    assert wait_until(lambda: scheduler.wakeups > 2)
    assert not jumps.is_set()
    clock.advance(3600, wall_only=True)  # the machine slept an hour
    assert jumps.wait(2)


def test_stop_waits_for_the_raise_in_flight(
    runtime: Runtime, sim: HHSimulator, launch: Launch
) -> None:
    park_all(sim)
    scheduler = launch(runtime)
    assert started_and_idle(scheduler)
    sim.open_window(A, in_seconds=-3)
    sim.inject("hold", f"/resumes/{A}/publish", seconds=1.0)
    future = scheduler.submit(lambda: runtime.engine.raise_now(A))
    assert wait_until(lambda: sim.calls("POST", f"/resumes/{A}/publish"))
    scheduler.stop()
    assert not scheduler.running
    assert future.done() and [r.outcome for r in future.result()] == [Outcome.RAISED]  # type: ignore[union-attr]


def test_5xx_timeouts_and_garbage_never_stop_the_loop(
    runtime: Runtime, sim: HHSimulator, launch: Launch
) -> None:
    b = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
    scheduler = launch(runtime)
    assert wait_until(lambda: any(p.accepted and p.resume_id == b for p in sim.publishes))
    sim.inject("500", f"/resumes/{A}/publish")
    sim.inject("garbage", "/resumes/mine", times=2)
    sim.inject("timeout", "/resumes/mine", seconds=2.5)
    sim.inject("drop", "/resumes/mine")
    before = len([p for p in sim.publishes if p.resume_id == b])
    # A's failed raise waits out its back-off; B keeps its rhythm through the faults
    assert wait_until(lambda: len([p for p in sim.publishes if p.resume_id == b]) >= before + 3, 30)
    assert scheduler.running
    assert sim.faults == []  # every injected fault was met
