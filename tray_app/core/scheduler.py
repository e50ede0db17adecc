"""The background loop: a private ``schedule.Scheduler`` on its own thread.

It sleeps until the next due job rather than polling every second, and wakes at
once for a command (raise now, reload, stop). Sleep is capped by a heartbeat,
because the monotonic clock behind a timed wait stops while the machine sleeps: on
each wake the wall clock is compared with the monotonic one, and a jump (suspend,
clock change, DST) re-plans everything at once. A job's exception is logged and
the loop goes on.

A :class:`Keepalive` (a service manager's watchdog) is beaten from the loop itself,
between jobs: a job that never returns stops the beats, and whoever listens can
restart the process. The core does not know who listens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import schedule

from tray_app.core.clock import Clock
from tray_app.core.engine import AgendaItem, Engine
from tray_app.core.events import Event, PlanChanged

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
CLOCK_JUMP_SECONDS = 2.0
RAISE_TAG = "agenda"
MIN_DELAY = 0.001
CHORE_MIN_WAIT = 60.0
"""Seconds between two runs of a chore at least: one that says "now" again at once
(its work still under way) must not spin the loop."""
CHORE_MAX_WAIT = 3600.0
"""Seconds between two runs of a chore at most, whatever it asked: a changed setting
or a clock that jumped is noticed within the hour."""
T = TypeVar("T")


@dataclass(frozen=True)
class Keepalive:
    """``beat`` is called from the loop at least every ``every`` seconds while the
    loop turns (real time: a watchdog counts real seconds, not the injected clock)."""

    beat: Callable[[], None]
    every: float


class Scheduler:
    """Runs the engine's agenda on time, on one background thread."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        refresh_minutes: Callable[[], int],
        on_wake: Callable[[], None] | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        keepalive: Keepalive | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._refresh_minutes = refresh_minutes
        self._on_wake = on_wake
        self._heartbeat = heartbeat
        self._keepalive = keepalive
        self._last_beat: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._commands: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._commands_lock = threading.Lock()
        self._agenda_dirty = True
        self._thread: threading.Thread | None = None
        self._jobs = schedule.Scheduler()
        self._refresh_job: schedule.Job | None = None
        self._refresh_period: int | None = None
        self._chores: list[tuple[str, Callable[[], datetime], float]] = []
        self.wakeups = 0
        self.chore_runs: Counter[str] = Counter()

    def add_chore(self, name: str, chore: Callable[[], datetime], first_delay: float) -> None:
        """A side job that is not a raise (the update check), before :meth:`start`:
        run ``first_delay`` seconds after the start, then again when it says (an aware
        time on the injected clock), within :data:`CHORE_MIN_WAIT` and
        :data:`CHORE_MAX_WAIT`. It runs on the loop's thread, so it must be quick:
        slow work (a request) is for a thread of its own."""
        self._chores.append((name, chore, first_delay))

    # ---- control from other threads ----------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hh-raiser-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stops after the job in flight (a raise is never cut in half)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, command: Callable[[], T]) -> Future[T]:
        """Runs ``command`` on the scheduler thread as soon as it is free."""
        future: Future[T] = Future()
        with self._commands_lock:
            self._commands.append((command, future))
        self._wake.set()
        return future

    def wake(self) -> None:
        """Re-read settings and re-plan now (a settings change)."""
        self._agenda_dirty = True
        self._wake.set()

    def on_event(self, event: Event) -> None:
        """Subscribed to the engine's bus: a changed plan re-syncs the jobs."""
        if isinstance(event, PlanChanged):
            self._agenda_dirty = True
            if threading.current_thread() is not self._thread:
                self._wake.set()

    # ---- the loop -----------------------------------------------------------------

    def _loop(self) -> None:
        self._beat()
        self._guarded(self._engine.refresh)
        self._schedule_refresh()
        for name, chore, first_delay in self._chores:
            self._schedule_chore(name, chore, first_delay)
        wall, mono = self._clock.now(), self._clock.monotonic()
        while not self._stop.is_set():
            self._beat()
            self._run_commands()
            if self._stop.is_set():
                break
            wall, mono = self._detect_jump(wall, mono)
            if self._agenda_dirty:
                self._sync_jobs()
            self._jobs.run_pending()
            if self._agenda_dirty:
                self._sync_jobs()
            self._beat()
            idle = self._jobs.idle_seconds
            timeout = self._heartbeat if idle is None else min(max(idle, 0.0), self._heartbeat)
            if self._keepalive is not None:
                timeout = min(timeout, self._keepalive.every)
            self._wake.wait(timeout)
            self._wake.clear()
            self.wakeups += 1
            if self._on_wake is not None:
                self._guarded(self._on_wake)
        with self._commands_lock:
            abandoned, self._commands = self._commands, []
        for _, future in abandoned:
            future.cancel()  # the caller learns at once that it will not run

    def _beat(self) -> None:
        """Tells the keepalive the loop turns; at most once per ``every / 4`` (a loop
        woken often by commands sends no flood)."""
        if self._keepalive is None:
            return
        now = time.monotonic()
        if self._last_beat is not None and now - self._last_beat < self._keepalive.every / 4:
            return
        self._last_beat = now
        self._guarded(self._keepalive.beat)

    def _detect_jump(self, wall: datetime, mono: float) -> tuple[datetime, float]:
        """Catches suspend/resume and clock changes; returns the new reference pair."""
        now_wall, now_mono = self._clock.now(), self._clock.monotonic()
        drift = (now_wall - wall).total_seconds() - (now_mono - mono)
        if abs(drift) > CLOCK_JUMP_SECONDS:
            log.info("wall clock moved %.1f s against the monotonic clock; catching up", drift)
            self._guarded(self._engine.clock_jumped)
            self._agenda_dirty = True
        return now_wall, now_mono

    def _run_commands(self) -> None:
        with self._commands_lock:
            commands, self._commands = self._commands, []
        for command, future in commands:
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(command())
            except BaseException as exc:
                log.exception("command failed")
                future.set_exception(exc)
        if commands:
            self._agenda_dirty = True

    def _schedule_refresh(self) -> None:
        """The periodic re-read of the resume list (new resumes appear, deleted go)."""
        if self._refresh_job is not None:
            self._jobs.cancel_job(self._refresh_job)
        minutes = self._refresh_minutes()
        self._refresh_job = self._jobs.every(minutes).minutes.do(
            self._guarded, self._engine.refresh
        )
        self._refresh_job.tag("refresh")
        self._refresh_period = minutes

    def _schedule_chore(self, name: str, chore: Callable[[], datetime], delay: float) -> None:
        def run() -> type[schedule.CancelJob]:
            when: datetime | None = None

            def call() -> None:
                nonlocal when
                when = chore()

            self._guarded(call)
            self.chore_runs[name] += 1
            wait = CHORE_MAX_WAIT
            if when is not None:
                wait = (when - self._clock.now()).total_seconds()
            self._schedule_chore(name, chore, min(max(wait, CHORE_MIN_WAIT), CHORE_MAX_WAIT))
            return schedule.CancelJob

        job = self._jobs.every(max(delay, MIN_DELAY))  # type: ignore[arg-type]  # floats work
        job.seconds.do(run).tag(f"chore:{name}")

    def _sync_jobs(self) -> None:
        """Replaces the one-off jobs with the engine's current agenda."""
        self._agenda_dirty = False
        if self._refresh_minutes() != self._refresh_period:
            self._schedule_refresh()
        self._jobs.clear(RAISE_TAG)
        now = self._clock.now()
        for item, when in self._engine.replan().items():
            # schedule loops forever on a zero interval, hence the floor
            delay = max((when - now).total_seconds(), MIN_DELAY)
            job = self._jobs.every(delay)  # type: ignore[arg-type]  # floats work
            job.seconds.do(self._run_once, item).tag(RAISE_TAG)

    def _run_once(self, item: AgendaItem) -> type[schedule.CancelJob]:
        self._guarded(lambda: self._engine.run_agenda_item(item))
        self._agenda_dirty = True
        return schedule.CancelJob

    @staticmethod
    def _guarded(function: Callable[[], Any]) -> None:
        """A job's exception must never end the loop."""
        try:
            function()
        except Exception:
            log.exception("scheduled job failed; the loop goes on")
