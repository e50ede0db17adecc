"""The engine: decides what to raise, raises it, verifies it, and reports events.

It runs on the scheduler's thread (and on a CLI's main thread for one-shot
commands); :meth:`Engine.snapshot` may be called from any thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import (
    ApplicantApiClosed,
    CaptchaRequired,
    NotPublishable,
    RemoteError,
    SessionExpired,
    SignInNeeded,
    TooEarly,
)
from tray_app.core.events import (
    AuthChanged,
    ConnectionRestored,
    EventBus,
    PlanChanged,
    RaiseAttempted,
    RaiseStarted,
    ResumesChanged,
    ResumeSkipped,
    TransientFailure,
)
from tray_app.core.models import Attempt, AuthState, Outcome, Resume
from tray_app.core.planner import DEFAULT_INTERVAL, PlanRules, plan_raise
from tray_app.core.ports import Transport
from tray_app.core.redact import redactor
from tray_app.storage.history import History
from tray_app.storage.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0
LIST_BACKOFF_FIRST = 5.0  # reading is harmless: retry it sooner than a raise
BACKOFF_MAX = 15 * 60.0
TOO_EARLY_STEP = timedelta(seconds=10)
CAPTCHA_RETRY = timedelta(minutes=10)
API_CLOSED_RETRY = timedelta(hours=1)
VERIFY_DELAYS = (0.0, 3.0)
"""Re-reads after a publish; a second one in case hh.ru's list lags behind."""
CALIBRATION_TARGET = 0.05
CALIBRATION_PROBES = 6
REFRESH_KEY = "refresh"
PROBE_KEY = "clock-probe"
BLOCKING_AUTH = (AuthState.NOT_CONFIGURED, AuthState.SIGN_IN_NEEDED, AuthState.SESSION_EXPIRED)


def backoff(failures: int, first: float = BACKOFF_FIRST) -> timedelta:
    return timedelta(seconds=min(first * 2 ** max(failures - 1, 0), BACKOFF_MAX))


def _moved(after: datetime | None, before: datetime | None) -> bool:
    return after is not None and (before is None or after > before)


@dataclass
class _Track:
    """What the engine knows and decided about one resume."""

    resume: Resume
    next_raise_at: datetime | None = None
    last_raise_at: datetime | None = None
    last_outcome: Outcome | None = None
    reported_signature: tuple[object, ...] | None = None  # unpublishable state already told
    refused_signature: tuple[object, ...] | None = None  # hh.ru answered 400 in this state
    failures: int = 0
    too_early_streak: int = 0
    retry_at: datetime | None = None
    jitter: timedelta = timedelta(0)
    jitter_for: tuple[datetime | None, float] | None = None  # (window, setting) it was drawn for


@dataclass(frozen=True)
class ResumeStatus:
    id: str
    title: str
    enabled: bool
    last_raise_at: datetime | None
    last_outcome: Outcome | None
    next_raise_at: datetime | None
    next_publish_at: datetime | None  # on our clock
    note: str | None


@dataclass(frozen=True)
class Snapshot:
    auth_state: AuthState
    auth_detail: str | None
    captcha_url: str | None
    paused: bool
    resumes: tuple[ResumeStatus, ...]
    taken_at: datetime


@dataclass(frozen=True)
class NotDue:
    """``raise_now`` found the resume still in its cooldown and sent nothing."""

    resume_id: str
    title: str
    next_raise_at: datetime | None


@dataclass
class _Auth:
    state: AuthState = AuthState.UNKNOWN
    detail: str | None = None
    captcha_url: str | None = None
    retry_at: datetime | None = None


@dataclass
class EngineOptions:
    tz: tzinfo | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    calibrate: bool = True  # one-shot CLI commands skip the clock probes


