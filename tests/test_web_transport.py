"""The website transport against the simulated hh.ru site over real HTTP: each page
format, each answer class of the touch, cookie rotation, and what the log shows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tray_app.core.errors import (
    AnonymousSession,
    CaptchaRequired,
    InvalidResponse,
    RateLimited,
    ServerError,
    SessionExpired,
    TooEarly,
    UnexpectedResponse,
)
from tray_app.core.models import Standing
from tray_app.simulator.hh import HHSimulator, SimConfig
from tray_app.simulator.hh_web import parse_multipart
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.web_session import HeldSession, WebSession
from tray_app.transports.browser import BrowserClient
from tray_app.transports.hh_web import WebTransport, parse_set_cookie, regional_host
from tray_app.wiring import Runtime, build_runtime

from .conftest import make_web_runtime

RAISABLE = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
SECOND = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
UNPUBLISHED = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"


@pytest.fixture
def rt(web_runtime: Runtime) -> Runtime:
    return web_runtime


def stored(rt: Runtime) -> WebSession:
    session = rt.web_sessions().load()
    assert session is not None
    return session


# ---- the resume list ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("xhr_json", "page_format", "source"),
    [
        (True, "escaped", "xhr-json"),
        (False, "escaped", "template-escaped"),
        (False, "raw", "template"),
    ],
)
def test_the_list_from_each_page_format(
    rt: Runtime,
    sim: HHSimulator,
    caplog: pytest.LogCaptureFixture,
    xhr_json: bool,
    page_format: str,
    source: str,
) -> None:
    sim.web.config.xhr_json = xhr_json
    sim.web.config.page_format = page_format
    with caplog.at_level(logging.INFO):
        resumes = {r.id: r for r in rt.transport.list_resumes()}
    assert f"read from {source}" in caplog.text
    assert set(resumes) == {RAISABLE, SECOND, UNPUBLISHED, BLOCKED}
    raisable = resumes[RAISABLE]
    assert raisable.title == "Python-разработчик" and raisable.raisable
    truth = sim.resumes[RAISABLE]
    assert raisable.updated_at is not None and truth.updated_at is not None
    assert abs(raisable.updated_at - truth.updated_at) < timedelta(milliseconds=1)
    assert truth.next_publish_at is not None and raisable.next_publish_at is not None
    # toUpdate counts whole seconds: never early, at most a second and the trip late
    lateness = raisable.next_publish_at - truth.next_publish_at
    assert timedelta(0) <= lateness <= timedelta(seconds=2.5)
    draft = resumes[UNPUBLISHED]
    assert (draft.status, draft.standing) == ("not_finished", Standing.DRAFT)
    assert resumes[BLOCKED].blocked and resumes[BLOCKED].standing is Standing.BLOCKED
    request = sim.calls("GET", "/applicant/resumes")[-1]
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"
    assert (
        "hhtoken=" in request.headers["Cookie"] and "Mozilla/5.0" in request.headers["User-Agent"]
    )
    assert "HH-User-Agent" not in request.headers and "Authorization" not in request.headers


def test_without_to_update_the_window_is_the_last_raise_plus_four_hours(
    rt: Runtime, sim: HHSimulator
) -> None:
    sim.web.config.to_update = False
    resume = next(r for r in rt.transport.list_resumes() if r.id == RAISABLE)
    assert resume.updated_at is not None
    assert resume.next_publish_at == resume.updated_at + timedelta(hours=4)


def test_a_countdown_that_agrees_with_four_hours_gives_the_exact_time(
    environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    real_cooldown = HHSimulator(SimConfig(cooldown=4 * 3600.0)).start()
    try:
        rt = make_web_runtime(
            {**environ, "HH_RAISER_WEB_URL": real_cooldown.url}, keyring_backend, real_cooldown
        )
        resume = next(r for r in rt.transport.list_resumes() if r.id == RAISABLE)
        assert resume.updated_at is not None
        assert resume.next_publish_at == resume.updated_at + timedelta(hours=4)
        rt.close()
    finally:
        real_cooldown.stop()


def test_a_countdown_that_disagrees_with_four_hours_is_followed_and_does_not_wobble(
    rt: Runtime, sim: HHSimulator
) -> None:
    sim.config.cooldown = 60.0  # hh.ru's own countdown rules, whatever the interval
    sim.open_window(RAISABLE, in_seconds=40)
    first = next(r for r in rt.transport.list_resumes() if r.id == RAISABLE)
    window = sim.resumes[RAISABLE].next_publish_at
    assert first.next_publish_at is not None and window is not None
    assert window <= first.next_publish_at <= window + timedelta(seconds=2.5)
    for _ in range(3):
        again = next(r for r in rt.transport.list_resumes() if r.id == RAISABLE)
        assert again.next_publish_at == first.next_publish_at


def test_the_second_list_page_is_used_when_the_first_is_gone(rt: Runtime, sim: HHSimulator) -> None:
    sim.web.config.list_paths = ("/applicant/my_resumes",)
    assert len(rt.transport.list_resumes()) == 4
    assert len(rt.transport.list_resumes()) == 4
    assert len(sim.calls("GET", "/applicant/resumes")) == 1  # remembered afterwards
    sim.web.config.list_paths = ()
    with pytest.raises(UnexpectedResponse, match="none of the resume list pages exists"):
        rt.transport.list_resumes()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("page_no_list", r"no applicantResumes list \(keys: account, lang, userType\)"),
        ("page_bad_item", r"applicantResumes\[0\]\._attributes\.hash is missing"),
        ("garbage", "the page has no HH-Lux-InitialState template"),
    ],
)
def test_an_unexpected_page_names_what_is_missing(
    rt: Runtime, sim: HHSimulator, fault: str, message: str
) -> None:
    sim.inject(fault, "/applicant/resumes")
    with pytest.raises(InvalidResponse, match=message):
        rt.transport.list_resumes()


def use_session(rt: Runtime, cookies: dict[str, str]) -> None:
    """As if the user imported these cookies."""
    rt.web_sessions().save(WebSession("hh.ru", cookies), rt.clock.now())
    rt.transport.credentials_changed()


def test_an_anonymous_visitor_is_told_apart_from_a_logged_in_one(
    rt: Runtime, sim: HHSimulator
) -> None:
    use_session(rt, sim.web.anonymous())
    with pytest.raises(SessionExpired, match="redirected to its login page"):
        rt.transport.list_resumes()
    sim.web.config.anonymous_list = "page"  # some pages render for guests instead
    with pytest.raises(AnonymousSession, match="anonymous visitor"):
        rt.transport.list_resumes()


def test_an_employer_session_is_not_a_job_seeker(rt: Runtime, sim: HHSimulator) -> None:
    use_session(rt, sim.web.login("employer"))
    with pytest.raises(AnonymousSession, match="logged in as 'employer'"):
        rt.transport.list_resumes()


def test_no_stored_session_says_how_to_get_one(rt: Runtime) -> None:
    rt.web_sessions().delete()
    rt.transport.credentials_changed()
    assert not rt.has_account()
    with pytest.raises(SessionExpired, match="hh-raiser login --web"):
        rt.transport.list_resumes()


# ---- the touch ----------------------------------------------------------------------


def test_a_raise_is_a_multipart_touch_with_the_xsrf_token(rt: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    receipt = rt.transport.publish(RAISABLE)
    assert receipt.status == 200
    touch = sim.web.touches[-1]
    assert (touch.status, touch.resume, touch.reason) == (200, RAISABLE, "raised")
    request = sim.calls("POST", "/applicant/resumes/touch")[-1]
    session = stored(rt)
    assert request.headers["X-Xsrftoken"] == session.xsrf
    # the header set of 2026 clients: the list page's XHR, Group-IB's cookies echoed
    assert request.headers["Referer"] == f"{sim.url}/applicant/resumes?role=applicant"
    assert request.headers["Origin"] == sim.url
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Hhtmsource"] == "resume_list" and request.headers["X-Hhtmfrom"]
    assert request.headers["x-gib-gsscgib-w-hh"] == session.cookies["gsscgib-w-hh"]
    assert request.headers["x-gib-fgsscgib-w-hh"] == session.cookies["fgsscgib-w-hh"]
    assert (
        request.headers["Sec-Fetch-Mode"] == "cors" and "Chrome/" in request.headers["User-Agent"]
    )
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert sim.web.violations == []
    updated = next(r for r in rt.transport.list_resumes() if r.id == RAISABLE)
    assert updated.updated_at is not None and updated.updated_at > rt.clock.now() - timedelta(
        seconds=5
    )


def test_inside_the_cooldown_hh_answers_409(rt: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE, in_seconds=600)
    with pytest.raises(TooEarly, match="HTTP 409"):
        rt.transport.publish(RAISABLE)
    assert sim.web.touches[-1].status == 409


def test_a_session_ended_on_the_site_is_reported_as_gone(rt: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    rt.transport.list_resumes()
    sim.web.end_sessions()
    with pytest.raises(SessionExpired):
        rt.transport.publish(RAISABLE)
    assert [t.status for t in sim.web.touches] == [403]  # and no second try


def test_a_rotated_xsrf_token_is_taken_and_the_touch_sent_once_more(
    rt: Runtime, sim: HHSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.open_window(RAISABLE)
    rt.transport.list_resumes()
    old = stored(rt).xsrf
    sim.web.sessions[stored(rt).cookies["hhtoken"]].xsrf = "rotated-by-the-site-0123456789"
    sim.web.config.rotate_xsrf_every = 1  # the next page load hands out a new one
    with caplog.at_level(logging.INFO):
        assert rt.transport.publish(RAISABLE).status == 200
    assert [t.reason for t in sim.web.touches] == ["xsrf mismatch", "raised"]
    assert stored(rt).xsrf != old
    assert "stale _xsrf" in caplog.text
    assert len([p for p in sim.publishes if p.accepted]) == 1


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("login_redirect", SessionExpired, "redirected to its login page"),
        ("captcha_redirect", CaptchaRequired, "redirected to .*/account/captcha"),
        ("401", SessionExpired, r"refused the session \(HTTP 401\)"),
        ("429", RateLimited, "slow down"),
        ("500", ServerError, "server error 500"),
        ("502_html", ServerError, "server error 502"),
    ],
)
def test_each_touch_answer_has_its_class(
    rt: Runtime, sim: HHSimulator, fault: str, error: type[Exception], message: str
) -> None:
    sim.open_window(RAISABLE)
    rt.transport.list_resumes()
    sim.inject(fault, "/applicant/resumes/touch")
    with pytest.raises(error, match=message) as caught:
        rt.transport.publish(RAISABLE)
    assert len(sim.calls("POST", "/applicant/resumes/touch")) == 1  # nothing resent
    if isinstance(caught.value, CaptchaRequired):
        assert caught.value.captcha_url is not None
        assert caught.value.captcha_url.startswith(sim.url + "/account/captcha?backurl=")
    assert not sim.calls("GET", "/account/")  # redirects are never followed


# ---- cookies ------------------------------------------------------------------------


def test_set_cookie_sets_and_deletes() -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    assert parse_set_cookie("hhtoken=NEW; Path=/; Domain=.hh.ru; Secure; HttpOnly", now) == (
        "hhtoken",
        "NEW",
    )
    assert parse_set_cookie("x=; Max-Age=0; Path=/", now) == ("x", None)
    assert parse_set_cookie("x=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", now) == ("x", None)
    assert parse_set_cookie("x=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT", now) == ("x", "1")
    assert parse_set_cookie("garbage", now) is None


def test_rotated_cookies_are_saved_and_work_after_a_restart(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    sim.web.config.rotate_every = 2  # the old hhtoken stops working at once
    first = make_web_runtime(environ, keyring_backend, sim)
    original = stored(first).cookies["hhtoken"]
    for _ in range(5):
        first.transport.list_resumes()
    rotated = stored(first).cookies["hhtoken"]
    assert rotated != original and not sim.web.is_live(original)
    first.close()
    restarted = build_runtime(environ, keyring_backend=keyring_backend)
    try:
        assert len(restarted.transport.list_resumes()) == 4  # the saved, current session
    finally:
        restarted.close()


def test_without_saving_a_rotation_the_session_would_be_lost(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    """The check above can fail: a copy of the session from before the rotation no
    longer works on the site."""
    sim.web.config.rotate_every = 2
    rt = make_web_runtime(environ, keyring_backend, sim)
    before = stored(rt)
    rt.transport.list_resumes()
    rt.transport.list_resumes()
    rt.web_sessions().save(before, rt.clock.now())  # as if the rotation was not kept
    rt.transport.credentials_changed()
    with pytest.raises(SessionExpired):
        rt.transport.list_resumes()
    rt.close()


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_the_log_shows_each_step_and_no_cookie_value(
    rt: Runtime, sim: HHSimulator, debug_log: pytest.LogCaptureFixture
) -> None:
    sim.web.config.rotate_every = 1
    sim.open_window(RAISABLE)
    rt.transport.list_resumes()
    rt.transport.publish(RAISABLE)
    sim.inject("captcha_redirect", "/applicant/resumes/touch")
    with pytest.raises(CaptchaRequired):
        rt.transport.publish(SECOND)
    text = debug_log.text
    assert "web GET /applicant/resumes -> 200 application/json" in text
    assert "web POST /applicant/resumes/touch -> 200" in text
    assert "Location=/account/captcha" in text
    assert "hh.ru rotated cookies: hhtoken" in text
    assert "web: 4 resumes" in text
    for value in stored(rt).cookies.values():
        if len(value) >= 12:
            assert value not in text


def test_multipart_is_what_the_simulator_reads() -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="resume"\r\n\r\nabc\r\n'
        b'--B\r\nContent-Disposition: form-data; name="undirectable"\r\n\r\ntrue\r\n--B--\r\n'
    )
    assert parse_multipart("multipart/form-data; boundary=B", body) == {
        "resume": "abc",
        "undirectable": "true",
    }
    assert parse_multipart("application/x-www-form-urlencoded", b"resume=abc") is None


# ---- where requests go, what is kept --------------------------------------------------


def test_the_redirect_host_cookie_sends_requests_to_the_regional_host(
    rt: Runtime, sim: HHSimulator
) -> None:
    """hh.ru's ``redirect_host`` cookie names the user's regional host; the session
    (``.hh.ru`` cookies) is the same, so requests go there. Here hh.ru itself has
    nothing listening: only the regional host answers."""
    cookies = {**stored(rt).cookies, "redirect_host": "spb.hh.ru"}
    sites = {"hh.ru": "http://127.0.0.1:9", "spb.hh.ru": sim.url}
    transport = WebTransport(
        BrowserClient(clock=rt.clock, server_clock=rt.server_clock),
        HeldSession(WebSession("hh.ru", cookies)),
        rt.server_clock,
        rt.clock,
        sites.__getitem__,
    )
    try:
        assert len(transport.list_resumes()) == 4
        assert (transport.host, transport.request_host) == ("hh.ru", "spb.hh.ru")
        sim.open_window(RAISABLE)
        assert transport.publish(RAISABLE).status == 200
        touch = sim.calls("POST", "/applicant/resumes/touch")[-1]
        assert touch.headers["Origin"] == sim.url
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("host", "named", "expected"),
    [
        ("hh.ru", "spb.hh.ru", "spb.hh.ru"),
        ("spb.hh.ru", "hh.ru", "hh.ru"),
        ("hh.ru", "", "hh.ru"),
        ("hh.ru", "hh.kz", "hh.ru"),  # another site has its own session
        ("hh.ru", "evil.example", "hh.ru"),
        ("hh.ru", "spb.hh.ru/../x", "hh.ru"),
        ("hh.ru", "notreallyhh.ru", "hh.ru"),
    ],
)
def test_only_a_host_of_the_same_site_is_followed(host: str, named: str, expected: str) -> None:
    assert regional_host(host, {"redirect_host": named}) == expected


def test_every_cookie_the_site_sets_is_kept_but_analytics(rt: Runtime, sim: HHSimulator) -> None:
    sim.web.config.extra_cookies = {"__ddg9_": "203.0.113.7", "_ym_d": "1700000000"}
    rt.transport.list_resumes()
    session = stored(rt)
    assert session.cookies["__ddg9_"] == "203.0.113.7" and "_ym_d" not in session.cookies
