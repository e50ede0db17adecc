"""Raising through the website with the real engine and scheduler: verified raises,
a soak of 50 cooldowns with cookies rotating, a session that ends, the API's
December 2025 refusal that offers the website, and switching transport live."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tray_app.adapters.service import Service
from tray_app.core.events import AuthChanged, Event
from tray_app.core.models import AuthState, Outcome
from tray_app.i18n.text import auth_text
from tray_app.simulator.hh import HHSimulator, SimConfig
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession
from tray_app.wiring import Runtime, build_runtime

from .conftest import make_runtime, make_web_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
SOAK_COOLDOWN = 1.0
SOAK_TOUCHES = 50


@pytest.fixture
def events(web_runtime: Runtime) -> list[Event]:
    seen: list[Event] = []
    web_runtime.bus.subscribe(seen.append)
    return seen


def make_due(sim: HHSimulator, resume_id: str) -> None:
    """Last raised five hours ago: due by both the countdown and "last raise + 4 h"
    (a window opened just now is believed only a second later: the countdown is in
    whole seconds)."""
    sim.resumes[resume_id].updated_at = sim.now() - timedelta(hours=5)
    sim.open_window(resume_id, in_seconds=-5)


def test_a_due_resume_is_raised_and_confirmed_by_a_re_read(
    web_runtime: Runtime, sim: HHSimulator
) -> None:
    make_due(sim, A)
    engine = web_runtime.engine
    assert engine.refresh()
    attempt = engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.RAISED
    assert attempt.http_status == 200
    assert [t.status for t in sim.web.touches] == [200]
    status = next(r for r in engine.snapshot().resumes if r.id == A)
    assert status.last_raise_at == attempt.at and status.next_raise_at is not None


def test_a_touch_that_changes_nothing_is_not_counted_as_a_raise(
    web_runtime: Runtime, sim: HHSimulator
) -> None:
    make_due(sim, A)
    web_runtime.engine.refresh()
    sim.inject("noop_publish", "/applicant/resumes/touch")
    attempt = web_runtime.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.UNCONFIRMED


def test_a_session_that_ends_stops_raising_and_says_to_import_again(
    web_runtime: Runtime, sim: HHSimulator, events: list[Event]
) -> None:
    engine = web_runtime.engine
    engine.refresh()
    sim.web.end_sessions()
    make_due(sim, A)
    attempt = engine.raise_now(A)[0]
    assert getattr(attempt, "outcome", None) is Outcome.SIGN_IN_NEEDED
    assert engine.auth_state is AuthState.SESSION_EXPIRED
    assert engine.agenda() == {}  # nothing is tried until a new session comes
    told = [e for e in events if isinstance(e, AuthChanged)]
    assert told[-1].state is AuthState.SESSION_EXPIRED
    assert "login --web" in auth_text(AuthState.SESSION_EXPIRED, "ru")
    assert "login --web" in auth_text(AuthState.SESSION_EXPIRED, "en")
    assert sim.web.touches == []
    # the user logs in again in the browser and imports the new session
    web_runtime.web_sessions().save(WebSession("hh.ru", sim.web.login()), web_runtime.clock.now())
    engine.credentials_changed()
    assert engine.snapshot().auth_state is AuthState.OK
    assert engine.raise_due(A) is not None
    assert [t.status for t in sim.web.touches] == [200]


def test_the_api_refusal_of_december_2025_offers_the_website(
    runtime: Runtime, sim: HHSimulator
) -> None:
    sim.config.api_closed = True
    runtime.engine.refresh()
    assert runtime.engine.auth_state is AuthState.API_CLOSED
    for language in ("ru", "en"):
        text = auth_text(AuthState.API_CLOSED, language)
        assert "15.12.2025" in text or "2025-12-15" in text
        assert "hh-raiser login --web" in text


def test_switching_to_the_website_takes_effect_at_once(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    """A running instance on the closed API; the user imports a session (which also
    sets transport=web): the next raise goes through the site, no restart, and the
    hour-long "API closed" back-off does not hold it."""
    sim.config.api_closed = True
    runtime = make_runtime(environ, keyring_backend, sim, enabled_resumes=[A])
    service = Service(runtime)
    service.start()
    try:
        wait_until(lambda: runtime.engine.auth_state is AuthState.API_CLOSED)
        make_due(sim, A)
        runtime.web_sessions().save(WebSession("hh.ru", sim.web.login()), runtime.clock.now())
        SettingsStore(runtime.paths.settings_file).update(transport="web")
        service.reload_settings()
        wait_until(lambda: [t.status for t in sim.web.touches] == [200])
        assert runtime.engine.auth_state is AuthState.OK
        assert not sim.calls("POST", "/resumes/")  # nothing went to the API
        # and back: the API transport is asked again, at once
        SettingsStore(runtime.paths.settings_file).update(transport="api")
        service.reload_settings()
        wait_until(lambda: runtime.engine.auth_state is AuthState.API_CLOSED)
    finally:
        service.stop()
        runtime.close()


def test_a_missing_session_for_the_chosen_site_means_not_configured(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_web_runtime(environ, keyring_backend, sim)
    assert runtime.has_account()
    SettingsStore(runtime.paths.settings_file).update(web_host="spb.hh.ru")
    runtime.settings.reload_if_changed()
    assert not runtime.has_account()  # each domain has its own session
    runtime.close()


@pytest.fixture
def soak_sim() -> Iterator[HHSimulator]:
    simulator = HHSimulator(SimConfig(cooldown=SOAK_COOLDOWN)).start()
    for resume in simulator.resumes.values():
        if resume.status == "published":
            resume.updated_at = simulator.now()
            simulator.open_window(resume.id, in_seconds=SOAK_COOLDOWN)
    simulator.web.config.rotate_every = 3  # hhtoken rotates every third request
    simulator.web.config.rotate_xsrf_every = 7
    yield simulator
    simulator.stop()


def test_soak_fifty_cooldowns_without_one_premature_touch(
    tmp_path: Path, keyring_backend: MemoryKeyring, soak_sim: HHSimulator
) -> None:
    """Two resumes with a one-second cooldown, cookies rotating all along: every
    touch lands after its window (hh.ru's ``toUpdate`` counts whole seconds), every
    raise is confirmed, and the saved session still works after a restart."""
    environ = {
        "HH_RAISER_HOME": str(tmp_path / "home"),
        "HH_RAISER_API_URL": soak_sim.url,
        "HH_RAISER_OAUTH_URL": soak_sim.url,
        "HH_RAISER_WEB_URL": soak_sim.url,
        "HH_RAISER_TIMEOUT": "2",
    }
    runtime = make_web_runtime(
        environ, keyring_backend, soak_sim, enabled_resumes=[A, B], margin_seconds=0.05
    )
    service = Service(runtime)
    started = time.monotonic()
    service.start()
    try:
        wait_until(
            lambda: sum(p.accepted for p in soak_sim.publishes) >= SOAK_TOUCHES,
            timeout=SOAK_TOUCHES * (SOAK_COOLDOWN + 1.5),
        )
    finally:
        service.stop()
        runtime.close()
    elapsed = time.monotonic() - started
    touches = list(soak_sim.web.touches)
    assert soak_sim.premature_publishes() == []
    assert [t for t in touches if t.status != 200] == []
    raised = [a for a in runtime.history.read() if a.outcome is Outcome.RAISED]
    assert len(raised) >= SOAK_TOUCHES
    assert {a.outcome for a in runtime.history.read()} == {Outcome.RAISED}
    rotations = sum(s.rotations for s in soak_sim.web.sessions.values())
    assert rotations >= SOAK_TOUCHES // 2
    lags = [
        p.real_at - p.window.timestamp()
        for p in soak_sim.publishes
        if p.accepted and p.window is not None
    ]
    assert min(lags) >= 0
    restarted = build_runtime(environ, keyring_backend=keyring_backend)
    try:
        assert len(restarted.transport.list_resumes()) == 4
    finally:
        restarted.close()
    print(
        f"web soak: {len(touches)} touches in {elapsed:.0f} s, 0 premature, "
        f"{rotations} hhtoken rotations; lag after the window p50 "
        f"{statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )
