"""hh.ru's bot protection (DDoS-Guard) recognised as what it is: its own
state with its own words, a back-off, a redacted fingerprint in the log, and nothing
lost — not "session expired", not garbage retried at once. Before, a DDoS-Guard
page on the site read as a dead session and on the API as a transient error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import requests

from tray_app.adapters.service import current_status
from tray_app.adapters.tray.icons import IconState, icon_state
from tray_app.adapters.tray.menu import status_line
from tray_app.core.engine import Chore, EngineOptions
from tray_app.core.events import AuthChanged, Event
from tray_app.core.models import AuthState, Outcome
from tray_app.i18n.text import auth_text
from tray_app.notify.notices import NoticeComposer
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.hh_web import DDOS_GUARD_PAGE, TOUCH_PATH
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.transports.protection import is_ddos_guard_page
from tray_app.wiring import Runtime

from .conftest import make_runtime, make_web_runtime

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
QUIET = EngineOptions(sleep=lambda _: None, calibrate=False)
LIST = "/applicant/resumes"


@pytest.fixture
def rt(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Runtime]:
    runtime = make_web_runtime(environ, keyring_backend, sim, engine_options=QUIET)
    yield runtime
    runtime.close()


def make_due(sim: HHSimulator, resume_id: str) -> None:
    sim.resumes[resume_id].updated_at = sim.now() - timedelta(hours=5)
    sim.open_window(resume_id, in_seconds=-5)


def retry_in(rt: Runtime) -> timedelta:
    return rt.engine.agenda()[Chore.REFRESH] - rt.clock.now()


def test_a_ddos_guard_page_is_bot_protection_not_a_dead_session(
    rt: Runtime, sim: HHSimulator, events: list[Event], caplog: pytest.LogCaptureFixture
) -> None:
    sim.inject("ddos_guard", LIST)
    with caplog.at_level(logging.INFO):
        assert not rt.engine.refresh()
    snapshot = rt.engine.snapshot()
    assert snapshot.auth_state is AuthState.BOT_CHECK
    assert [e.state for e in events if isinstance(e, AuthChanged)] == [AuthState.BOT_CHECK]
    # backed off, not hammered: the list is asked again in two minutes
    assert timedelta(seconds=119) < retry_in(rt) <= timedelta(seconds=120)
    assert set(rt.engine.agenda()) == {Chore.REFRESH}
    # the page's redacted fingerprint is in the log; no cookie value is
    assert "title='DDoS-Guard'" in caplog.text and "ddos-guard/js-challenge" in caplog.text
    session = rt.web_sessions().load()
    assert session is not None and session.cookies["hhtoken"] not in caplog.text
    # nothing is lost: the session is kept, and the next read works again
    rt.engine.run_agenda_item(Chore.REFRESH)
    assert rt.engine.auth_state is AuthState.OK
    assert rt.web_sessions().load() == session


def test_repeated_stops_wait_longer_each_time(rt: Runtime, sim: HHSimulator) -> None:
    sim.inject("ddos_guard", LIST, times=3)
    rt.engine.refresh()
    waits = [retry_in(rt)]
    for _ in range(2):
        rt.engine.run_agenda_item(Chore.REFRESH)
        waits.append(retry_in(rt))
    assert [round(w.total_seconds() / 60) for w in waits] == [2, 4, 8]
    rt.engine.run_agenda_item(Chore.REFRESH)
    assert rt.engine.auth_state is AuthState.OK


def test_connections_dropped_without_an_answer_are_bot_protection_too(
    rt: Runtime, sim: HHSimulator
) -> None:
    sim.inject("drop", LIST, times=3)  # a GET is retried twice before a drop counts
    assert not rt.engine.refresh()
    assert rt.engine.auth_state is AuthState.BOT_CHECK


def test_a_single_dropped_connection_is_retried_and_goes_unnoticed(
    rt: Runtime, sim: HHSimulator
) -> None:
    sim.inject("drop", LIST)
    assert rt.engine.refresh()
    assert rt.engine.auth_state is AuthState.OK


def test_a_touch_stopped_by_ddos_guard_is_not_sent_again_before_a_read(
    rt: Runtime, sim: HHSimulator
) -> None:
    make_due(sim, A)
    rt.engine.refresh()
    sim.inject("ddos_guard", TOUCH_PATH)
    attempt = rt.engine.raise_due(A)
    assert attempt is not None and attempt.outcome is Outcome.BOT_CHECK
    assert rt.history.read()[-1].outcome is Outcome.BOT_CHECK
    assert A not in rt.engine.agenda()
    rt.engine.run_agenda_item(Chore.REFRESH)  # hh.ru lets us through again
    assert rt.engine.auth_state is AuthState.OK and A in rt.engine.agenda()


def test_the_api_behind_ddos_guard_is_bot_protection_not_a_closed_api(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim, engine_options=QUIET)
    try:
        sim.inject("ddos_guard", "/resumes/mine")
        assert not runtime.engine.refresh()
        assert runtime.engine.auth_state is AuthState.BOT_CHECK
    finally:
        runtime.close()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_user_is_told_what_to_do_in_every_channel(rt: Runtime, language: str) -> None:
    text = auth_text(AuthState.BOT_CHECK, language)
    assert "hh.ru" in text and "login --web" in text and "DDoS-Guard" in text
    composer = NoticeComposer(lambda: language, rt.clock)
    notices = composer.compose(AuthChanged(AuthState.BOT_CHECK, "GET /applicant/resumes"))
    assert [(n.kind, n.important, n.text) for n in notices] == [("bot_check", True, text)]
    status = replace(current_status(rt, None), auth_state=AuthState.BOT_CHECK, auth_detail="x")
    line = status_line(status, language)
    assert "hh.ru" in line and line != text
    assert icon_state(status, raising=False) is IconState.ATTENTION


def test_a_client_unlike_a_browser_meets_ddos_guard_and_loses_its_session(
    sim: HHSimulator,
) -> None:
    """The simulator's strict mode (public hh.ru tools' code, community reports): what a client
    that is not the resume list page's own XHR gets. Our transport passes it (every
    test checks ``violations`` at the end); a bare ``requests`` does not."""
    cookies = sim.web.login()
    answer = requests.post(
        f"{sim.url}{TOUCH_PATH}",
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        files={"resume": (None, A), "undirectable": (None, "true")},
        timeout=5,
    )
    assert answer.status_code == 403 and answer.headers["Server"] == "ddos-guard"
    assert is_ddos_guard_page(answer.content)
    assert sim.web.sessions[cookies["hhtoken"]].user_type == "anonymous"
    assert "not Chrome" in sim.web.violations[0] and "no Origin" in sim.web.violations[0]
    sim.web.violations.clear()  # seen: the fixture's own check must not fail on it


def test_only_ddos_guards_own_document_is_read_as_bot_protection() -> None:
    """What public code shows of DDoS-Guard (its challenge script, its title, its block
    page's attribute) is recognised whatever the status. No source shows a Group-IB
    refusal, and ``Server: ddos-guard`` or the word alone proves nothing: such a page
    stays what its status says (a 403: the session is gone, public hh.ru tools' code)."""
    assert is_ddos_guard_page(DDOS_GUARD_PAGE)
    assert is_ddos_guard_page(b"<html><head><title>DDoS-Guard</title></head></html>")
    assert is_ddos_guard_page(b'<html><div data-ddg-origin="true"></div></html>')
    assert not is_ddos_guard_page(b'<html><script src="/api/fl/idgib-w-hh"></script></html>')
    assert not is_ddos_guard_page(b"<html><body>Bad Gateway (ddos-guard)</body></html>")


def test_the_home_page_opened_cold_turns_an_imported_session_anonymous(
    sim: HHSimulator,
) -> None:
    """What the simulator models (public hh.ru tools' code) and our transport never does (every
    test that uses the simulator checks ``home_page_loads`` at the end)."""
    cookies = sim.web.login()
    answer = requests.get(
        f"{sim.url}/",
        headers={"Cookie": f"hhtoken={cookies['hhtoken']}; _xsrf={cookies['_xsrf']}"},
        timeout=5,
    )
    assert "hhtoken=" in answer.headers["Set-Cookie"]  # a new, anonymous one
    assert cookies["hhtoken"] not in answer.headers["Set-Cookie"]
    assert not sim.web.is_live(cookies["hhtoken"])
    sim.web.home_page_loads = 0  # seen: the fixture's own check must not fail on it
