"""The engine: decides what to raise, raises it, verifies it, and reports events.

Whom we act as lives in :mod:`~tray_app.core.auth_gate`, the clock probes in
:mod:`~tray_app.core.calibration`, the arithmetic of a raise time in
:mod:`~tray_app.core.planner`; the engine keeps one track per resume and turns
hh.ru's answers into plans, history lines and events.

It runs on the scheduler's thread (and on a CLI's main thread for one-shot
commands); :meth:`Engine.snapshot` may be called from any thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from enum import Enum

from tray_app.core.auth_gate import AuthGate
from tray_app.core.calibration import ClockCalibrator
from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import (
    BotCheck,
    ConnectionFailed,
    NotPublishable,
    RateLimited,
    RemoteError,
    TooEarly,
    TransientError,
)
from tray_app.core.events import (
    ConnectionRestored,
    EventBus,
    PlanChanged,
    RaiseAttempted,
    RaiseStarted,
    ResumesChanged,
    ResumeSkipped,
    TransientFailure,
)
from tray_app.core.faults import crash_point
from tray_app.core.models import Attempt, AuthState, InFlight, Outcome, Resume
from tray_app.core.planner import PlanRules, backoff, hh_interval, hh_window, plan_raise
from tray_app.core.ports import AttemptLog, InFlightLog, PlanSettings, Transport
from tray_app.core.redact import redactor
from tray_app.core.views import NotDue, ResumeStatus, Snapshot

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0
LIST_BACKOFF_FIRST = 5.0  # reading is harmless: retry it sooner than a raise
NOT_RAISED_RETRY_FIRST = 1.5
"""A raise that failed and that a re-read proves did not happen is retried this soon
(doubling): nothing can be raised twice, and a lost minute is a lost place."""
BACKOFF_MAX = 15 * 60.0
TOO_EARLY_STEP = timedelta(seconds=10)
VERIFY_DELAYS = (0.0, 3.0)
"""Re-reads after a publish; a second one in case hh.ru's list lags behind."""


class Chore(Enum):
    """Agenda items that are not a resume's raise."""

    REFRESH = "refresh"  # re-read the list: after a back-off, or when a verdict's wait ends
    CLOCK_PROBE = "clock-probe"  # narrow the server-clock estimate


AgendaItem = str | Chore
"""A resume id (raise it) or a :class:`Chore`."""


def retry_delay(failures: int, first: float = BACKOFF_FIRST) -> timedelta:
    return backoff(failures, first, BACKOFF_MAX)


def _moved(after: datetime | None, before: datetime | None) -> bool:
    return after is not None and (before is None or after > before)


def _raised_between(before: Resume, after: Resume) -> bool:
    """hh.ru's dates moved: the resume was raised between the two reads."""
    return _moved(after.updated_at, before.updated_at) or _moved(
        after.next_publish_at, before.next_publish_at
    )


@dataclass
class _Track:
    """What the engine knows and decided about one resume."""

    resume: Resume
    next_raise_at: datetime | None = None
    last_raise_at: datetime | None = None
    last_outcome: Outcome | None = None
    reported_signature: tuple[object, ...] | None = None  # unpublishable state already told
    refused_until: datetime | None = None  # hh.ru refused (400): asked again at this window
    unsure: bool = False  # a raise got no answer and no re-read has shown what happened
    failures: int = 0
    too_early_streak: int = 0
    retry_at: datetime | None = None
    jitter: timedelta = timedelta(0)
    jitter_for: tuple[datetime | None, float] | None = None  # (window, setting) it was drawn for


@dataclass
class EngineOptions:
    tz: tzinfo | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    calibrate: bool = True  # one-shot CLI commands skip the clock probes


class _NothingInFlight:
    """No raise is remembered across processes (a core without a data folder)."""

    def pending(self) -> list[InFlight]:
        return []

    def begin(self, raise_: InFlight) -> None:
        pass

    def end(self, resume_id: str) -> None:
        pass


