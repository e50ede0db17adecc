"""Which events become which notices, in which words; HTML escaping and the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tray_app.core.events import (
    AuthChanged,
    ConnectionRestored,
    Event,
    EventBus,
    PlanChanged,
    RaiseAttempted,
    ResumeSkipped,
    TokenRefreshed,
    TransientFailure,
)
from tray_app.core.models import Attempt, AuthState, NotifyLevel, Outcome, Resume
from tray_app.i18n.text import auth_text
from tray_app.notify.notices import (
    FAILURE_STREAK,
    Notice,
    NoticeComposer,
    Notifications,
    wanted,
)
from tray_app.simulator.telegram import html_problem
from tray_app.storage.settings import DEFAULTS, Settings
from tray_app.telegram.html import MESSAGE_LIMIT, coalesce, fit, utf16_len

from .conftest import FakeClock

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RESUME = Resume("r1", "Python <dev> & ops", "published", False, True, NOW, NOW)


def attempt(outcome: Outcome, detail: str | None = None) -> RaiseAttempted:
    return RaiseAttempted(
        Attempt(NOW, "r1", outcome, 204, "req", detail, RESUME.title), NOW + timedelta(hours=4)
    )


def composer(language: str = "ru") -> NoticeComposer:
    return NoticeComposer(lambda: language, FakeClock(NOW), UTC)


def kinds(c: NoticeComposer, *events: Event) -> list[tuple[str, bool]]:
    return [(n.kind, n.important) for e in events for n in c.compose(e)]


def test_raised_is_routine_with_title_time_and_next() -> None:
    [notice] = composer().compose(attempt(Outcome.RAISED))
    assert (notice.kind, notice.important) == ("raised", False)
    assert "Python <dev> & ops" in notice.text
    assert "09:00:00" in notice.text and "13:00:00" in notice.text


def test_english_when_asked() -> None:
    [notice] = composer("en").compose(attempt(Outcome.RAISED))
    assert "raised at" in notice.text


@pytest.mark.parametrize(
    ("event", "kind", "needle"),
    [
        (attempt(Outcome.UNCONFIRMED), "unconfirmed", "не изменилась"),
        (TokenRefreshed(NOW), "token_refreshed", "Токены"),
        (AuthChanged(AuthState.SIGN_IN_NEEDED, "revoked"), "sign_in_needed", "hh-raiser login"),
        (
            AuthChanged(AuthState.CAPTCHA_NEEDED, "captcha", "https://hh.ru/captcha?x=1&y=2"),
            "captcha_needed",
            "https://hh.ru/captcha?x=1&y=2",
        ),
        (AuthChanged(AuthState.API_CLOSED, "forbidden"), "api_closed", "API"),
        (ResumeSkipped(RESUME, "blocked"), "not_publishable", "заблокировано"),
    ],
)
def test_every_problem_is_an_important_notice(event: Event, kind: str, needle: str) -> None:
    [notice] = composer().compose(event)
    assert (notice.kind, notice.important) == (kind, True)
    assert needle in notice.text


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("state", [AuthState.SESSION_EXPIRED, AuthState.BOT_CHECK])
def test_an_ended_session_asks_for_the_sign_in_window_first(
    state: AuthState, language: str
) -> None:
    """Desktop and Telegram tell the same notice: the window first, the other ways after."""
    [notice] = composer(language).compose(AuthChanged(state, "x"))
    assert (notice.kind, notice.important) == (state.value, True)
    item = {"ru": "«Войти на hh.ru…»", "en": "“Sign in to hh.ru…”"}[language]
    window, firefox = notice.text.find(item), notice.text.find("login --web --firefox")
    assert 0 <= window < notice.text.find("hh-raiser login --web --window") < firefox
    assert "--cookies" in notice.text  # the other ways stay


@pytest.mark.parametrize("language", ["ru", "en"])
def test_no_account_mentions_the_sign_in_window(language: str) -> None:
    text = auth_text(AuthState.NOT_CONFIGURED, language)
    assert "hh-raiser login --web --window" in text
    assert {"ru": "«Войти на hh.ru…»", "en": "“Sign in to hh.ru…”"}[language] in text


def test_quiet_events_make_no_notice() -> None:
    c = composer()
    assert (
        kinds(
            c,
            attempt(Outcome.TOO_EARLY),
            attempt(Outcome.SIGN_IN_NEEDED),  # told by AuthChanged instead
            PlanChanged(),
            AuthChanged(AuthState.OK),  # nothing was wrong before
            ConnectionRestored(),  # no streak was told
        )
        == []
    )


def test_failure_streak_told_once_and_its_end_told_too() -> None:
    c = composer()
    failure = attempt(Outcome.FAILED, "POST /resumes/r1/publish: connection failed")
    transient = TransientFailure("GET /resumes/mine: 503", NOW + timedelta(minutes=1))
    told = kinds(c, *([failure, transient] * FAILURE_STREAK))
    assert told == [("failing", True)]
    assert kinds(c, failure) == []
    assert kinds(c, attempt(Outcome.RAISED)) == [("recovered", True), ("raised", False)]
    assert kinds(c, *([failure] * (FAILURE_STREAK - 1))) == []  # a new streak starts at 0


def test_a_short_run_of_failures_is_not_told() -> None:
    c = composer()
    failures = [TransientFailure("503", NOW)] * (FAILURE_STREAK - 1)
    assert kinds(c, *failures, ConnectionRestored()) == []


def test_list_recovery_ends_a_told_streak() -> None:
    c = composer()
    kinds(c, *[TransientFailure("503", NOW)] * FAILURE_STREAK)
    assert kinds(c, ConnectionRestored()) == [("recovered", True)]


def test_access_restored_after_an_auth_problem() -> None:
    c = composer()
    assert kinds(c, AuthChanged(AuthState.CAPTCHA_NEEDED, None, "https://hh.ru/c")) == [
        ("captcha_needed", True)
    ]
    assert kinds(c, AuthChanged(AuthState.OK)) == [("auth_restored", True)]
    assert kinds(c, AuthChanged(AuthState.OK)) == []


@pytest.mark.parametrize(
    ("level", "routine", "important"),
    [
        (NotifyLevel.ALL, True, True),
        (NotifyLevel.IMPORTANT, False, True),
        (NotifyLevel.OFF, False, False),
    ],
)
def test_levels(level: NotifyLevel, routine: bool, important: bool) -> None:
    assert wanted(level, Notice("raised", "x", False, NOW)) is routine
    assert wanted(level, Notice("failing", "x", True, NOW)) is important


def test_hub_filters_by_the_current_level_and_survives_a_broken_sink() -> None:
    bus = EventBus()
    settings: list[Settings] = [DEFAULTS]
    hub = Notifications(bus, lambda: settings[-1], FakeClock(NOW), UTC)
    got: list[str] = []

    def broken(notice: Notice) -> None:
        raise RuntimeError("sink bug")

    hub.add_sink(broken)
    hub.add_sink(lambda n: got.append(n.kind))
    bus.publish(attempt(Outcome.RAISED))
    settings.append(Settings(notify_level=NotifyLevel.IMPORTANT))
    bus.publish(attempt(Outcome.RAISED))
    bus.publish(TokenRefreshed(None))
    hub.close()
    bus.publish(TokenRefreshed(None))
    assert got == ["raised", "token_refreshed"]


# ---- HTML ---------------------------------------------------------------------------


def test_fit_escapes_and_keeps_short_texts_whole() -> None:
    assert fit("a < b & c > d") == "a &lt; b &amp; c &gt; d"


@pytest.mark.parametrize("unit", ["&", "<", "я", "😀", "a"])
def test_fit_cuts_under_the_limit_without_splitting_entities(unit: str) -> None:
    text = fit(unit * 6000)
    assert utf16_len(text) <= MESSAGE_LIMIT
    assert text.endswith("…")
    assert html_problem(text) is None
    assert utf16_len(text) > MESSAGE_LIMIT - 10  # cut close to the limit, not far below


def test_coalesce_puts_oldest_first_under_one_header_within_the_limit() -> None:
    notices = [
        Notice("failing", f"problem {i} <&>", True, NOW + timedelta(minutes=i)) for i in range(3)
    ]
    text, count = coalesce(notices, "ru", UTC)
    assert count == 3
    assert text.index("problem 0") < text.index("problem 1") < text.index("problem 2")
    assert html_problem(text) is None
    assert text.startswith("<b>")


def test_coalesce_stops_at_the_limit_and_cuts_a_single_giant() -> None:
    many = [Notice("raised", "x" * 1000, False, NOW)] * 10
    text, count = coalesce(many, "ru", UTC)
    assert 1 < count < 10 and utf16_len(text) <= MESSAGE_LIMIT
    giant = [Notice("failing", "&" * 5000, True, NOW), Notice("raised", "y", False, NOW)]
    text, count = coalesce(giant, "ru", UTC)
    assert count == 1 and utf16_len(text) <= MESSAGE_LIMIT and html_problem(text) is None
