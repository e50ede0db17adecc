"""The Telegram notifier against the Telegram simulator: delivery, retry_after,
outages with nothing important lost (across a restart too), misconfiguration told once,
and the digest."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tray_app.core.events import ChannelState, Event, TelegramStatusChanged
from tray_app.core.models import Attempt, Outcome
from tray_app.notify.notices import Notice
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import SettingsStore
from tray_app.telegram.delivery import TelegramNotifier
from tray_app.telegram.digest import digest_text
from tray_app.telegram.outbox import Outbox
from tray_app.wiring import Runtime

from .conftest import CHAT, FakeClock, connect_telegram, make_runtime, wait_until

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def rt(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> Iterator[Runtime]:
    runtime = make_runtime(tg_environ, keyring_backend, sim)
    connect_telegram(runtime, tg)
    yield runtime
    runtime.close()


MakeNotifier = Callable[..., TelegramNotifier]


@pytest.fixture
def make_notifier(rt: Runtime) -> Iterator[MakeNotifier]:
    made: list[TelegramNotifier] = []

    def make(
        clock: FakeClock | None = None, digest: Callable[[], str] | None = None
    ) -> TelegramNotifier:
        notifier = TelegramNotifier(
            rt.telegram_targets,
            Outbox(rt.paths.telegram_outbox_file),
            rt.bus,
            rt.settings,
            clock or rt.clock,
            digest=digest,
            tz=UTC,
            retry_first=0.2,
            retry_max=0.5,
        )
        notifier.start()
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.stop()


def notice(kind: str, important: bool, text: str | None = None) -> Notice:
    return Notice(kind, text or f"{kind} <&>", important, datetime.now(UTC))


def status_events(rt: Runtime) -> list[TelegramStatusChanged]:
    seen: list[Event] = []
    rt.bus.subscribe(seen.append)
    return seen  # type: ignore[return-value]


def test_delivers_in_order_routine_silently(
    make_notifier: MakeNotifier, tg: TelegramSimulator
) -> None:
    notifier = make_notifier()
    notifier.submit(notice("raised", False, "first"))
    wait_until(lambda: len(tg.sent(CHAT)) == 1)
    notifier.submit(notice("failing", True, "second <b>"))
    sent = tg.wait_for(2, 5, CHAT)
    assert [m.plain for m in sent] == ["first", "second <b>"]
    assert [m.silent for m in sent] == [True, False]
    wait_until(lambda: notifier.status().pending == 0)
    assert notifier.status().state is ChannelState.OK


def test_429_waits_exactly_retry_after(make_notifier: MakeNotifier, tg: TelegramSimulator) -> None:
    tg.inject("429", "sendMessage", retry_after=2)
    make_notifier().submit(notice("failing", True))
    tg.wait_for(1, 6, CHAT)
    first, second = tg.calls("sendMessage")[:2]
    assert first.status == 429 and second.status == 200
    assert 2.0 <= second.real_at - first.real_at < 2.3


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda rt, tg: rt.secrets.set(TELEGRAM_BOT_TOKEN, "42:not-the-bot-token"), "bad_token"),
        (
            lambda rt, tg: SettingsStore(rt.paths.settings_file).update(telegram_chat_id="777"),
            "chat_not_found",
        ),
        (lambda rt, tg: tg.block(CHAT), "bot_blocked"),
    ],
)
def test_misconfiguration_is_reported_once_and_cleared_by_a_fix(
    rt: Runtime,
    tg: TelegramSimulator,
    make_notifier: MakeNotifier,
    caplog: pytest.LogCaptureFixture,
    break_it: Callable[[Runtime, TelegramSimulator], None],
    reason: str,
) -> None:
    good_token = tg.token
    break_it(rt, tg)
    rt.settings.reload_if_changed()
    events = status_events(rt)
    notifier = make_notifier()
    caplog.set_level(logging.WARNING)
    for i in range(3):
        notifier.submit(notice("failing", True, f"important {i}"))
        notifier.submit(notice("raised", False, f"routine {i}"))
    wait_until(lambda: notifier.status().state is ChannelState.MISCONFIGURED)
    time.sleep(0.5)  # no retries follow
    notifier.reconfigure()  # the user saves unrelated settings: one more try, still broken
    time.sleep(0.5)
    status = notifier.status()
    assert (status.state, status.reason) == (ChannelState.MISCONFIGURED, reason)
    assert len(tg.calls("sendMessage")) <= 2
    assert [e.reason for e in events if isinstance(e, TelegramStatusChanged)] == [reason]
    warnings = [r for r in caplog.records if "misconfigured" in r.getMessage()]
    assert len(warnings) == 1
    assert status.pending == 3  # the important ones wait; raises are not worth keeping
    # the fix
    rt.secrets.set(TELEGRAM_BOT_TOKEN, good_token)
    SettingsStore(rt.paths.settings_file).update(telegram_chat_id=CHAT)
    rt.settings.reload_if_changed()
    tg.user_says(CHAT, "/start")  # unblocks
    notifier.reconfigure()
    [message] = tg.wait_for(1, 5, CHAT)
    assert [f"important {i}" in message.plain for i in range(3)] == [True] * 3
    assert "routine" not in message.plain
    wait_until(lambda: notifier.status().state is ChannelState.OK)
    assert isinstance(events[-1], TelegramStatusChanged) and events[-1].state is ChannelState.OK


def test_outage_keeps_important_on_disk_then_sends_them_coalesced(
    rt: Runtime, tg: TelegramSimulator, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    tg.go_offline()
    for i in range(3):
        notifier.submit(notice("failing", True, f"important {i}"))
    notifier.submit(notice("raised", False, "routine"))
    wait_until(lambda: notifier.status().state is ChannelState.UNREACHABLE)
    saved = json.loads(rt.paths.telegram_outbox_file.read_text(encoding="utf-8"))
    assert [r["text"] for r in saved] == ["important 0", "important 1", "important 2"]
    tg.go_online()
    [message] = tg.wait_for(1, 5, CHAT)
    texts = ["important 0", "important 1", "important 2", "routine"]
    positions = [message.plain.index(text) for text in texts]
    assert positions == sorted(positions)
    wait_until(lambda: notifier.status().pending == 0)
    assert notifier.status().state is ChannelState.OK
    assert not rt.paths.telegram_outbox_file.exists()


def test_nothing_important_is_lost_across_a_restart(
    rt: Runtime, tg: TelegramSimulator, make_notifier: MakeNotifier
) -> None:
    tg.go_offline()
    first = make_notifier()
    first.submit(notice("sign_in_needed", True, "sign in again"))
    first.submit(notice("raised", False, "routine"))
    wait_until(lambda: first.status().state is ChannelState.UNREACHABLE)
    first.stop()
    tg.go_online()
    make_notifier()  # a new process would read the same file
    [message] = tg.wait_for(1, 5, CHAT)
    assert message.plain == "sign in again"


def test_a_message_telegram_refuses_is_dropped_not_retried_forever(
    tg: TelegramSimulator, make_notifier: MakeNotifier
) -> None:
    # the chat exists (getChat works): the message is what Telegram refuses
    tg.inject("400", "sendMessage", times=100, text_contains="bad one")
    notifier = make_notifier()
    notifier.submit(notice("failing", True, "bad one"))
    notifier.submit(notice("failing", True, "good one"))
    [message] = tg.wait_for(1, 5, CHAT)
    assert message.plain == "good one"
    wait_until(lambda: notifier.status().pending == 0)
    assert notifier.status().state is ChannelState.OK


def test_not_configured_takes_nothing(
    rt: Runtime, tg: TelegramSimulator, make_notifier: MakeNotifier
) -> None:
    SettingsStore(rt.paths.settings_file).update(telegram_chat_id="")
    rt.settings.reload_if_changed()
    notifier = make_notifier()
    notifier.submit(notice("failing", True))
    time.sleep(0.3)
    assert notifier.status().state is ChannelState.NOT_CONFIGURED
    assert notifier.status().pending == 0 and tg.calls("sendMessage") == []


def test_digest_is_sent_at_its_local_time(
    rt: Runtime, tg: TelegramSimulator, make_notifier: MakeNotifier
) -> None:
    SettingsStore(rt.paths.settings_file).update(digest_time="09:30")
    rt.settings.reload_if_changed()
    clock = FakeClock(NOW)
    notifier = make_notifier(clock=clock, digest=lambda: "the digest")
    time.sleep(0.2)
    assert tg.calls("sendMessage") == []
    clock.advance(31 * 60)
    notifier.reconfigure()  # wakes the worker (the real one wakes by its own timeout)
    [message] = tg.wait_for(1, 5, CHAT)
    assert message.plain == "the digest"
    clock.advance(60)
    notifier.reconfigure()
    time.sleep(0.3)
    assert len(tg.sent(CHAT)) == 1  # once a day


def test_digest_text_counts_last_24_hours(rt: Runtime) -> None:
    rt.engine.refresh()
    snapshot = rt.engine.snapshot()
    resume = snapshot.resumes[0]
    now = datetime.now(UTC)
    history = [
        Attempt(now - timedelta(hours=h), resume.id, Outcome.RAISED, title=resume.title)
        for h in (1, 5, 9, 30)
    ] + [Attempt(now - timedelta(hours=2), resume.id, Outcome.FAILED, title=resume.title)]
    text = digest_text(history, snapshot, now, "en", UTC)
    assert f"“{resume.title}”: raised 3 times" in text
    assert "failed attempts: 1" in text
