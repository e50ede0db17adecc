"""Remote control from the phone, through the Telegram simulator and a running service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tray_app.adapters.service import Service
from tray_app.core.clock import Clock, SystemClock
from tray_app.core.views import PollerState, RaiseResult, Status
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import SentMessage, TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.settings import SettingsStore
from tray_app.telegram.commands import CommandPoller, OffsetFile
from tray_app.wiring import Runtime

from .conftest import CHAT, connect_telegram, make_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
STRANGER = 666
GROUP = -1001234567890
MEMBER = 555


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


@pytest.fixture
def group_service(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> Iterator[Callable[[str], Service]]:
    """A running service whose chat is a group; the argument is ``telegram_user_id``
    ("" for a group set up before HH Raiser stored who may command)."""
    park_all(sim)
    started: list[Service] = []

    def start(user_id: str) -> Service:
        runtime = make_runtime(tg_environ, keyring_backend, sim, enabled_resumes=[A, B])
        connect_telegram(runtime, tg, GROUP)
        SettingsStore(runtime.paths.settings_file).update(telegram_user_id=user_id)
        runtime.settings.reload_if_changed()
        offset = tg.user_says(GROUP, "hi all", user_id=MEMBER, chat_type="supergroup") + 1
        OffsetFile(runtime.paths.telegram_offset_file).save(offset)
        started.append(Service(runtime))
        started[-1].start()
        return started[-1]

    yield start
    for service in started:
        service.stop()


def in_group(tg: TelegramSimulator, user_id: int, text: str) -> None:
    tg.user_says(GROUP, text, user_id=user_id, chat_type="supergroup")


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


def test_in_a_group_only_the_confirmed_user_commands(
    group_service: Callable[[str], Service],
    tg: TelegramSimulator,
    sim: HHSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14.2: other members of the configured group are ignored, logged once."""
    caplog.set_level(logging.WARNING)
    service = group_service(str(CHAT))
    sim.open_window(A)
    for _ in range(3):
        in_group(tg, MEMBER, "/raise")
        in_group(tg, MEMBER, "/pause")
    in_group(tg, CHAT, "/help")  # the user, in the group: answered there
    [reply] = tg.wait_for(1, 10, GROUP)
    assert "/raise N" in reply.plain
    assert list(sim.publishes) == []
    assert not service.runtime.settings().paused
    assert len([r for r in caplog.records if f"user {MEMBER}" in r.getMessage()]) == 1


def test_a_group_set_up_before_user_ids_takes_no_commands_and_says_why_once(
    group_service: Callable[[str], Service],
    tg: TelegramSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    service = group_service("")
    in_group(tg, MEMBER, "/pause")
    in_group(tg, CHAT, "/pause")
    wait_until(lambda: tg.updates == [])  # both read (and confirmed)
    time.sleep(0.3)
    assert not service.runtime.settings().paused
    assert tg.sent(GROUP) == []
    why = [r.getMessage() for r in caplog.records if "telegram setup --chat-id" in r.getMessage()]
    assert len(why) == 1 and str(GROUP) in why[0]


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


def test_a_bad_argument_gets_a_polite_answer_and_the_next_command_one_at_once(
    service: Service, tg: TelegramSimulator, sim: HHSimulator
) -> None:
    """Issue 14.2: "²".isdigit() is True and int("²") raises; that once stopped the
    poller for minutes."""
    sim.open_window(A)
    [reply] = ask(tg, "/raise ²")
    assert "Нет резюме «²»" in reply.plain
    assert "номер из /status (от 1 до 4) или id резюме" in reply.plain
    [reply] = ask(tg, "/raise <b>" + "x" * 5000)  # quoted back escaped and short
    assert "Нет резюме «<b>xxx" in reply.plain and len(reply.plain) < 400
    started = time.monotonic()
    [reply] = ask(tg, "/status", timeout=3)
    assert reply.plain.startswith("Вход:") and time.monotonic() - started < 2
    assert list(sim.publishes) == []


class FakeControl:
    def __init__(self) -> None:
        self.raised: list[str | None] = []
        self.paused: bool | None = None

    def status(self) -> Status:
        raise AssertionError("not asked in this test")

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]:
        self.raised.append(resume_id)
        return []

    def set_paused(self, paused: bool) -> None:
        self.paused = paused


class BrokenControl(FakeControl):
    """A bug in the app behind /raise."""

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]:
        raise LookupError("a bug")


class SkewedClock:
    """The machine's clock, off by ``offset``."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
def poller(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> Iterator[Callable[[FakeControl, Clock], CommandPoller]]:
    """Starts a poller for the user's chat, past the /start, with this control and clock."""
    runtime = make_runtime(tg_environ, keyring_backend, sim)
    connect_telegram(runtime, tg)
    offsets = OffsetFile(runtime.paths.telegram_offset_file)
    offsets.save(tg.user_says(CHAT, "/start") + 1)
    started: list[CommandPoller] = []

    def start(control: FakeControl, clock: Clock) -> CommandPoller:
        poller = CommandPoller(
            runtime.telegram_targets, runtime.settings, control, offsets, clock, poll_timeout=1
        )
        poller.start()
        started.append(poller)
        return poller

    yield start
    for each in started:
        each.stop()
    runtime.close()


def test_a_command_that_fails_is_answered_and_the_next_one_at_once(
    poller: Callable[[FakeControl, Clock], CommandPoller],
    tg: TelegramSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    control = BrokenControl()
    poller(control, SystemClock())
    [reply] = ask(tg, "/raise")
    assert "Команда не выполнена из-за внутренней ошибки HH Raiser" in reply.plain
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
    started = time.monotonic()
    [reply] = ask(tg, "/pause", timeout=3)
    assert "Пауза" in reply.plain and control.paused is True
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("hours", [3, -3])
def test_how_old_a_command_is_is_told_by_telegrams_clock(
    poller: Callable[[FakeControl, Clock], CommandPoller], tg: TelegramSimulator, hours: int
) -> None:
    """Issue 14.2: with the machine's clock hours off, a fresh command is answered
    and one an hour old (by Telegram's clock) is not acted on."""
    control = FakeControl()
    poller(control, SkewedClock(timedelta(hours=hours)))
    tg.user_says(CHAT, "/raise", ago=3600)
    [reply] = ask(tg, "/pause", timeout=5)
    assert "Пауза" in reply.plain and control.paused is True
    assert control.raised == []


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