class Engine:
    """Raises every enabled resume as soon as hh.ru allows."""

    def __init__(
        self,
        transport: Transport,
        settings: Callable[[], Settings],
        history: History,
        bus: EventBus,
        clock: Clock,
        server_clock: ServerClock,
        options: EngineOptions | None = None,
    ) -> None:
        self.transport = transport
        self._settings = settings
        self._history = history
        self._bus = bus
        self._clock = clock
        self._server_clock = server_clock
        self._options = options or EngineOptions()
        self._tracks: dict[str, _Track] = {}
        self._auth = _Auth()
        self._list_failures = 0
        self._list_retry_at: datetime | None = None
        self._lock = threading.RLock()
        self._last_agenda: dict[str, datetime] = {}
        self._probes_left = CALIBRATION_PROBES if self._options.calibrate else 0
        self._quiet: set[str] = set()  # ids whose state change a caller reports itself
        past = history.read()
        self._past = {a.resume_id: a for a in past}  # the latest attempt per resume
        self._past_raises = {a.resume_id: a.at for a in past if a.outcome is Outcome.RAISED}
        self._list_error: str | None = None

    # ---- reading hh.ru ------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-reads the resume list; True when it worked. Errors are handled here."""
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
        self._merge(resumes)
        self._set_auth(AuthState.OK)
        self.replan()
        return True

    def _probe_due(self, now: datetime) -> datetime | None:
        """When to send the next clock probe, if the estimate is still too coarse.

        A few requests timed on hh.ru's second boundaries narrow the server-clock
        estimate from about a second to a few tens of milliseconds, so raises are on
        time rather than up to a second late. They are agenda items like raises, so a
        due raise never waits for them.
        """
        if (
            self._probes_left <= 0
            or not self._server_clock.has_samples
            or self._server_clock.uncertainty <= CALIBRATION_TARGET
        ):
            return None
        return self._server_clock.next_probe(now)

    def _probe(self) -> None:
        self._probes_left -= 1
        try:
            self.transport.ping()
        except RemoteError as exc:
            log.info("clock probe failed: %s", redactor(str(exc)))

    def _list_failed(self, exc: RemoteError) -> None:
        now = self._clock.now()
        if self._handle_auth_error(exc):
            return
        self._list_failures += 1
        self._list_retry_at = now + backoff(self._list_failures, LIST_BACKOFF_FIRST)
        self._list_error = redactor(str(exc))
        log.warning("could not read the resume list: %s", self._list_error)
        self._bus.publish(TransientFailure(self._list_error, self._list_retry_at))
        self.replan()

    def _merge(self, resumes: list[Resume]) -> None:
        settings = self._settings()
        with self._lock:
            before = {rid: t.resume for rid, t in self._tracks.items()}
            fresh: dict[str, _Track] = {}
            for resume in resumes:
                track = self._tracks.get(resume.id) or self._new_track(resume)
                if track.resume.state_signature != resume.state_signature:
                    track.reported_signature = None
                    track.refused_signature = None
                if _moved(resume.next_publish_at, track.resume.next_publish_at):
                    # raised after all (an unconfirmed or failed attempt, or by hand on
                    # the site): the new window rules, not the back-off
                    track.failures = track.too_early_streak = 0
                    track.retry_at = None
                track.resume = resume
                fresh[resume.id] = track
            self._tracks = fresh
        for rid in before.keys() - fresh.keys():
            log.info("resume %s is gone from the list", rid)
        if {r.id: r.title for r in before.values()} != {r.id: r.title for r in resumes}:
            self._bus.publish(ResumesChanged(tuple(resumes)))
        for track in fresh.values():
            if track.resume.id in self._quiet:
                continue
            if settings.is_enabled(track.resume.id) and not track.resume.publishable:
                self._report_unpublishable(track, self._unpublishable_reason(track.resume))

    def _new_track(self, resume: Resume) -> _Track:
        past = self._past.get(resume.id)
        return _Track(
            resume=resume,
            last_raise_at=self._past_raises.get(resume.id),
            last_outcome=past.outcome if past else None,
        )

    @staticmethod
    def _unpublishable_reason(resume: Resume) -> str:
        if resume.blocked or resume.status == "blocked":
            return "blocked"
        if resume.status != "published" or resume.next_publish_at is None:
            return resume.status or "not_published"
        return "cannot_publish"

    def _report_unpublishable(
        self,
        track: _Track,
        reason: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
    ) -> Attempt | None:
        """Once per state: a history line and an event, then silence until it changes."""
        signature = track.resume.state_signature
        if track.reported_signature == signature:
            return None
        track.reported_signature = signature
        attempt = self._record(
            track, Outcome.NOT_PUBLISHABLE, status=status, request_id=request_id, detail=reason
        )
        self._bus.publish(ResumeSkipped(track.resume, reason))
        return attempt

    # ---- auth ---------------------------------------------------------------------

    def _set_auth(
        self, state: AuthState, detail: str | None = None, captcha_url: str | None = None
    ) -> None:
        retry = {
            AuthState.CAPTCHA_NEEDED: CAPTCHA_RETRY,
            AuthState.API_CLOSED: API_CLOSED_RETRY,
        }.get(state)
        changed = (self._auth.state, self._auth.detail) != (state, detail)
        self._auth = _Auth(state, detail, captcha_url, self._clock.now() + retry if retry else None)
        if changed:
            log.info("auth state: %s %s", state.value, detail or "")
            self._bus.publish(AuthChanged(state, detail, captcha_url))

    def _handle_auth_error(self, exc: RemoteError) -> bool:
        """Moves to the auth state an error calls for; False if it is not one."""
        if isinstance(exc, SessionExpired):
            self._set_auth(AuthState.SESSION_EXPIRED, redactor(str(exc)))
        elif isinstance(exc, SignInNeeded):
            self._set_auth(AuthState.SIGN_IN_NEEDED, redactor(str(exc)))
        elif isinstance(exc, CaptchaRequired):
            self._set_auth(AuthState.CAPTCHA_NEEDED, redactor(str(exc)), exc.captcha_url)
        elif isinstance(exc, ApplicantApiClosed):
            self._set_auth(AuthState.API_CLOSED, redactor(str(exc)))
        else:
            return False
        self.replan()
        return True

    def clock_jumped(self) -> None:
        """The machine slept or its clock changed: old skew samples lie; re-read now."""
        self._server_clock.reset()
        self._probes_left = CALIBRATION_PROBES if self._options.calibrate else 0
        self.refresh()

    def credentials_changed(self) -> None:
        """New credentials were stored (login, import, a switch of transport or site):
        forget the auth verdict, re-read."""
        self.transport.credentials_changed()
        self._auth = _Auth()
        self.refresh()

    def mark_not_configured(self) -> None:
        self._set_auth(AuthState.NOT_CONFIGURED, "no hh.ru account is set up")

    @property
    def auth_state(self) -> AuthState:
        return self._auth.state

    # ---- planning -----------------------------------------------------------------

    def _rules(self, settings: Settings) -> PlanRules:
        return PlanRules(
            margin=timedelta(seconds=settings.margin_seconds),
            anchor=settings.anchor,
            active_hours=settings.active_window,
            tz=self._options.tz,
        )

    def _jitter(self, track: _Track, settings: Settings) -> timedelta:
        """One random jitter per window (and setting), so re-planning does not move it."""
        key = (track.resume.next_publish_at, settings.jitter_seconds)
        if track.jitter_for != key:
            track.jitter = timedelta(seconds=self._options.rng.uniform(0, settings.jitter_seconds))
            track.jitter_for = key
        return track.jitter

    def _plan(self, track: _Track, settings: Settings, now: datetime) -> datetime | None:
        resume = track.resume
        if (
            settings.paused
            or self._auth.state in BLOCKING_AUTH
            or self._auth.retry_at is not None
            or not settings.is_enabled(resume.id)
            or not resume.publishable
            or track.refused_signature == resume.state_signature
            or resume.next_publish_at is None
        ):
            return None
        interval = DEFAULT_INTERVAL
        if resume.updated_at and resume.next_publish_at > resume.updated_at:
            interval = resume.next_publish_at - resume.updated_at
        planned = plan_raise(
            self._server_clock.to_local(resume.next_publish_at),
            self._rules(settings),
            now=now,
            jitter=self._jitter(track, settings),
            interval=interval,
        )
        if track.retry_at is not None and track.retry_at > planned:
            planned = track.retry_at
        if planned <= now and track.next_raise_at is not None and track.next_raise_at <= now:
            planned = track.next_raise_at  # already overdue: keep the time, or every
            # re-plan would move it to "now" and the scheduler would chase it
        return planned

    def replan(self) -> dict[str, datetime]:
        """Recomputes every next raise; publishes :class:`PlanChanged` if any moved."""
        settings = self._settings()
        now = self._clock.now()
        with self._lock:
            for track in self._tracks.values():
                track.next_raise_at = self._plan(track, settings, now)
            agenda = {rid: t.next_raise_at for rid, t in self._tracks.items() if t.next_raise_at}
        retry = self._list_retry_at or self._auth.retry_at
        if self._auth.state not in BLOCKING_AUTH:
            if retry is not None:
                agenda[REFRESH_KEY] = retry
            probe = self._probe_due(now)
            if probe is not None and self._auth.state is AuthState.OK:
                agenda[PROBE_KEY] = probe
        if agenda != self._last_agenda:
            self._last_agenda = dict(agenda)
            self._bus.publish(PlanChanged(dict(agenda)))
        return agenda

    def next_raise_at(self, resume_id: str) -> datetime | None:
        track = self._tracks.get(resume_id)
        return track.next_raise_at if track else None

    def agenda(self) -> dict[str, datetime]:
        """What the scheduler should run and when: resume ids, ``refresh``, ``clock-probe``."""
        return dict(self._last_agenda)

    def run_agenda_item(self, key: str) -> None:
        """The scheduler's entry point for a one-off job from :meth:`agenda`."""
        if key == REFRESH_KEY:
            self._auth.retry_at = None
            self.refresh()
        elif key == PROBE_KEY:
            self._probe()
            self.replan()
        else:
            self.raise_due(key)

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
        if self._auth.state is not AuthState.NOT_CONFIGURED:
            self._auth = _Auth()  # the user asked: re-check an earlier captcha or refusal
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
            if self._auth.state in BLOCKING_AUTH or self._auth.retry_at is not None:
                results.append(self._auth_attempt(track.resume.id))
                continue
            resume = track.resume
            if not resume.publishable:
                reason = self._unpublishable_reason(resume)
                results.append(
                    Attempt(
                        self._clock.now(),
                        resume.id,
                        Outcome.NOT_PUBLISHABLE,
                        detail=reason,
                        title=resume.title,
                    )
                )
                continue
            assert resume.next_publish_at is not None
            window = self._server_clock.to_local(resume.next_publish_at)
            if window > self._clock.now():
                results.append(NotDue(resume.id, resume.title, track.next_raise_at or window))
                continue
            track.retry_at = None
            results.append(self._raise(track))
        return results

    def _auth_attempt(self, resume_id: str) -> Attempt:
        """An attempt that the auth state (or an unreadable list) stopped before sending."""
        outcome = {
            AuthState.CAPTCHA_NEEDED: Outcome.CAPTCHA,
            AuthState.API_CLOSED: Outcome.API_CLOSED,
            AuthState.SIGN_IN_NEEDED: Outcome.SIGN_IN_NEEDED,
            AuthState.SESSION_EXPIRED: Outcome.SIGN_IN_NEEDED,
            AuthState.NOT_CONFIGURED: Outcome.SIGN_IN_NEEDED,
        }.get(self._auth.state, Outcome.FAILED)
        detail = self._list_error if outcome is Outcome.FAILED else self._auth.detail
        return Attempt(self._clock.now(), resume_id, outcome, detail=detail)

    def _raise(self, track: _Track) -> Attempt:
        before = track.resume
        started = self._clock.now()  # the attempt's time, not the end of verification
        log.info("raising %s (%s)", before.id, before.title)
        try:
            receipt = self.transport.publish(before.id)
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
            return self._raise_failed(track, exc)
        self._bus.publish(RaiseStarted(before.id))
        confirmed = self._verify(before)
        outcome = Outcome.RAISED if confirmed else Outcome.UNCONFIRMED
        if confirmed:
            track.failures = track.too_early_streak = 0
            track.retry_at = None
            track.last_raise_at = started
        else:
            track.failures += 1
            track.retry_at = self._clock.now() + backoff(track.failures)
        return self._record(
            track, outcome, status=receipt.status, request_id=receipt.request_id, at=started
        )

    def _refused(self, track: _Track, exc: NotPublishable) -> Attempt:
        """400 on publish: re-read to learn why, then tell the user once, with the
        refused request's status and id, and skip until the resume changes."""
        self._quiet.add(track.resume.id)
        try:
            self.refresh()
        finally:
            self._quiet.discard(track.resume.id)
        track = self._tracks.get(track.resume.id, track)
        if track.resume.publishable:
            track.refused_signature = track.resume.state_signature
            reason = "refused"
        else:
            reason = self._unpublishable_reason(track.resume)
        track.reported_signature = None
        attempt = self._report_unpublishable(
            track, reason, status=exc.status, request_id=exc.request_id
        )
        self.replan()
        assert attempt is not None
        return attempt

    def _raise_failed(self, track: _Track, exc: RemoteError) -> Attempt:
        if self._handle_auth_error(exc):
            outcome = self._auth_attempt(track.resume.id).outcome
            return self._record(track, outcome, exc=exc)
        track.failures += 1
        track.retry_at = self._clock.now() + backoff(track.failures)
        attempt = self._record(track, Outcome.FAILED, exc=exc)
        self.refresh()  # a deleted resume goes, a changed one is re-planned
        return attempt

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
            try:
                resumes = self.transport.list_resumes()
            except RemoteError as exc:
                log.warning("re-read after raising failed: %s", redactor(str(exc)))
                continue
            read = True
            self._merge(resumes)
            after = next((r for r in resumes if r.id == before.id), None)
            if after is not None and (
                _moved(after.updated_at, before.updated_at)
                or _moved(after.next_publish_at, before.next_publish_at)
            ):
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
        )
        if outcome is not Outcome.NOT_PUBLISHABLE:
            self.replan()
            self._bus.publish(RaiseAttempted(attempt, track.next_raise_at))
        return attempt

    # ---- reporting ----------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        settings = self._settings()
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
                    note=None if t.resume.publishable else self._unpublishable_reason(t.resume),
                )
                for t in self._tracks.values()
            )
        return Snapshot(
            auth_state=self._auth.state,
            auth_detail=self._auth.detail,
            captcha_url=self._auth.captcha_url,
            paused=settings.paused,
            resumes=resumes,
            taken_at=self._clock.now(),
        )
