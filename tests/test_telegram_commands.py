"""Remote control from the phone, through the Telegram simulator and a running service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from tray_app.adapters.service import Service
from tray_app.core.clock import SystemClock
from tray_app.core.views import PollerState, RaiseResult, Status
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import SentMessage, TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.telegram.commands import CommandPoller, OffsetFile
from tray_app.wiring import Runtime

from .conftest import CHAT, connect_telegram, make_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
STRANGER = 666


def park_all(sim: HHSimulator) -> None:
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)


@pytest.fixture
def service(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> Iterator[Service]:
    park_all(sim)
    # only the publishable ones: the others would be reported at start
    runtime = make_runtime(tg_environ, keyring_backend, sim, enabled_resumes=[A, B])
    connect_telegram(runtime, tg)
    OffsetFile(runtime.paths.telegram_offset_file).save(tg.user_says(CHAT, "/start") + 1)
    svc = Service(runtime)
    svc.start()
    yield svc
    svc.stop()


def ask(
    tg: TelegramSimulator, text: str, replies: int = 1, timeout: float = 10
) -> list[SentMessage]:
    before = len(tg.sent(CHAT))
    tg.user_says(CHAT, text)
    return tg.wait_for(before + replies, timeout, CHAT)[before:]


def test_status_lists_numbered_resumes(service: Service, tg: TelegramSimulator) -> None:
    [reply] = ask(tg, "/status")
    assert reply.plain.startswith("Вход: вход выполнен")
    assert "1. [x] " in reply.plain and "2. [x] " in reply.plain


def test_help_and_unknown(service: Service, tg: TelegramSimulator) -> None:
    [reply] = ask(tg, "/help@hh_raiser_sim_bot")
    assert "/raise N" in reply.plain
    [reply] = ask(tg, "/dance")
    assert "/help" in reply.plain


def test_raise_raises_and_is_told_once(
    service: Service, tg: TelegramSimulator, sim: HHSimulator
) -> None:
    sim.open_window(A)
    title = sim.resumes[A].title
    [told] = ask(tg, "/raise 1")
    assert [p.resume_id for p in sim.publishes] == [A]
    assert f"«{title}» поднято" in told.plain  # the notification; the reply adds nothing
    time.sleep(0.5)
    assert len([m for m in tg.sent(CHAT) if "поднято" in m.plain]) == 1


def test_raise_of_a_resume_not_due_says_when(service: Service, tg: TelegramSimulator) -> None:
    [reply] = ask(tg, f"/raise {A[:6]}")
    assert "ещё рано" in reply.plain
    [reply] = ask(tg, "/raise nosuch")
    assert "Нет резюме «nosuch»" in reply.plain


def test_pause_and_resume(service: Service, tg: TelegramSimulator) -> None:
    [reply] = ask(tg, "/pause")
    assert "Пауза" in reply.plain
    assert service.runtime.settings().paused
    assert service.runtime.engine.snapshot().paused
    [reply] = ask(tg, "/resume")
    assert "продолжается" in reply.plain
    assert not service.runtime.settings().paused


def test_strangers_are_ignored_and_logged_once(
    service: Service, tg: TelegramSimulator, sim: HHSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    sim.open_window(A)
    for _ in range(3):
        tg.user_says(STRANGER, "/raise")
        tg.user_says(STRANGER, "/pause")
    ask(tg, "/help")  # handled after the stranger's messages
    assert list(sim.publishes) == []
    assert tg.sent(STRANGER) == []
    assert not service.runtime.settings().paused
    assert len([r for r in caplog.records if str(STRANGER) in r.getMessage()]) == 1


def test_stale_commands_are_not_acted_on(
    service: Service, tg: TelegramSimulator, sim: HHSimulator
) -> None:
    sim.open_window(A)
    tg.user_says(CHAT, "/raise", ago=3600)
    ask(tg, "/help")
    assert list(sim.publishes) == []


def test_offset_survives_a_restart(service: Service, tg: TelegramSimulator) -> None:
    update_id = tg.user_says(CHAT, "/help")
    tg.wait_for(1, 10, CHAT)
    service.stop()
    assert OffsetFile(service.runtime.paths.telegram_offset_file).load() == update_id + 1
    again = Service(service.runtime)
    again.start()
    try:
        ask(tg, "/status")
        assert len(tg.sent(CHAT)) == 2  # /help was not answered a second time
    finally:
        again.stop()


def test_stop_returns_at_once_and_a_later_message_is_left_for_next_time(
    service: Service, tg: TelegramSimulator
) -> None:
    ask(tg, "/help")
    started = time.monotonic()
    service.commands.stop()
    assert time.monotonic() - started < 1.5
    tg.user_says(CHAT, "/status")
    time.sleep(0.5)
    assert "/status" in [u["message"]["text"] for u in tg.updates]  # not confirmed


class FakeControl:
    def status(self) -> Status:
        raise AssertionError("not asked in this test")

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]:
        return []

    def set_paused(self, paused: bool) -> None:
        pass


def test_conflict_backs_off_instead_of_looping(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    runtime: Runtime = make_runtime(tg_environ, keyring_backend, sim)
    connect_telegram(runtime, tg)
    tg.inject("409", "getUpdates", times=4)
    poller = CommandPoller(
        runtime.telegram_targets,
        runtime.settings,
        FakeControl(),
        OffsetFile(runtime.paths.telegram_offset_file),
        SystemClock(),
        poll_timeout=1,
        conflict_wait=0.2,
        retry_max=0.8,
    )
    poller.start()
    try:
        wait_until(lambda: poller.state is PollerState.CONFLICT)
        time.sleep(1.0)
        assert len(tg.calls("getUpdates")) <= 4  # 0.2, 0.4, 0.8 s apart: no tight loop
        wait_until(lambda: poller.state is PollerState.POLLING, timeout=5)
        tg.user_says(CHAT, "/help")
        tg.wait_for(1, 5, CHAT)
    finally:
        poller.stop()
        runtime.close()
