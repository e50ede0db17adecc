"""The API transport against the simulator over real HTTP: one error class per case."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tray_app.core.clock import ServerClock, SystemClock
from tray_app.core.errors import (
    ApplicantApiClosed,
    BadUserAgent,
    CaptchaRequired,
    ConnectionFailed,
    InvalidResponse,
    NotPublishable,
    RequestTimeout,
    ResumeNotFound,
    ServerError,
    SignInNeeded,
    TooEarly,
)
from tray_app.core.models import Standing
from tray_app.simulator.hh import HHSimulator
from tray_app.transports.hh_api import hh_user_agent
from tray_app.transports.http import HttpClient, default_retry
from tray_app.wiring import Runtime

RAISABLE = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
SECOND = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
UNPUBLISHED = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"


def test_user_agent_names_app_version_and_contact() -> None:
    assert hh_user_agent("me@example.com") == "HHRaiser/0.1.0 (me@example.com)"


def test_every_page_is_read(runtime: Runtime, sim: HHSimulator) -> None:
    sim.config.max_per_page = 1
    resumes = runtime.api.list_resumes()
    assert len(resumes) == 4
    assert [c.query["page"] for c in sim.calls("GET", "/resumes/mine")] == [
        ["0"],
        ["1"],
        ["2"],
        ["3"],
    ]
    by_id = {r.id: r for r in resumes}
    unpublished, blocked = by_id[UNPUBLISHED], by_id[BLOCKED]
    assert unpublished.next_publish_at is None and unpublished.standing is Standing.DRAFT
    assert blocked.blocked and blocked.standing is Standing.BLOCKED
    assert by_id[RAISABLE].raisable and by_id[RAISABLE].next_publish_at is not None


def test_a_resume_in_its_cooldown_says_it_cannot_be_raised_now_and_is_still_live(
    runtime: Runtime, sim: HHSimulator
) -> None:
    """``can_publish_or_update`` means "now" (hh's field table, api.hh.ru/openapi/redoc): false
    until ``next_publish_at``, true after, null for unpublished resumes. It is kept
    as read and never makes a published resume "cannot be raised"."""
    sim.open_window(RAISABLE, in_seconds=600)
    sim.open_window(SECOND, in_seconds=-5)
    by_id = {r.id: r for r in runtime.api.list_resumes()}
    cooling, due = by_id[RAISABLE], by_id[SECOND]
    assert (cooling.can_publish, cooling.standing) == (False, Standing.LIVE)
    assert (due.can_publish, due.standing) == (True, Standing.LIVE)
    assert by_id[UNPUBLISHED].can_publish is None


def test_requests_carry_user_agent_and_bearer(runtime: Runtime, sim: HHSimulator) -> None:
    runtime.api.me()
    request = sim.requests[-1]
    assert request.headers["HH-User-Agent"] == "HHRaiser/0.1.0 (tests@example.com)"
    assert request.headers["Authorization"].startswith("Bearer AT")


def test_publish_too_early_is_too_early(runtime: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE, in_seconds=60)
    with pytest.raises(TooEarly) as caught:
        runtime.api.publish(RAISABLE)
    assert caught.value.status == 429 and caught.value.request_id


def test_publish_when_due_succeeds(runtime: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    assert runtime.api.publish(RAISABLE).status == 204


def test_blocked_resume_is_not_publishable(runtime: Runtime) -> None:
    with pytest.raises(NotPublishable):
        runtime.api.publish(BLOCKED)


def test_unknown_resume_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(ResumeNotFound):
        runtime.api.publish("ffff")


def test_captcha_carries_its_url_with_backurl(runtime: Runtime, sim: HHSimulator) -> None:
    sim.inject("captcha", "/resumes/mine")
    with pytest.raises(CaptchaRequired) as caught:
        runtime.api.list_resumes()
    assert caught.value.captcha_url is not None
    assert caught.value.captcha_url.startswith("https://hh.ru/account/captcha?state=sim&backurl=")


def test_closed_applicant_api_is_its_own_error(runtime: Runtime, sim: HHSimulator) -> None:
    sim.config.api_closed = True
    with pytest.raises(ApplicantApiClosed):
        runtime.api.list_resumes()


def test_revoked_token_needs_sign_in(runtime: Runtime, sim: HHSimulator) -> None:
    sim.revoke_all_tokens()
    with pytest.raises(SignInNeeded):
        runtime.api.list_resumes()


def test_missing_user_agent_is_reported(sim: HHSimulator) -> None:
    http = HttpClient(sim.url, headers={}, clock=SystemClock(), server_clock=ServerClock())
    response = http.request("GET", "/me")
    from tray_app.transports.hh_errors import raise_for_api_error

    with pytest.raises(BadUserAgent):
        raise_for_api_error(response, "GET /me")


def test_get_5xx_is_retried_by_the_retry_layer(runtime: Runtime, sim: HHSimulator) -> None:
    sim.inject("503", "/resumes/mine", times=2)
    assert len(runtime.api.list_resumes()) == 4
    assert len(sim.calls("GET", "/resumes/mine")) == 3


def test_persistent_5xx_becomes_server_error(runtime: Runtime, sim: HHSimulator) -> None:
    sim.inject("502_html", "/resumes/mine", times=10)
    with pytest.raises(ServerError):
        runtime.api.list_resumes()


def test_publish_is_never_resent_after_a_5xx(runtime: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    sim.inject("500", f"/resumes/{RAISABLE}/publish", times=5)
    with pytest.raises(ServerError):
        runtime.api.publish(RAISABLE)
    assert len(sim.calls("POST", f"/resumes/{RAISABLE}/publish")) == 1


def test_garbage_body_is_invalid_response(runtime: Runtime, sim: HHSimulator) -> None:
    sim.inject("garbage", "/resumes/mine")
    with pytest.raises(InvalidResponse):
        runtime.api.list_resumes()


def test_timeout_is_request_timeout(runtime: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    sim.inject("timeout", f"/resumes/{RAISABLE}/publish", seconds=3)
    with pytest.raises(RequestTimeout):
        runtime.api.publish(RAISABLE)


def test_dropped_connection_is_connection_failed(runtime: Runtime, sim: HHSimulator) -> None:
    sim.open_window(RAISABLE)
    sim.inject("drop", f"/resumes/{RAISABLE}/publish")
    with pytest.raises(ConnectionFailed) as caught:
        runtime.api.publish(RAISABLE)
    assert caught.value.reached_server


def test_refused_connection_never_reached_the_server() -> None:
    http = HttpClient(
        "http://127.0.0.1:9",
        headers={},
        clock=SystemClock(),
        server_clock=ServerClock(),
        retry=default_retry(backoff_factor=0),
    )
    with pytest.raises(ConnectionFailed) as caught:
        http.request("GET", "/me")
    assert not caught.value.reached_server


def test_request_id_is_logged(
    runtime: Runtime, sim: HHSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.open_window(RAISABLE, in_seconds=60)
    caplog.set_level(logging.INFO)
    with pytest.raises(TooEarly) as caught:
        runtime.api.publish(RAISABLE)
    assert caught.value.request_id and caught.value.request_id in caplog.text


def test_server_dates_feed_the_server_clock(runtime: Runtime, sim: HHSimulator) -> None:
    sim.config.clock_offset = 300.0
    for _ in range(3):
        runtime.api.me()
    assert 298.5 < runtime.server_clock.offset <= 300.0
    assert runtime.server_clock.to_server(runtime.clock.now()) - sim.now() < timedelta(seconds=1.5)
