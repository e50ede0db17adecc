"""Core events to Telegram messages end to end: the real engine against the hh.ru
simulator, the notifier against the Telegram simulator. And a 60-second Telegram
outage beside a running service: no raise moves, no important message is lost."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.adapters.service import Service
from tray_app.core.events import ChannelState
from tray_app.notify.notices import FAILURE_STREAK, Notifications
from tray_app.simulator.hh import HHSimulator, SimConfig
from tray_app.simulator.telegram import SentMessage, TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.telegram.delivery import RETRY_MAX
from tray_app.wiring import Runtime

from .conftest import CHAT, connect_telegram, make_runtime
from .test_telegram_cli import run as run_telegram

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"


@pytest.fixture
def wired(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> Iterator[Runtime]:
    """Engine, notification hub and Telegram worker; the test plays the scheduler."""
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)
    runtime = make_runtime(tg_environ, keyring_backend, sim, enabled_resumes=[A, B])
    connect_telegram(runtime, tg)
    hub = Notifications(runtime.bus, runtime.settings, runtime.clock)
    hub.add_sink(runtime.telegram.submit)
    runtime.telegram.start()
    runtime.engine.refresh()
    yield runtime
    hub.close()
    runtime.telegram.stop()
    runtime.close()


def next_message(tg: TelegramSimulator, seen: int) -> SentMessage:
    messages = tg.wait_for(seen + 1, 10, CHAT)
    assert len(messages) == seen + 1, [m.plain for m in messages]
    return messages[-1]


def test_every_event_reaches_telegram_in_the_users_words(
    wired: Runtime, sim: HHSimulator, tg: TelegramSimulator
) -> None:
    engine = wired.engine
    title = sim.resumes[A].title
    # raised: title, local time, next raise
    sim.open_window(A)
    engine.raise_now(A)
    raised = next_message(tg, 0)
    assert f"«{title}» поднято в " in raised.plain and "Следующее поднятие" in raised.plain
    assert raised.silent  # routine
    # unconfirmed
    sim.open_window(A)
    sim.inject("noop_publish", f"/resumes/{A}/publish")
    engine.raise_now(A)
    assert "дата резюме не изменилась" in next_message(tg, 1).plain
    # token refreshed
    sim.expire_all_tokens()
    engine.refresh()
    assert "Токены hh.ru обновлены" in next_message(tg, 2).plain
    # repeated failures: once per streak, then the recovery
    sim.inject("503", "/resumes/mine", times=3 * FAILURE_STREAK)
    for _ in range(FAILURE_STREAK + 1):
        engine.refresh()
    failing = next_message(tg, 3)
    assert "Не получается" in failing.plain and not failing.silent
    engine.refresh()
    assert "Снова работает" in next_message(tg, 4).plain
    # captcha, with its link, and access restored
    sim.inject("captcha", "/resumes/mine")
    engine.refresh()
    captcha = next_message(tg, 5)
    assert "капчу" in captcha.plain and "https://hh.ru/account/captcha?state=sim" in captcha.plain
    engine.refresh()
    assert "Доступ к hh.ru восстановлен" in next_message(tg, 6).plain
    # a resume that cannot be published, reported once
    wired.paths.settings_file.write_text(
        wired.paths.settings_file.read_text().replace(f'"{B}"', f'"{B}", "{BLOCKED}"')
    )
    wired.settings.reload_if_changed()
    engine.refresh()
    engine.refresh()
    assert "нельзя поднять (заблокировано модератором)" in next_message(tg, 7).plain
    # sign-in needed
    sim.revoke_all_tokens()
    sim.expire_all_tokens()
    engine.refresh()
    assert "Нужно заново войти в hh.ru" in next_message(tg, 8).plain
    time.sleep(0.3)
    assert len(tg.sent(CHAT)) == 9  # nothing told twice


def test_level_important_skips_raises_and_off_skips_everything(
    wired: Runtime, sim: HHSimulator, tg: TelegramSimulator
) -> None:
    from .conftest import write_settings

    write_settings(Path(wired.paths.settings_file).parent.parent, notify_level="important")
    wired.settings.reload_if_changed()
    sim.open_window(A)
    wired.engine.raise_now(A)
    sim.expire_all_tokens()
    wired.engine.refresh()
    assert "Токены" in next_message(tg, 0).plain
    write_settings(Path(wired.paths.settings_file).parent.parent, notify_level="off")
    wired.settings.reload_if_changed()
    sim.expire_all_tokens()
    wired.engine.refresh()
    time.sleep(0.3)
    assert len(tg.sent(CHAT)) == 1


def test_after_setup_only_the_person_who_sent_the_code_commands(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    """Issue 14: ``telegram setup --chat-id <group>``, then the running app. What a
    stranger and a group member sent meanwhile is never acted on; afterwards only the
    user commands in the group."""
    group, member, stranger = -1001234567890, 555, 999
    tg.user_says(group, "hello", user_id=member, chat_type="supergroup")

    def people(code: str) -> None:
        tg.user_says(stranger, "/pause", username="mallory")
        tg.user_says(group, "/pause", user_id=member, chat_type="supergroup")
        tg.user_says(CHAT, f"/start {code}", username="anna")

    code, _, err = run_telegram(
        tg_environ, keyring_backend, tg.token, "setup", "--chat-id", str(group), phone=people
    )
    assert code == 0, err
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)
    runtime = make_runtime(tg_environ, keyring_backend, sim, enabled_resumes=[A, B])
    service = Service(runtime)
    service.start()
    try:
        tg.user_says(group, "/pause", user_id=member, chat_type="supergroup")
        tg.user_says(group, "/status@hh_raiser_sim_bot", user_id=CHAT, chat_type="supergroup")
        replies = tg.wait_for(2, 10, group)  # the setup's test message, then /status
        assert replies[-1].plain.startswith("Вход:")
        time.sleep(0.3)
        assert not runtime.settings().paused
        assert tg.sent(stranger) == [] and len(tg.sent(group)) == 2
    finally:
        service.stop()


# ---- the outage ---------------------------------------------------------------------

OUTAGE = 60.0
COOLDOWN = 3.0
MARGIN = 0.5


def start_service(
    home: Path, keyring: MemoryKeyring
) -> tuple[Service, HHSimulator, TelegramSimulator]:
    sim = HHSimulator(SimConfig(cooldown=COOLDOWN)).start()
    tg = TelegramSimulator().start()
    tg.user_says(CHAT, "/start")
    environ = {
        "HH_RAISER_HOME": str(home),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_TELEGRAM_URL": tg.url,
        "HH_RAISER_TIMEOUT": "2",
    }
    runtime = make_runtime(
        environ, keyring, sim, margin_seconds=MARGIN, telegram_commands=False
    )  # every resume enabled: the two unpublishable ones make important notices at start
    connect_telegram(runtime, tg)
    service = Service(runtime)
    return service, sim, tg


def lags(sim: HHSimulator) -> list[float]:
    return [
        p.real_at - (p.window.timestamp() + MARGIN)
        for p in sim.publishes
        if p.accepted and p.window is not None
    ]


def test_a_minute_without_telegram_delays_no_raise_and_loses_nothing(
    tmp_path: Path,
) -> None:
    calm, calm_sim, calm_tg = start_service(tmp_path / "calm", MemoryKeyring())
    storm, storm_sim, storm_tg = start_service(tmp_path / "storm", MemoryKeyring())
    # first half: Telegram accepts connections and never answers; second: refuses them
    storm_tg.inject("timeout", times=10_000, seconds=OUTAGE)
    for service in (calm, storm):
        service.start()
    try:
        time.sleep(OUTAGE / 2)
        storm_tg.go_offline()
        time.sleep(OUTAGE / 2)
        assert storm.runtime.telegram.status().state is ChannelState.UNREACHABLE
        assert storm.runtime.paths.telegram_outbox_file.exists()  # important ones on disk
        with storm_tg.lock:
            storm_tg.faults.clear()
        storm_tg.go_online()
        unpublishable = [r.title for r in calm_sim.resumes.values() if r.id not in (A, B)]
        important = [f"«{title}»: резюме нельзя поднять" for title in unpublishable]
        calm_text = "\n".join(m.plain for m in calm_tg.wait_for(1, 5, CHAT))
        assert all(text in calm_text for text in important)
        deadline = time.monotonic() + RETRY_MAX + 15  # the back-off may have just begun
        while time.monotonic() < deadline:
            delivered = "\n".join(m.plain for m in storm_tg.sent(CHAT))
            if all(text in delivered for text in important):
                break
            time.sleep(0.2)
        for text in important:
            assert text in delivered
    finally:
        for service in (calm, storm):
            service.stop()
        for server in (calm_sim, storm_sim, calm_tg, storm_tg):
            server.stop()
    calm_lags, storm_lags = lags(calm_sim), lags(storm_sim)
    assert calm_sim.premature_publishes() == storm_sim.premature_publishes() == []
    assert len(calm_lags) >= 2 * OUTAGE / (COOLDOWN + MARGIN + 1) - 4
    assert abs(len(calm_lags) - len(storm_lags)) <= 2
    assert max(storm_lags) < 1.0
    assert abs(statistics.median(storm_lags) - statistics.median(calm_lags)) < 0.1
    print(
        f"raise lag p50 {statistics.median(calm_lags) * 1000:.0f} ms without outage, "
        f"{statistics.median(storm_lags) * 1000:.0f} ms with; max {max(calm_lags) * 1000:.0f} / "
        f"{max(storm_lags) * 1000:.0f} ms; raises {len(calm_lags)} / {len(storm_lags)}"
    )
    assert threading.active_count() < 50
