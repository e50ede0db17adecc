"""hh.ru's words read as hh.ru means them (hh's API docs; public hh.ru tools' code),
through both transports and the real engine: ``can_publish_or_update`` is false through
every cooldown and says nothing about whether a resume can be raised; the website's
status words are moderation words, never ``published``. These failed before: the API
raised nothing on time, the website raised nothing at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tray_app.core.engine import EngineOptions
from tray_app.core.events import Event, ResumeSkipped
from tray_app.core.models import Outcome, Standing
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.wiring import Runtime

from .conftest import make_runtime, make_web_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
DRAFT = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"
QUIET = EngineOptions(sleep=lambda _: None, calibrate=False)


@pytest.fixture(params=["api", "web"])
def rt(
    request: pytest.FixtureRequest,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> Iterator[Runtime]:
    make = make_web_runtime if request.param == "web" else make_runtime
    runtime = make(environ, keyring_backend, sim, margin_seconds=0, engine_options=QUIET)
    yield runtime
    runtime.close()


def cooling_down(sim: HHSimulator, resume_id: str, seconds_left: float) -> None:
    """Raised 4 h before its window (hh.ru's cooldown, which the site's page and our
    reading of it assume), which opens ``seconds_left`` from now."""
    sim.open_window(resume_id, in_seconds=seconds_left)
    resume = sim.resumes[resume_id]
    assert resume.next_publish_at is not None
    resume.updated_at = resume.next_publish_at - timedelta(hours=4)


def test_a_resume_in_its_cooldown_is_planned_at_its_window_and_raised_then(
    rt: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    cooling_down(sim, A, 1.5)
    cooling_down(sim, B, 600)
    assert rt.engine.refresh()
    agenda = rt.engine.agenda()
    assert {A, B} <= set(agenda)  # both live, whatever can_publish_or_update says
    if rt.settings().transport == "api":
        listed = {r.id: r.can_publish for r in rt.transport.list_resumes()}
        assert listed[A] is False and listed[B] is False  # hh.ru's "not now"
    skipped = {e.resume.id for e in events if isinstance(e, ResumeSkipped)}
    assert skipped == {DRAFT, BLOCKED}
    window = sim.resumes[A].next_publish_at
    assert window is not None
    assert agenda[A] - rt.server_clock.to_local(window) < timedelta(seconds=2)
    wait_until(lambda: rt.engine.raise_due(A) is not None, timeout=4)
    assert rt.history.read()[-1].outcome is Outcome.RAISED
    assert sim.premature_publishes() == []
    status = {r.id: r for r in rt.engine.snapshot().resumes}
    assert status[A].note is None and status[B].note is None
    assert (status[DRAFT].note, status[BLOCKED].note) == ("draft", "blocked")


@pytest.mark.parametrize("word", ["new", "modified", "approved"])
def test_every_live_word_of_the_website_is_raised(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, word: str
) -> None:
    sim.resumes[A].site_status = word
    cooling_down(sim, A, -5)
    runtime = make_web_runtime(environ, keyring_backend, sim, engine_options=QUIET)
    try:
        runtime.engine.refresh()
        status = {r.id: r for r in runtime.engine.snapshot().resumes}[A]
        assert (status.hh_status, status.note) == (word, None)
        attempt = runtime.engine.raise_due(A)
        assert attempt is not None and attempt.outcome is Outcome.RAISED
    finally:
        runtime.close()


def test_an_unknown_website_word_reads_as_live_and_is_logged_once(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim.resumes[A].site_status = "awaiting_second_look"
    runtime = make_web_runtime(environ, keyring_backend, sim, engine_options=QUIET)
    try:
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                runtime.engine.refresh()
        assert A in runtime.engine.agenda()
        new_word = [r for r in caplog.records if "awaiting_second_look" in r.getMessage()]
        assert [r.levelno for r in new_word if "new to us" in r.getMessage()] == [logging.WARNING]
        # and what was concluded is in the log with the word
        assert "a1b2c3d4 status=awaiting_second_look" in caplog.text
        assert "-> live" in caplog.text
    finally:
        runtime.close()


def test_drafts_blocked_and_deleted_resumes_are_excluded_by_name(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    sim.resumes[B].site_status = "deleted"
    runtime = make_web_runtime(environ, keyring_backend, sim, engine_options=QUIET)
    try:
        resumes = {r.id: r for r in runtime.transport.list_resumes()}
        assert resumes[DRAFT].status == "not_finished"  # the site's word for a draft
        assert {rid: r.standing for rid, r in resumes.items()} == {
            A: Standing.LIVE,
            B: Standing.DELETED,
            DRAFT: Standing.DRAFT,
            BLOCKED: Standing.BLOCKED,
        }
        runtime.engine.refresh()
        assert set(runtime.engine.agenda()) == {A}
    finally:
        runtime.close()


def test_a_raise_after_a_502_costs_seconds_through_either_transport(
    rt: Runtime, sim: HHSimulator
) -> None:
    """One transient 502 on the raise: the re-read shows it did not happen, so it is
    sent again about 1.5 s later, not after a 30-second back-off."""
    cooling_down(sim, A, -3)
    rt.engine.refresh()
    path = "/applicant/resumes/touch" if rt.settings().transport == "web" else "/resumes/"
    sim.inject("502_html", path, method="POST")
    failed = rt.engine.raise_due(A)
    assert failed is not None and failed.outcome is Outcome.FAILED
    wait_until(lambda: rt.engine.raise_due(A) is not None, timeout=2.5)
    raised = rt.history.read()[-1]
    assert raised.outcome is Outcome.RAISED
    assert timedelta(seconds=1.4) <= raised.at - failed.at <= timedelta(seconds=2.5)
    assert sim.premature_publishes() == []