class Engine:
    """Raises every enabled resume as soon as hh.ru allows."""

    def __init__(
        self,
        transport: Transport,
        settings: Callable[[], PlanSettings],
        history: AttemptLog,
        bus: EventBus,
        clock: Clock,
        server_clock: ServerClock,
        options: EngineOptions | None = None,
        in_flight: InFlightLog | None = None,
    ) -> None:
        self.transport = transport
        self._in_flight = in_flight or _NothingInFlight()
        self._settings = settings
        self._history = history
        self._bus = bus
        self._clock = clock
        self._server_clock = server_clock
        self._options = options or EngineOptions()
        self._tracks: dict[str, _Track] = {}
        self._gate = AuthGate(bus, clock)
        self._calibrator = ClockCalibrator(server_clock, enabled=self._options.calibrate)
        self._list_failures = 0
        self._list_retry_at: datetime | None = None
        self._lock = threading.RLock()
        self._last_agenda: dict[AgendaItem, datetime] = {}
        past = history.read()
        self._past = {a.resume_id: a for a in past}  # the latest attempt per resume
        self._past_raises = {a.resume_id: a.at for a in past if a.outcome is Outcome.RAISED}
        self._list_error: str | None = None
        try:
            self._unsettled = {f.resume_id: f for f in self._in_flight.pending()}
        except OSError:
            log.exception("could not read the raises in flight")
            self._unsettled = {}

    # ---- reading hh.ru ------------------------------------------------------------

    def refresh(self, *, told_by_caller: str | None = None) -> bool:
        """Re-reads the resume list; True when it worked. Errors are handled here.

        ``told_by_caller``: a resume whose unraisable state the caller reports itself
        (a refused raise), so it is not reported twice."""
        try:
            resumes = self.transport.list_resumes()
        except RemoteError as exc:
            self._list_failed(exc)
            return False
        restored = self._list_failures > 0
        self._list_failures = 0
        self._list_retry_at = None
        self._list_error = None
        if restored:
            self._bus.publish(ConnectionRestored())
        self._merge(resumes, told_by_caller=told_by_caller)
        self._gate.set(AuthState.OK)
        self._settle_in_flight()
        self.replan()
        return True

    def _list_failed(self, exc: RemoteError) -> None:
        now = self._clock.now()
        if self._handle_auth_error(exc):
            return
        self._list_failures += 1
        self._list_retry_at = now + retry_delay(self._list_failures, LIST_BACKOFF_FIRST)
        self._list_error = redactor(str(exc))
        log.warning("could not read the resume list: %s", self._list_error)
        self._bus.publish(TransientFailure(self._list_error, self._list_retry_at))
        self.replan()

    def _merge(self, resumes: list[Resume], *, told_by_caller: str | None = None) -> None:
        settings = self._settings()
        with self._lock:
            before = {rid: t.resume for rid, t in self._tracks.items()}
            fresh: dict[str, _Track] = {}
            for resume in resumes:
                track = self._tracks.get(resume.id) or self._new_track(resume)
                if track.resume.state_signature != resume.state_signature:
                    track.reported_signature = None
                    track.refused_until = None  # the resume changed: ask hh.ru again
                if _raised_between(track.resume, resume):
                    # raised after all (an unconfirmed or failed attempt, or by hand on
                    # the site): the new window rules, not the back-off
                    track.failures = track.too_early_streak = 0
                    track.retry_at = track.refused_until = None
                track.unsure = False  # this read shows whether an unanswered raise happened
                track.resume = resume
                fresh[resume.id] = track
            self._tracks = fresh
        for rid in before.keys() - fresh.keys():
            log.info("resume %s is gone from the list", rid)
        if {r.id: r.title for r in before.values()} != {r.id: r.title for r in resumes}:
            self._bus.publish(ResumesChanged(tuple(resumes)))
        for track in fresh.values():
            if track.resume.id == told_by_caller:
                continue
            if settings.is_enabled(track.resume.id) and not track.resume.raisable:
                self._report_unpublishable(track, track.resume.standing.value)

    def _new_track(self, resume: Resume) -> _Track:
        past = self._past.get(resume.id)
        return _Track(
            resume=resume,
            last_raise_at=self._past_raises.get(resume.id),
            last_outcome=past.outcome if past else None,
        )

    def _report_unpublishable(
        self,
        track: _Track,
        reason: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        attempted: bool = False,
    ) -> Attempt | None:
        """Told once per state and reason: a history line and an event, then silence
        until it changes. A refused raise (``attempted``) always gets its history line."""
        key = (track.resume.state_signature, reason)
        if track.reported_signature == key and not attempted:
            return None
        attempt = self._record(
            track, Outcome.NOT_PUBLISHABLE, status=status, request_id=request_id, detail=reason
        )
        if track.reported_signature != key:
            track.reported_signature = key
            self._bus.publish(ResumeSkipped(track.resume, reason))
        return attempt

    # ---- auth ---------------------------------------------------------------------

    def _handle_auth_error(self, exc: RemoteError) -> bool:
        """Moves to the auth state an error calls for; False if it is not one."""
        if not self._gate.absorb(exc):
            return False
        self.replan()
        return True

    def clock_jumped(self) -> None:
        """The machine slept or its clock changed: old skew samples lie; re-read now."""
        self._calibrator.restart()
        self.refresh()

    def credentials_changed(self) -> None:
        """New credentials were stored (login, import, a switch of transport or site):
        forget the auth verdict, re-read."""
        self.transport.credentials_changed()
        self._gate.forget()
        self.refresh()

    def mark_not_configured(self) -> None:
        self._gate.set(AuthState.NOT_CONFIGURED, "no hh.ru account is set up")

    @property
    def auth_state(self) -> AuthState:
        return self._gate.state

    # ---- planning -----------------------------------------------------------------

    def _rules(self, settings: PlanSettings) -> PlanRules:
        return PlanRules(
            margin=timedelta(seconds=settings.margin_seconds),
            anchor=settings.anchor,
            active_hours=settings.active_window,
            tz=self._options.tz,
        )

    def _jitter(self, track: _Track, settings: PlanSettings) -> timedelta:
        """One random jitter per window (and setting), so re-planning does not move it."""
        key = (track.resume.next_publish_at, settings.jitter_seconds)
        if track.jitter_for != key:
            track.jitter = timedelta(seconds=self._options.rng.uniform(0, settings.jitter_seconds))
            track.jitter_for = key
        return track.jitter

    def _plan(self, track: _Track, settings: PlanSettings, now: datetime) -> datetime | None:
        resume = track.resume
        if (
            settings.paused
            or self._gate.holds_raises
            or not settings.is_enabled(resume.id)
            or not resume.raisable
            or track.unsure  # wait for the re-read that shows whether it happened
        ):
            return None
        planned = plan_raise(
            self._server_clock.to_local(hh_window(resume)),
            self._rules(settings),
            now=now,
            jitter=self._jitter(track, settings),
            interval=hh_interval(resume),
        )
        for later in (track.retry_at, track.refused_until):
            if later is not None and later > planned:
                planned = later
        if planned <= now and track.next_raise_at is not None and track.next_raise_at <= now:
            planned = track.next_raise_at  # already overdue: keep the time, or every
            # re-plan would move it to "now" and the scheduler would chase it
        return planned

    def replan(self) -> dict[AgendaItem, datetime]:
        """Recomputes every next raise; publishes :class:`PlanChanged` if any moved."""
        settings = self._settings()
        now = self._clock.now()
        with self._lock:
            for track in self._tracks.values():
                track.next_raise_at = self._plan(track, settings, now)
            agenda: dict[AgendaItem, datetime] = {
                rid: t.next_raise_at for rid, t in self._tracks.items() if t.next_raise_at
            }
        retry = self._list_retry_at or self._gate.retry_at
        if not self._gate.state.blocks_raising:
            if retry is not None:
                agenda[Chore.REFRESH] = retry
            probe = self._calibrator.due(now)
            if probe is not None and self._gate.state is AuthState.OK:
                agenda[Chore.CLOCK_PROBE] = probe  # an item of its own: raises never wait
        if agenda != self._last_agenda:
            self._last_agenda = dict(agenda)
            self._bus.publish(PlanChanged())
        return agenda

    def resumes(self) -> list[Resume]:
        """The resumes as hh.ru last listed them (hh.ru's words, our standing)."""
        with self._lock:
            return [t.resume for t in self._tracks.values()]

    @property
    def list_error(self) -> str | None:
        """Why the last read of the list failed (redacted), or None if it worked."""
        return self._list_error

    def next_raise_at(self, resume_id: str) -> datetime | None:
        track = self._tracks.get(resume_id)
        return track.next_raise_at if track else None

    def agenda(self) -> dict[AgendaItem, datetime]:
        """What the scheduler should run and when: resume ids and chores."""
        return dict(self._last_agenda)

    def run_agenda_item(self, item: AgendaItem) -> None:
        """The scheduler's entry point for a one-off job from :meth:`agenda`."""
        if item is Chore.REFRESH:
            self._gate.end_wait()
            self.refresh()
        elif item is Chore.CLOCK_PROBE:
            self._calibrator.probe(self.transport)
            self.replan()
        else:
            self.raise_due(item)

    # ---- raising ------------------------------------------------------------------

    def raise_due(self, resume_id: str) -> Attempt | None:
        """Raises the resume if its planned time has come (re-checked here, so a
        stale job or a clock jump can never cause an early publish)."""
        track = self._tracks.get(resume_id)
        if track is None:
            return None
        now = self._clock.now()
        planned = self._plan(track, self._settings(), now)
        if planned is None or planned > now:
            self.replan()
            return None
        return self._raise(track)

    def raise_now(self, resume_id: str | None = None) -> list[Attempt | NotDue]:
        """The user asked: re-read the list, raise what is due, say when the rest is."""
        if self._gate.state is not AuthState.NOT_CONFIGURED:
            self._gate.forget()  # the user asked: re-check an earlier captcha or refusal
        if not self.refresh() and not self._tracks:
            return [self._auth_attempt(resume_id or "*")]
        settings = self._settings()
        results: list[Attempt | NotDue] = []
        targets = [
            t
            for t in list(self._tracks.values())
            if (t.resume.id == resume_id if resume_id else settings.is_enabled(t.resume.id))
        ]
        if resume_id and not targets:
            return [Attempt(self._clock.now(), resume_id, Outcome.FAILED, detail="unknown resume")]
        for track in targets:
            if (
                self._gate.holds_raises
                or track.unsure  # the list could not be read to see an earlier raise
            ):
                results.append(self._auth_attempt(track.resume.id))
                continue
            resume = track.resume
            if not resume.raisable:
                results.append(
                    Attempt(
                        self._clock.now(),
                        resume.id,
                        Outcome.NOT_PUBLISHABLE,
                        detail=resume.standing.value,
                        title=resume.title,
                    )
                )
                continue
            window = self._server_clock.to_local(hh_window(resume))
            if window > self._clock.now():
                results.append(NotDue(resume.id, resume.title, track.next_raise_at or window))
                continue
            track.retry_at = track.refused_until = None  # the user asks hh.ru again
            results.append(self._raise(track))
        return results

    def _auth_attempt(self, resume_id: str) -> Attempt:
        """An attempt that the auth state (or an unreadable list) stopped before sending."""
        outcome = self._gate.blocked_outcome()
        detail = self._list_error if outcome is Outcome.FAILED else self._gate.detail
        return Attempt(self._clock.now(), resume_id, outcome, detail=detail)

    def _raise(self, track: _Track) -> Attempt:
        """Sends the raise with its record in flight on disk, cleared once the outcome
        is in the history (see :meth:`_settle_in_flight` for a process that died)."""
        before = track.resume
        started = self._clock.now()  # the attempt's time, not the end of verification
        flight = InFlight(
            before.id, before.title, started, before.updated_at, before.next_publish_at
        )
        try:
            self._in_flight.begin(flight)
        except OSError:  # never a reason not to raise; only a crash now would cost a line
            log.exception("could not note the raise in flight")
        try:
            return self._send_raise(track, started)
        finally:
            self._end_in_flight(before.id)

    def _end_in_flight(self, resume_id: str) -> None:
        try:
            self._in_flight.end(resume_id)
        except OSError:
            log.exception("could not clear the raise in flight")

    def _settle_in_flight(self) -> None:
        """Raises a killed process sent but never wrote down (read at start, so this
        process's own raises in flight are never among them): hh.ru's dates, read now
        against those it had before, show whether each happened; one that did gets
        its history line and event as if the process had lived."""
        for flight in list(self._unsettled.values()):
            track = self._tracks.get(flight.resume_id)
            if track is None:
                log.info(
                    "a raise of %s sent before a restart: the resume is gone", flight.resume_id
                )
            elif (past := self._past.get(flight.resume_id)) is not None and past.at == flight.at:
                pass  # its outcome was written; only the clearing was cut off
            else:
                before = replace(
                    track.resume,
                    updated_at=flight.updated_at,
                    next_publish_at=flight.next_publish_at,
                )
                happened = _raised_between(before, track.resume)
                log.info(
                    "resume %s: the raise sent at %s before a restart %s",
                    flight.resume_id,
                    flight.at.isoformat(),
                    "happened (hh.ru's dates moved); recorded now"
                    if happened
                    else "did not happen (hh.ru's dates did not move)",
                    extra={"event": "raise_settled", "resume": flight.resume_id},
                )
                if happened:
                    self._raised(track, flight.at)
                    self._record(track, Outcome.RAISED, at=flight.at)
            del self._unsettled[flight.resume_id]
            self._end_in_flight(flight.resume_id)

    def _send_raise(self, track: _Track, started: datetime) -> Attempt:
        before = track.resume
        log.info(
            "raising %s (%s)",
            before.id,
            before.title,
            extra={"event": "raising", "resume": before.id},
        )
        try:
            receipt = self.transport.publish(before.id)
            crash_point("after_publish_response")
        except TooEarly as exc:
            # re-read for the real window; if hh.ru's list still says "now", wait a
            # little longer each time instead of asking again at once
            track.too_early_streak += 1
            track.retry_at = self._clock.now() + min(
                TOO_EARLY_STEP * track.too_early_streak, timedelta(seconds=BACKOFF_MAX)
            )
            self.refresh()
            return self._record(track, Outcome.TOO_EARLY, exc=exc, at=started)
        except NotPublishable as exc:
            return self._refused(track, exc)
        except RemoteError as exc:
            return self._raise_failed(track, exc, started)
        self._bus.publish(RaiseStarted(before.id))
        confirmed = self._verify(before)
        outcome = Outcome.RAISED if confirmed else Outcome.UNCONFIRMED
        if confirmed:
            self._raised(track, started)
        else:
            track.failures += 1
            track.retry_at = self._clock.now() + retry_delay(track.failures)
        return self._record(
            track, outcome, status=receipt.status, request_id=receipt.request_id, at=started
        )

    def _raised(self, track: _Track, at: datetime) -> None:
        track.failures = track.too_early_streak = 0
        track.retry_at = track.refused_until = None
        track.reported_signature = None  # a later refusal is news again
        track.last_raise_at = at

    def _refused(self, track: _Track, exc: NotPublishable) -> Attempt:
        """400 on publish: re-read to learn why, tell the user (once per reason), and
        ask hh.ru again at the resume's next window: the verdict is not frozen."""
        self.refresh(told_by_caller=track.resume.id)
        track = self._tracks.get(track.resume.id, track)
        if track.resume.raisable:
            track.refused_until = self._clock.now() + hh_interval(track.resume)
            reason = "refused"
        else:
            reason = track.resume.standing.value
        attempt = self._report_unpublishable(
            track, reason, status=exc.status, request_id=exc.request_id, attempted=True
        )
        self.replan()
        assert attempt is not None
        return attempt

    def _raise_failed(self, track: _Track, exc: RemoteError, started: datetime) -> Attempt:
        """No raise came of it, as far as we know. When hh.ru answered with an error,
        a re-read at once tells whether the raise happened: if it provably did not,
        it is retried within seconds. When no answer came, hh.ru may still be acting
        on the request: nothing is sent until a read a moment later shows which."""
        resume_id = track.resume.id
        if self._handle_auth_error(exc):
            if isinstance(exc, BotCheck):
                track.unsure = True  # a dropped touch may have been taken
            outcome = self._auth_attempt(resume_id).outcome
            return self._record(track, outcome, exc=exc, at=started)
        track.failures += 1
        now = self._clock.now()
        if isinstance(exc, RateLimited):  # hh.ru asks to slow down: no re-read either
            track.retry_at = now + retry_delay(track.failures)
            return self._record(track, Outcome.FAILED, exc=exc, at=started)
        if not isinstance(exc, TransientError):  # refused for a reason of its own
            track.retry_at = now + retry_delay(track.failures)
            attempt = self._record(track, Outcome.FAILED, exc=exc, at=started)
            self.refresh()  # a deleted resume goes, a changed one is re-planned
            return attempt
        happened: bool | None = None  # no answer: ask the list again in a moment
        if isinstance(exc, ConnectionFailed) and not exc.reached_server:
            happened = False  # it never left this machine
        elif exc.status is not None:  # hh.ru answered (5xx, a page that is not JSON)
            happened = self._reread(track.resume, "after a failed raise")
            track = self._tracks.get(resume_id, track)
        if happened:
            log.info(
                "resume %s: the raise failed, but the re-read shows it happened",
                resume_id,
                extra={"event": "raise_found", "resume": resume_id},
            )
            self._raised(track, started)
            return self._record(track, Outcome.RAISED, exc=exc, at=started)
        retry = now + retry_delay(track.failures, NOT_RAISED_RETRY_FIRST)
        track.retry_at = retry
        if happened is None:
            track.unsure = True
            self._list_retry_at = min(self._list_retry_at or retry, retry)
        return self._record(track, Outcome.FAILED, exc=exc, at=started)

    def _reread(self, before: Resume, why: str) -> bool | None:
        """Whether a fresh read shows ``before`` raised since; None if it could not be read."""
        try:
            resumes = self.transport.list_resumes()
        except RemoteError as exc:
            log.warning("re-read %s failed: %s", why, redactor(str(exc)))
            self._handle_auth_error(exc)
            return None
        self._merge(resumes)
        after = next((r for r in resumes if r.id == before.id), None)
        return after is not None and _raised_between(before, after)

    def _verify(self, before: Resume) -> bool:
        """A publish counts only when a re-read shows the resume's dates moved.

        If no re-read worked, the list is read again soon: should the raise have
        happened after all, the plan then follows the new window instead of
        publishing again into hh.ru's cooldown.
        """
        read = False
        for delay in VERIFY_DELAYS:
            if delay:
                self._options.sleep(delay)
            happened = self._reread(before, "after raising")
            read = read or happened is not None
            if happened:
                return True
        if not read:
            self._list_retry_at = self._clock.now() + timedelta(seconds=LIST_BACKOFF_FIRST)
        return False

    def _record(
        self,
        track: _Track,
        outcome: Outcome,
        *,
        exc: RemoteError | None = None,
        status: int | None = None,
        request_id: str | None = None,
        detail: str | None = None,
        at: datetime | None = None,
    ) -> Attempt:
        """Appends the attempt to the history and tells the subscribers."""
        if exc is not None:
            status, request_id, detail = exc.status, exc.request_id, redactor(str(exc))
        attempt = Attempt(
            at=at or self._clock.now(),
            resume_id=track.resume.id,
            outcome=outcome,
            http_status=status,
            request_id=request_id,
            detail=detail,
            title=track.resume.title,
        )
        track.last_outcome = outcome
        try:
            self._history.append(attempt)
        except OSError:
            log.exception("could not append to the history file")
        log.info(
            "resume %s: %s (HTTP %s, request_id=%s)",
            attempt.resume_id,
            outcome.value,
            status,
            request_id,
            extra={
                "event": "attempt",  # the history line, as fields (``--log-format json``)
                "resume": attempt.resume_id,
                "outcome": outcome.value,
                "request_id": request_id,
                "http_status": status,
            },
        )
        if outcome is not Outcome.NOT_PUBLISHABLE:
            self.replan()
            self._bus.publish(RaiseAttempted(attempt, track.next_raise_at))
        return attempt

    # ---- reporting ----------------------------------------------------------------

    @staticmethod
    def _note(track: _Track, now: datetime) -> str | None:
        """Why the resume is not raised as usual: its standing, or hh.ru's refusal."""
        if not track.resume.raisable:
            return track.resume.standing.value
        if track.refused_until is not None and track.refused_until > now:
            return "refused"
        return None

    def snapshot(self) -> Snapshot:
        settings = self._settings()
        now = self._clock.now()
        with self._lock:
            resumes = tuple(
                ResumeStatus(
                    id=t.resume.id,
                    title=t.resume.title,
                    enabled=settings.is_enabled(t.resume.id),
                    last_raise_at=t.last_raise_at,
                    last_outcome=t.last_outcome,
                    next_raise_at=t.next_raise_at,
                    next_publish_at=(
                        self._server_clock.to_local(t.resume.next_publish_at)
                        if t.resume.next_publish_at
                        else None
                    ),
                    note=self._note(t, now),
                    hh_status=t.resume.status,
                    can_publish=t.resume.can_publish,
                )
                for t in self._tracks.values()
            )
        return Snapshot(
            auth_state=self._gate.state,
            auth_detail=self._gate.detail,
            captcha_url=self._gate.captcha_url,
            paused=settings.paused,
            resumes=resumes,
        )
