"""``hh-raiser telegram setup`` and ``telegram test`` against the Telegram simulator."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tray_app.adapters.cli import EXIT_FAILURE, EXIT_OK, Cli, main
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import SettingsStore

from .conftest import CHAT

STRANGER = 999
GROUP = -1001234567890
SHOWN_CODE = re.compile(r"https://t\.me/hh_raiser_sim_bot\?start=([A-Za-z0-9_-]+)")


def run(
    environ: dict[str, str],
    backend: MemoryKeyring,
    token: str,
    *args: str,
    phone: Callable[[str], object] | None = None,
) -> tuple[int, str, str]:
    """Runs ``hh-raiser telegram ARGS``; ``phone(code)`` plays whoever writes to the bot
    once the setup code is on screen (read from the deep link printed)."""
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(
        environ=environ, out=out, err=err, keyring_backend=backend, secret_prompt=lambda _: token
    )

    def watch() -> None:
        deadline = time.monotonic() + 10
        while (shown := SHOWN_CODE.search(out.getvalue())) is None:
            if time.monotonic() > deadline or cli.stop.is_set():
                return
            time.sleep(0.02)
        assert phone is not None
        phone(shown.group(1))

    watcher = threading.Thread(target=watch, daemon=True)
    if phone is not None:
        watcher.start()
    code = main(["telegram", *args], cli)
    cli.stop.set()
    if phone is not None:
        watcher.join(5)
    return code, out.getvalue(), err.getvalue()


def user_sends(
    tg: TelegramSimulator, chat_id: int = CHAT, username: str = "anna"
) -> Callable[[str], int]:
    """The user taps the deep link: the Telegram app sends ``/start <code>``."""
    return lambda code: tg.user_says(chat_id, f"/start {code}", username=username)


def stored(environ: dict[str, str], backend: MemoryKeyring) -> tuple[str | None, str]:
    paths = app_paths(environ)
    token = backend.get_password(paths.keyring_service, TELEGRAM_BOT_TOKEN)
    return token, SettingsStore(paths.settings_file).load().telegram_chat_id


def stored_user(environ: dict[str, str]) -> str:
    return SettingsStore(app_paths(environ).settings_file).load().telegram_user_id


def test_setup_finds_the_chat_saves_and_sends_a_test(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    code, out, err = run(tg_environ, keyring_backend, tg.token, "setup", phone=user_sends(tg))
    assert code == EXIT_OK, err
    assert "@hh_raiser_sim_bot" in out and f"Нашёл чат {CHAT} (anna)" in out
    assert stored(tg_environ, keyring_backend) == (tg.token, str(CHAT))
    assert stored_user(tg_environ) == str(CHAT)
    assert "HH Raiser подключён" in tg.sent(CHAT)[-1].plain
    assert tg.updates == []  # the code was confirmed: the poller will not answer it
    offset = Path(tg_environ["HH_RAISER_HOME"]) / "data" / "telegram-offset.json"
    assert offset.exists()
    assert tg.token not in out + err


def test_setup_waits_for_the_code(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    with tg.lock:
        tg.updates.clear()
    typed = user_sends(tg, 777, "boris")
    code, out, _ = run(
        tg_environ,
        keyring_backend,
        tg.token,
        "setup",
        "--timeout",
        "10",
        phone=lambda code: threading.Timer(0.5, typed, [code]).start(),
    )
    assert code == EXIT_OK
    assert "или отправьте боту @hh_raiser_sim_bot в личном чате код" in out
    assert "Нашёл чат 777 (boris)" in out
    assert stored(tg_environ, keyring_backend)[1] == "777"
    assert stored_user(tg_environ) == "777"


def test_setup_takes_only_the_code_from_a_private_chat_sent_after_it_began(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    """Issue 14.1: a stranger's old "hi bot" or fresh /start, a group's message or the
    user's plain /start are ignored, reported and confirmed; the code decides."""
    with tg.lock:
        tg.updates.clear()
    tg.user_says(STRANGER, "hi bot", username="mallory", ago=2 * 3600)

    def people(code: str) -> None:
        tg.user_says(STRANGER, "/start", username="mallory")
        tg.user_says(STRANGER, "/start WRONGCODE", username="mallory")
        tg.user_says(GROUP, "/start", user_id=555, username="eve", chat_type="supergroup")
        tg.user_says(CHAT, "/start", username="anna\x1b[31m")  # no code; no escape shown
        tg.user_says(CHAT, f"/start {code}", username="anna")

    code, out, err = run(tg_environ, keyring_backend, tg.token, "setup", phone=people)
    assert code == EXIT_OK, err
    assert stored(tg_environ, keyring_backend) == (tg.token, str(CHAT))
    assert stored_user(tg_environ) == str(CHAT)
    ignored = [line for line in out.splitlines() if line.startswith("Пропустил")]
    assert ignored == [
        f"Пропустил сообщение от mallory (чат {STRANGER}): оно отправлено до начала настройки.",
        f"Пропустил сообщение от mallory (чат {STRANGER}): в нём нет кода этой настройки.",
        f"Пропустил сообщение от mallory (чат {STRANGER}): в нём нет кода этой настройки.",
        f"Пропустил сообщение от eve (чат {GROUP}): это группа, а код принимается только "
        "в личном чате с ботом.",
        f"Пропустил сообщение от anna[31m (чат {CHAT}): в нём нет кода этой настройки.",
    ]
    assert tg.sent(STRANGER) == [] and tg.sent(GROUP) == []
    assert "HH Raiser подключён" in tg.sent(CHAT)[-1].plain
    assert tg.updates == []  # everything seen was confirmed: the poller acts on none of it


