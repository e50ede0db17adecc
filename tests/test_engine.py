"""The engine against the simulator over real HTTP (no scheduler thread)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tray_app.core.engine import Chore, EngineOptions
from tray_app.core.events import Event, RaiseAttempted, ResumesChanged, ResumeSkipped
from tray_app.core.models import Attempt, AuthState, InFlight, Outcome, PublishReceipt
from tray_app.core.views import NotDue
from tray_app.simulator.hh import HHSimulator, SimResume
from tray_app.storage.in_flight import InFlightFile
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.wiring import Runtime, build_runtime

from .conftest import SHORT_COOLDOWN, make_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
UNPUBLISHED = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"


@pytest.fixture
def rt(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Runtime]:
    runtime = make_runtime(
        environ,
        keyring_backend,
        sim,
        margin_seconds=0,
        engine_options=EngineOptions(sleep=lambda _: None, calibrate=False),
    )
    yield runtime
    runtime.close()


def due_now(sim: HHSimulator, *ids: str) -> None:
    """The window opened 3 s ago, one cooldown after the last raise (as on hh.ru)."""
    for resume_id in ids:
        sim.open_window(resume_id, in_seconds=-3)
        resume = sim.resumes[resume_id]
        assert resume.next_publish_at is not None
        resume.updated_at = resume.next_publish_at - timedelta(seconds=sim.config.cooldown)


def test_unpublishable_resumes_are_reported_once(rt: Runtime, events: list[Event]) -> None:
    for _ in range(3):
        assert rt.engine.refresh()
    skipped = [e for e in events if isinstance(e, ResumeSkipped)]
    assert sorted((e.resume.id, e.reason) for e in skipped) == [
        (UNPUBLISHED, "draft"),
        (BLOCKED, "blocked"),
    ]
    lines = [a for a in rt.history.read() if a.outcome is Outcome.NOT_PUBLISHABLE]
    assert len(lines) == 2
    assert set(rt.engine.agenda()) == {A, B}


def test_a_changed_state_is_reported_again_and_unblocked_resumes_are_planned(
    rt: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    rt.engine.refresh()
    blocked = sim.resumes[BLOCKED]
    blocked.blocked, blocked.status = False, "published"
    rt.engine.refresh()
    assert BLOCKED in rt.engine.agenda()
    blocked.blocked, blocked.status = True, "blocked"
    rt.engine.refresh()
    assert len([e for e in events if isinstance(e, ResumeSkipped) and e.resume.id == BLOCKED]) == 2


def test_due_resume_is_raised_and_confirmed(
    rt: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.RAISED
    assert attempt.http_status == 204 and attempt.request_id
    line = rt.history.read()[-1]
    assert (line.resume_id, line.outcome, line.http_status, line.request_id) == (
        A,
        Outcome.RAISED,
        204,
        attempt.request_id,
    )
    raised = [e for e in events if isinstance(e, RaiseAttempted)]
    assert raised[-1].next_raise_at is not None
    assert raised[-1].next_raise_at - rt.clock.now() > timedelta(seconds=1.5)


def test_raise_due_refuses_to_publish_early(rt: Runtime, sim: HHSimulator) -> None:
    sim.open_window(A, in_seconds=60)
    rt.engine.refresh()
    assert rt.engine.raise_due(A) is None
    assert sim.calls("POST", "/resumes/") == []


def test_publish_that_changes_nothing_is_unconfirmed(rt: Runtime, sim: HHSimulator) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.inject("noop_publish", f"/resumes/{A}/publish")
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.UNCONFIRMED
    retry = rt.engine.agenda()[A]
    assert timedelta(seconds=25) < retry - rt.clock.now() <= timedelta(seconds=30)
    assert len(sim.calls("GET", "/resumes/mine")) == 1 + 2  # first read + two verifications


def test_unreadable_verification_rereads_soon_instead_of_publishing_again(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.inject("garbage", "/resumes/mine", times=2)  # both verification reads fail
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.UNCONFIRMED
    agenda = rt.engine.agenda()
    assert agenda[Chore.REFRESH] - rt.clock.now() <= timedelta(seconds=5)
    rt.engine.run_agenda_item(Chore.REFRESH)
    # the raise had happened: the plan follows the new window, not the back-off
    window = sim.resumes[A].next_publish_at
    assert window is not None
    assert rt.engine.agenda()[A] == rt.server_clock.to_local(window)
    assert len(sim.calls("POST", f"/resumes/{A}/publish")) == 1


def test_429_rereads_and_reschedules_without_failure(rt: Runtime, sim: HHSimulator) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.inject("429", f"/resumes/{A}/publish")
    sim.open_window(A, in_seconds=30)  # the server's real window is later than we knew
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.TOO_EARLY
    assert rt.engine.agenda()[A] - rt.clock.now() > timedelta(seconds=25)
    assert rt.engine._tracks[A].failures == 0


def test_repeated_429_while_the_list_says_now_backs_off(rt: Runtime, sim: HHSimulator) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.inject("429", f"/resumes/{A}/publish", times=2)  # list and publish disagree
    first = rt.engine.raise_due(A)
    assert first is not None and first.outcome is Outcome.TOO_EARLY
    assert rt.engine.raise_due(A) is None  # not again at once
    wait = rt.engine.agenda()[A] - rt.clock.now()
    assert timedelta(seconds=8) < wait <= timedelta(seconds=10)
    assert len(sim.calls("POST", f"/resumes/{A}/publish")) == 1


def test_400_on_publish_is_told_once_and_asked_again_at_the_next_window(
    rt: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.resumes[A].refuses_publish = True  # hh.ru now refuses: mandatory fields missing
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.NOT_PUBLISHABLE
    assert attempt.http_status == 400 and attempt.detail == "refused"
    rt.engine.refresh()
    rt.engine.refresh()
    status = {r.id: r for r in rt.engine.snapshot().resumes}[A]
    assert status.note == "refused"
    # not frozen: asked again one cooldown later (3 s here, 4 h on hh.ru)
    recheck = rt.engine.agenda()[A] - rt.clock.now()
    assert timedelta(seconds=2) < recheck <= timedelta(seconds=SHORT_COOLDOWN)
    wait_until(lambda: rt.engine.raise_due(A) is not None, timeout=SHORT_COOLDOWN + 1)
    assert len(sim.calls("POST", f"/resumes/{A}/publish")) == 2  # asked again, refused again
    refusals = [a for a in rt.history.read() if a.resume_id == A]
    assert [a.outcome for a in refusals] == [Outcome.NOT_PUBLISHABLE] * 2  # both in history
    assert len([e for e in events if isinstance(e, ResumeSkipped) and e.resume.id == A]) == 1
    sim.resumes[A].refuses_publish = False  # the user filled the fields in
    raised = rt.engine.raise_now(A)[0]
    assert isinstance(raised, Attempt) and raised.outcome is Outcome.RAISED


def test_a_failed_raise_that_did_not_happen_is_retried_within_seconds(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A, B)
    rt.engine.refresh()
    sim.inject("502_html", f"/resumes/{A}/publish", times=2)
    failed = rt.engine.raise_due(A)
    assert failed is not None and failed.outcome is Outcome.FAILED and failed.http_status == 502
    # the re-read shows the window did not move: it did not happen, so ask again soon
    first_retry = rt.engine.agenda()[A] - rt.clock.now()
    assert timedelta(seconds=1) < first_retry <= timedelta(seconds=1.5)
    ok = rt.engine.raise_due(B)  # the other resume is not held up
    assert ok is not None and ok.outcome is Outcome.RAISED
    wait_until(lambda: rt.engine.raise_due(A) is not None, timeout=2)
    second_retry = rt.engine.agenda()[A] - rt.clock.now()  # failed again: doubled
    assert timedelta(seconds=2.5) < second_retry <= timedelta(seconds=3)
    wait_until(lambda: rt.engine.raise_due(A) is not None, timeout=4)
    assert rt.history.read()[-1].outcome is Outcome.RAISED
    assert sim.premature_publishes() == []


def test_a_raise_without_an_answer_waits_for_a_read_and_is_never_sent_twice(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    # hh.ru raises it, but answers after our 2 s timeout
    sim.inject("hold", f"/resumes/{A}/publish", seconds=2.5)
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.FAILED
    assert "no answer" in (attempt.detail or "")
    agenda = rt.engine.agenda()
    assert A not in agenda  # it may still happen: nothing is sent until a read shows it
    assert agenda[Chore.REFRESH] - rt.clock.now() <= timedelta(seconds=1.5)
    wait_until(lambda: rt.clock.now() >= agenda[Chore.REFRESH], timeout=2)
    rt.engine.run_agenda_item(Chore.REFRESH)
    window = sim.resumes[A].next_publish_at
    assert window is not None and rt.engine.agenda()[A] == rt.server_clock.to_local(window)
    assert len(sim.calls("POST", f"/resumes/{A}/publish")) == 1
    assert sim.premature_publishes() == []


def test_a_raise_nobody_can_confirm_is_not_sent_again_even_when_asked(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    sim.inject("timeout", f"/resumes/{A}/publish", seconds=2.5)  # no answer, not raised
    assert rt.engine.raise_due(A) is not None
    sim.inject("500", "/resumes/mine", times=3)  # and the list cannot be read (3 tries)
    result = rt.engine.raise_now(A)[0]
    assert isinstance(result, Attempt) and result.outcome is Outcome.FAILED
    assert len(sim.calls("POST", f"/resumes/{A}/publish")) == 1
    rt.engine.run_agenda_item(Chore.REFRESH)  # the list shows it was not raised
    assert rt.engine.agenda()[A] <= rt.clock.now() + timedelta(seconds=1.5)


def test_list_failure_schedules_a_retry(rt: Runtime, sim: HHSimulator) -> None:
    sim.inject("timeout", "/resumes/mine", seconds=2.5, times=3)
    assert not rt.engine.refresh()
    assert Chore.REFRESH in rt.engine.agenda()
    assert rt.engine.refresh()
    assert Chore.REFRESH not in rt.engine.agenda()


def test_new_resumes_appear_and_deleted_ones_go(
    rt: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    rt.engine.refresh()
    del sim.resumes[B]
    sim.resumes["e5"] = SimResume(
        "e5", "Новое резюме", updated_at=sim.now(), next_publish_at=sim.now() + timedelta(hours=1)
    )
    rt.engine.refresh()
    ids = {r.id for r in rt.engine.snapshot().resumes}
    assert "e5" in ids and B not in ids
    assert isinstance([e for e in events if isinstance(e, ResumesChanged)][-1], ResumesChanged)


def test_revoked_token_stops_raising_until_sign_in(rt: Runtime, sim: HHSimulator) -> None:
    sim.revoke_all_tokens()
    rt.engine.refresh()
    assert rt.engine.auth_state is AuthState.SIGN_IN_NEEDED
    assert rt.engine.agenda() == {}


def test_captcha_waits_and_retries_later(rt: Runtime, sim: HHSimulator) -> None:
    sim.inject("captcha", "/resumes/mine")
    rt.engine.refresh()
    snap = rt.engine.snapshot()
    assert snap.auth_state is AuthState.CAPTCHA_NEEDED and snap.captcha_url
    assert set(rt.engine.agenda()) == {Chore.REFRESH}
    rt.engine.run_agenda_item(Chore.REFRESH)
    assert rt.engine.auth_state is AuthState.OK


def test_closed_api_is_reported(rt: Runtime, sim: HHSimulator) -> None:
    sim.config.api_closed = True
    rt.engine.refresh()
    assert rt.engine.auth_state is AuthState.API_CLOSED


def test_raise_now_raises_what_is_due_and_sends_nothing_for_the_rest(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A)
    sim.open_window(B, in_seconds=600)
    results = rt.engine.raise_now()
    by_id = {r.resume_id: r for r in results}
    raised = by_id[A]
    assert isinstance(raised, Attempt) and raised.outcome is Outcome.RAISED
    assert isinstance(by_id[B], NotDue)
    assert [c.path for c in sim.calls("POST", "/resumes/")] == [f"/resumes/{A}/publish"]


def test_disabled_resumes_are_not_planned(rt: Runtime, sim: HHSimulator, home: object) -> None:
    rt.settings.store.update(enabled_resumes=B)
    rt.settings.reload_if_changed()
    rt.engine.refresh()
    assert set(rt.engine.agenda()) == {B}
    assert {r.id: r.enabled for r in rt.engine.snapshot().resumes}[A] is False


def test_last_raise_survives_a_restart(
    rt: Runtime, sim: HHSimulator, environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    attempt = rt.engine.raise_due(A)
    assert attempt is not None
    again = build_runtime(environ, keyring_backend=keyring_backend)
    again.engine.refresh()
    status = {r.id: r for r in again.engine.snapshot().resumes}[A]
    assert status.last_raise_at == attempt.at and status.last_outcome is Outcome.RAISED


def test_jitter_is_drawn_once_per_window_and_within_bounds(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    import random

    sim.open_window(A, in_seconds=600)
    runtime = make_runtime(
        environ,
        keyring_backend,
        sim,
        margin_seconds=0,
        jitter_seconds=120,
        engine_options=EngineOptions(rng=random.Random(3), calibrate=False),
    )

    def jitter() -> timedelta:
        """Planned time minus the window on our clock (whose estimate may move)."""
        window = runtime.engine._tracks[A].resume.next_publish_at
        assert window is not None
        return runtime.engine.agenda()[A] - runtime.server_clock.to_local(window)

    runtime.engine.refresh()
    first = jitter()
    for _ in range(3):
        runtime.engine.refresh()
        assert jitter() == first
    assert timedelta(0) <= first <= timedelta(seconds=120)
    runtime.close()


# ---- a process killed between sending a raise and writing its outcome ----------------


def _restart(rt: Runtime, environ: dict[str, str], keyring_backend: MemoryKeyring) -> Runtime:
    """A new process on the same home, keyring and simulator (the old one died)."""
    rt.close()
    return build_runtime(
        environ,
        keyring_backend=keyring_backend,
        engine_options=EngineOptions(sleep=lambda _: None, calibrate=False),
    )


def _killed_after_sending(rt: Runtime, sim: HHSimulator, *, taken: bool) -> InFlight:
    """What a process leaves when killed after hh.ru's answer, before the history line:
    the record in flight, and (``taken``) the raise done on hh.ru."""
    due_now(sim, A)
    rt.engine.refresh()
    resume = next(r for r in rt.engine.resumes() if r.id == A)
    flight = InFlight(A, resume.title, rt.clock.now(), resume.updated_at, resume.next_publish_at)
    InFlightFile(rt.paths.in_flight_file).begin(flight)
    if taken:
        assert sim.publish(A)[0] == 204
    return flight


def test_a_raise_taken_by_hh_before_the_process_died_gets_its_history_line(
    rt: Runtime, sim: HHSimulator, environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    flight = _killed_after_sending(rt, sim, taken=True)
    rt = _restart(rt, environ, keyring_backend)
    try:
        assert rt.engine.refresh()
        raised = [a for a in rt.history.read() if a.outcome is Outcome.RAISED]
        assert [(a.resume_id, a.at) for a in raised] == [(A, flight.at)]
        shown = next(r for r in rt.engine.snapshot().resumes if r.id == A)
        assert shown.last_raise_at == flight.at
        assert not rt.paths.in_flight_file.exists()
        rt.engine.refresh()  # settled once
        assert len([a for a in rt.history.read() if a.outcome is Outcome.RAISED]) == 1
        assert sim.premature_publishes() == []
    finally:
        rt.close()


def test_a_raise_that_never_reached_hh_leaves_no_history_line(
    rt: Runtime, sim: HHSimulator, environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    _killed_after_sending(rt, sim, taken=False)
    rt = _restart(rt, environ, keyring_backend)
    try:
        assert rt.engine.refresh()
        assert [a for a in rt.history.read() if a.resume_id == A] == []
        assert not rt.paths.in_flight_file.exists()
        assert rt.engine.raise_due(A) is not None  # still due: raised now
        assert rt.history.read()[-1].outcome is Outcome.RAISED
    finally:
        rt.close()


def test_an_outcome_written_before_the_process_died_is_not_written_twice(
    rt: Runtime, sim: HHSimulator, environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    flight = _killed_after_sending(rt, sim, taken=True)
    rt.history.append(Attempt(flight.at, A, Outcome.RAISED, 204, title=flight.title))
    rt = _restart(rt, environ, keyring_backend)
    try:
        assert rt.engine.refresh()
        assert len([a for a in rt.history.read() if a.outcome is Outcome.RAISED]) == 1
        assert not rt.paths.in_flight_file.exists()
    finally:
        rt.close()


def test_a_raise_in_flight_is_cleared_once_its_outcome_is_written(
    rt: Runtime, sim: HHSimulator
) -> None:
    due_now(sim, A)
    rt.engine.refresh()
    written: list[bool] = []
    real_publish = rt.engine.transport.publish

    def publish(resume_id: str) -> PublishReceipt:
        written.append(rt.paths.in_flight_file.exists())  # on disk before hh.ru hears of it
        return real_publish(resume_id)

    rt.engine.transport.publish = publish  # type: ignore[method-assign]
    assert rt.engine.raise_due(A) is not None
    assert written == [True]
    assert not rt.paths.in_flight_file.exists()
