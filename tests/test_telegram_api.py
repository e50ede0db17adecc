"""The Bot API client against the Telegram simulator: one error class per case,
and no bot token in any error text."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tray_app.core.errors import (
    BotBlocked,
    BotTokenInvalid,
    ChatNotFound,
    TelegramConflict,
    TelegramError,
    TelegramRejected,
    TelegramRetryAfter,
    TelegramUnavailable,
)
from tray_app.simulator.telegram import TelegramSimulator, html_problem
from tray_app.telegram.api import BotApi, BotConfig

from .conftest import CHAT


@pytest.fixture
def api(tg: TelegramSimulator) -> Iterator[BotApi]:
    client = BotApi(BotConfig(tg.token, tg.url), timeout=(2.0, 1.0))
    yield client
    client.close()


def test_get_me_and_updates_and_send(api: BotApi, tg: TelegramSimulator) -> None:
    assert api.get_me()["username"] == tg.bot_username
    updates = api.get_updates(None, 0)
    assert updates[0]["message"]["chat"]["id"] == CHAT
    api.send_message(str(CHAT), "<b>Резюме</b> &lt;Python&gt; &amp; ко")
    assert tg.sent(CHAT)[-1].plain == "Резюме <Python> & ко"
    assert tg.calls("sendMessage")[-1].params["parse_mode"] == "HTML"


def test_confirmed_updates_are_not_served_again(api: BotApi, tg: TelegramSimulator) -> None:
    first = api.get_updates(None, 0)
    assert api.get_updates(first[-1]["update_id"] + 1, 0) == []


def test_long_poll_returns_as_soon_as_a_message_arrives(api: BotApi, tg: TelegramSimulator) -> None:
    offset = api.get_updates(None, 0)[-1]["update_id"] + 1
    started = time.monotonic()
    threading.Timer(0.3, lambda: tg.user_says(CHAT, "/status")).start()
    updates = api.get_updates(offset, 5)
    assert [u["message"]["text"] for u in updates] == ["/status"]
    assert time.monotonic() - started < 2


def test_updates_come_with_telegrams_own_time(api: BotApi, tg: TelegramSimulator) -> None:
    """The answer's Date and every message's date are the simulated Telegram's clock,
    two hours behind the real one here."""
    tg.clock_offset = -7200
    tg.user_says(CHAT, "/status")
    batch = api.poll(None, 0)
    assert batch.server_time is not None
    assert abs((batch.server_time - tg.now()).total_seconds()) < 2
    assert abs(batch.updates[-1]["message"]["date"] - tg.now().timestamp()) < 2
    assert batch.updates[-1]["message"]["from"] == {
        "id": CHAT,
        "is_bot": False,
        "first_name": "User",
        "username": "user",
    }


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("401", BotTokenInvalid),
        ("403", BotBlocked),
        ("409", TelegramConflict),
        ("500", TelegramUnavailable),
        ("drop", TelegramUnavailable),
    ],
)
def test_each_error_code_has_its_class(
    api: BotApi, tg: TelegramSimulator, fault: str, error: type[TelegramError]
) -> None:
    tg.inject(fault, "sendMessage")
    with pytest.raises(error):
        api.send_message(str(CHAT), "x")


def test_429_carries_retry_after(api: BotApi, tg: TelegramSimulator) -> None:
    tg.inject("429", "sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        api.send_message(str(CHAT), "x")
    assert caught.value.retry_after == 7


def test_timeout_is_unavailable(api: BotApi, tg: TelegramSimulator) -> None:
    tg.inject("timeout", "sendMessage", seconds=2)
    with pytest.raises(TelegramUnavailable, match="no answer in time"):
        api.send_message(str(CHAT), "x")


def test_unknown_chat_is_told_apart_from_a_bad_message(api: BotApi, tg: TelegramSimulator) -> None:
    with pytest.raises(TelegramRejected) as unknown:
        api.send_message("999", "hello")
    assert isinstance(api.explain_rejection("999", unknown.value), ChatNotFound)
    with pytest.raises(TelegramRejected) as too_long:
        api.send_message(str(CHAT), "x" * 5000)
    explained = api.explain_rejection(str(CHAT), too_long.value)
    assert type(explained) is TelegramRejected  # the chat is fine, the message is not


def test_blocked_bot_is_403(api: BotApi, tg: TelegramSimulator) -> None:
    tg.block(CHAT)
    with pytest.raises(BotBlocked):
        api.send_message(str(CHAT), "x")


def test_wrong_and_malformed_tokens(tg: TelegramSimulator) -> None:
    with pytest.raises(BotTokenInvalid):
        BotApi(BotConfig("42:wrong-token-value", tg.url)).get_me()


def test_refused_connection_and_no_token_in_any_error_text(tg: TelegramSimulator) -> None:
    api = BotApi(BotConfig(tg.token, tg.url), timeout=(1.0, 1.0))
    tg.go_offline()
    try:
        with pytest.raises(TelegramUnavailable) as caught:
            api.send_message(str(CHAT), "x")
    finally:
        tg.go_online()
    texts = [str(caught.value), repr(caught.value)]
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    for text in texts:
        assert tg.token not in text
        assert tg.token.split(":")[1] not in text


def test_simulator_html_check_is_strict() -> None:
    assert html_problem("<b>ok</b> &amp; &lt;fine&gt; &#128512;") is None
    assert html_problem("a < b") is not None
    assert html_problem("Tom & Jerry") is not None
    assert html_problem("<b>open") is not None
    assert html_problem("<div>x</div>") is not None
    assert html_problem("&nbsp;") is not None