def test_a_code_sent_in_a_group_proves_nothing_and_nothing_is_saved(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    def leak(code: str) -> None:
        tg.user_says(GROUP, f"/start {code}", user_id=CHAT, username="anna", chat_type="group")
        tg.user_says(555, f"/start {code}", username="eve")  # read it there, too late

    code, _, err = run(tg_environ, keyring_backend, tg.token, "setup", phone=leak)
    assert code == EXIT_FAILURE
    assert f"отправлен в группу {GROUP}" in err
    assert stored(tg_environ, keyring_backend) == (None, "")
    assert tg.sent(555) == []


def test_setup_for_a_group_asks_who_may_command(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    """--chat-id of a group: notifications go there, the person confirms in private."""
    tg.user_says(GROUP, "hello", user_id=555, username="eve", chat_type="supergroup")
    code, out, err = run(
        tg_environ,
        keyring_backend,
        tg.token,
        "setup",
        "--chat-id",
        str(GROUP),
        phone=user_sends(tg),
    )
    assert code == EXIT_OK, err
    assert f"Чат {GROUP} — группа" in out
    assert stored(tg_environ, keyring_backend) == (tg.token, str(GROUP))
    assert stored_user(tg_environ) == str(CHAT)
    assert "HH Raiser подключён" in tg.sent(GROUP)[-1].plain


def test_setup_for_a_private_chat_id_needs_no_code(
    tg_environ: dict[str, str], keyring_backend: MemoryKeyring, tg: TelegramSimulator
) -> None:
    code, out, err = run(tg_environ, keyring_backend, tg.token, "setup", "--chat-id", str(CHAT))
    assert code == EXIT_OK, err
    assert "?start=" not in out
    assert (stored(tg_environ, keyring_backend)[1], stored_user(tg_environ)) == (str(CHAT),) * 2


@pytest.mark.parametrize(
    ("token", "args", "prepare", "needle"),
    [
        ("42:wrong", [], None, "не принял токен"),
        (None, ["--timeout", "1"], "silence", "никто не прислал код"),
        (None, ["--timeout", "1"], None, "никто не прислал код"),  # only a /start without it
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
    assert run(tg_environ, keyring_backend, tg.token, "setup", phone=user_sends(tg))[0] == EXIT_OK
    code, out, _ = run(tg_environ, keyring_backend, "", "test")
    assert code == EXIT_OK and "отправлено" in out
    assert "Проверка связи" in tg.sent(CHAT)[-1].plain
    tg.block(CHAT)
    code, _, err = run(tg_environ, keyring_backend, "", "test")
    assert code == EXIT_FAILURE and "заблокирован" in err
