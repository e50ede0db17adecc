"""``hh-raiser telegram setup`` and ``telegram test`` against the Telegram simulator."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from tray_app.adapters.cli import EXIT_FAILURE, EXIT_OK, Cli, main
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import SettingsStore

from .conftest import CHAT


def run(
    environ: dict[str, str], backend: MemoryKeyring, token: str, *args: str
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(
        environ=environ, out=out, err=err, keyring_backend=backend, secret_prompt=lambda _: token
    )
    code = main(["telegram", *args], cli)
    return code, out.getvalue(), err.getvalue()


def stored(environ: dict[str, str], backend: MemoryKeyring) -> tuple[str | None, str]:
    paths = app_paths(environ)
    token = backend.get_password(paths.keyring_service, TELEGRAM_BOT_TOKEN)
    return token, SettingsStore(paths.settings_file).load().telegram_chat_id


def test_setup_finds_the_chat_saves_and_sends_a_test(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    code, out, err = run(tg_environ, keyring_backend, tg.token, "setup")
    assert code == EXIT_OK, err
    assert "@hh_raiser_sim_bot" in out and f"Нашёл чат {CHAT} (anna)" in out
    assert stored(tg_environ, keyring_backend) == (tg.token, str(CHAT))
    assert "HH Raiser подключён" in tg.sent(CHAT)[-1].plain
    assert tg.updates == []  # the /start was confirmed: the poller will not answer it
    offset = Path(tg_environ["HH_RAISER_HOME"]) / "data" / "telegram-offset.json"
    assert offset.exists()
    assert tg.token not in out + err


def test_setup_waits_for_start(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    with tg.lock:
        tg.updates.clear()
    threading.Timer(0.5, lambda: tg.user_says(777, "/start", username="boris")).start()
    code, out, _ = run(tg_environ, keyring_backend, tg.token, "setup", "--timeout", "10")
    assert code == EXIT_OK
    assert "отправьте боту /start" in out and "Нашёл чат 777 (boris)" in out
    assert stored(tg_environ, keyring_backend)[1] == "777"


@pytest.mark.parametrize(
    ("token", "args", "prepare", "needle"),
    [
        ("42:wrong", [], None, "не принял токен"),
        (None, ["--timeout", "1"], "silence", "никто не написал"),
        (None, ["--chat-id", "555"], None, "не знает этот чат"),
        (None, ["--chat-id", str(CHAT)], "block", "заблокирован"),
        (None, [], "offline", "Telegram недоступен"),
        ("", [], None, "Токен не введён"),
    ],
)
def test_setup_failures_are_explained_and_save_nothing(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    tg: TelegramSimulator,
    token: str | None,
    args: list[str],
    prepare: str | None,
    needle: str,
) -> None:
    if prepare == "silence":
        with tg.lock:
            tg.updates.clear()
    elif prepare == "block":
        tg.block(CHAT)
    elif prepare == "offline":
        tg.go_offline()
    code, out, err = run(
        tg_environ, keyring_backend, tg.token if token is None else token, "setup", *args
    )
    assert code == EXIT_FAILURE
    assert needle in err
    assert stored(tg_environ, keyring_backend) == (None, "")
    assert tg.token not in out + err


def test_test_command(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    code, _, err = run(tg_environ, keyring_backend, "", "test")
    assert code == EXIT_FAILURE and "telegram setup" in err
    assert run(tg_environ, keyring_backend, tg.token, "setup")[0] == EXIT_OK
    code, out, _ = run(tg_environ, keyring_backend, "", "test")
    assert code == EXIT_OK and "отправлено" in out
    assert "Проверка связи" in tg.sent(CHAT)[-1].plain
    tg.block(CHAT)
    code, _, err = run(tg_environ, keyring_backend, "", "test")
    assert code == EXIT_FAILURE and "заблокирован" in err
