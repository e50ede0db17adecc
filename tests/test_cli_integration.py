"""The ``hh-raiser`` command as a user runs it: real processes, the simulator over
HTTP, and a real Secret Service keyring (gnome-keyring under dbus-run-session)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest

from tray_app.core.faults import CRASH_ENV, CRASH_EXIT_CODE
from tray_app.simulator.hh import HHSimulator, SimToken
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import SecretStore, TokenStore
from tray_app.storage.web_session import WebSessionStore

from .conftest import CHAT, in_ci, wait_until

pytestmark = pytest.mark.integration

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"


@pytest.fixture(autouse=True)
def secret_service() -> None:
    require_secret_service()


def require_secret_service() -> None:
    """Skips (fails in CI) without a Secret Service keyring to run the command with."""
    backend = keyring.get_keyring()
    if "SecretService" not in type(backend).__module__:
        message = (
            f"needs a Secret Service keyring (have {type(backend).__name__}); run scripts/test"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def env(tg_environ: dict[str, str]) -> dict[str, str]:
    """Telegram is the simulator too: no test may reach the real api.telegram.org."""
    return {**os.environ, **tg_environ, "PYTHONUNBUFFERED": "1"}


def hh(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tray_app", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_env_file(
    path: Path,
    token: SimToken,
    *,
    telegram_token: str = "123456:ABCdefGhIJKlmnOPQRstuVWxyz0123456789",
    chat_id: int = -1001234567890,
    **extra: str,
) -> Path:
    lines = [
        "# the old script's settings",
        f"ACCESS_TOKEN={token.access_token}",
        f'REFRESH_TOKEN="{token.refresh_token}"',
        f"RESUME_ID={A}",
        f"TELEGRAM_TOKEN={telegram_token}",
        f"CHAT_ID={chat_id}",
        "CONTACT_EMAIL=user@example.com",
        *(f"{k}={v}" for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_pair(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return TokenStore(SecretStore(service=app_paths(env).keyring_service)).load()


def import_tokens(env: dict[str, str], sim: HHSimulator, tmp_path: Path, **extra: Any) -> SimToken:
    token = sim.issue_tokens()
    result = hh(env, "import-env", str(write_env_file(tmp_path / ".env", token, **extra)))
    assert result.returncode == 0, result.stderr
    hh(env, "config", "set", "margin_seconds", "0")
    return token


def test_import_env_reads_standard_input(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    """``import-env -``: how a container takes the file (``run -T … import-env - < .env``)."""
    token = sim.issue_tokens()
    text = write_env_file(tmp_path / ".env", token).read_text()
    result = hh(env, "import-env", "-", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    pair = stored_pair(env)
    assert pair is not None and pair.refresh_token == token.refresh_token
    bad = hh(env, "import-env", "-", stdin="ACCESS_TOKEN=only-half\n")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def start_headless(env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "-v", "run", "--headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not app_paths(env).control_file.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return process


@pytest.fixture
def running(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    import_tokens(env, sim, tmp_path)
    hh(env, "config", "set", "enabled_resumes", "")
    process = start_headless(env)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "hh-raiser 0.1.0"


def test_import_env_round_trip(env: dict[str, str], sim: HHSimulator, tmp_path: Path) -> None:
    token = sim.issue_tokens()
    result = hh(
        env,
        "import-env",
        str(write_env_file(tmp_path / ".env", token, CLIENT_SECRET="s3cr3t-client-value")),
    )
    assert result.returncode == 0, result.stderr
    assert token.access_token not in result.stdout + result.stderr
    assert "s3cr3t-client-value" not in result.stdout + result.stderr
    assert "токены hh.ru" in result.stdout and A in result.stdout
    pair = stored_pair(env)
    assert (pair.access_token, pair.refresh_token) == (token.access_token, token.refresh_token)
    secrets = SecretStore(service=app_paths(env).keyring_service)
    assert secrets.get("telegram_bot_token") == "123456:ABCdefGhIJKlmnOPQRstuVWxyz0123456789"
    assert secrets.get("client_secret") == "s3cr3t-client-value"
    assert hh(env, "config", "get", "enabled_resumes").stdout.strip() == A
    assert hh(env, "config", "get", "telegram_chat_id").stdout.strip() == "-1001234567890"
    settings_text = app_paths(env).settings_file.read_text()
    assert token.access_token not in settings_text and "ABCdefGh" not in settings_text
    # the imported account works
    status = hh(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["auth"]["state"] == "ok"
    assert {r["id"]: r["enabled"] for r in data["resumes"]} == {
        A: True,
        B: False,
        "c3d4e5f60718293a4b5c6d7e8f90123456789012": False,
        "d4e5f60718293a4b5c6d7e8f9012345678901234": False,
    }


def test_malformed_env_file_is_refused_with_its_line(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("ACCESS_TOKEN=abc\nREFRESH_TOKEN=def\nthis is not a setting\n")
    result = hh(env, "import-env", str(path))
    assert result.returncode == 1
    assert "строка 3" in result.stderr
    assert stored_pair(env) is None


def _unreadable_env(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "no-such.env"
    if kind == "folder":
        return tmp_path
    path = tmp_path / ".env"  # a file saved in cp1251: the third line has "ё"
    path.write_bytes("ACCESS_TOKEN=abc\r\nREFRESH_TOKEN=def\r\n# ёлка\r\n".encode("cp1251"))
    return path


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "не найден"),
        ("folder", "папка, а не файл .env"),
        ("not_utf8", "строка 3 не в кодировке UTF-8"),
    ],
)
def test_an_env_file_that_cannot_be_read_is_a_clear_error(
    env: dict[str, str], tmp_path: Path, kind: str, expected: str
) -> None:
    path = _unreadable_env(tmp_path, kind)
    result = hh(env, "import-env", str(path))
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert stored_pair(env) is None


def test_each_command_refuses_bad_arguments_in_a_real_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    """What the in-process walk (test_cli_unit) shows, as a user's shell sees it: each
    command's usage error on the process's stderr, in Russian, exit 2, no traceback;
    a bad setting's value too, and import-env of a folder (exit 1)."""
    from tray_app.adapters.cli.main import COMMANDS

    cases: list[tuple[list[str], int, str]] = [
        ([command, "--no-such-option"], 2, "ошибка: ") for command in COMMANDS
    ]
    cases += [
        (["no-such-command"], 2, "ошибка: аргумент КОМАНДА: нет такого варианта"),
        (["config", "set", "margin_seconds", "soon"], 2, "margin_seconds: нужно число"),
        (["login", "--timeout", "soon"], 2, "аргумент --timeout: нужно число секунд"),
        (["import-env", str(tmp_path)], 1, "папка, а не файл .env"),
    ]
    for args, code, words in cases:
        result = hh(env, *args, stdin="")
        said = result.stdout + result.stderr
        assert (result.returncode, "Traceback" in said) == (code, False), (args, said)
        assert words in result.stderr and not re.search("usage|error", said), (args, said)


def test_a_settings_file_nested_too_deeply_is_a_clear_error(
    env: dict[str, str], home: Path
) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "settings.json").write_text("[" * 100_000 + "]" * 100_000)
    result = hh(env, "config", "list")
    assert result.returncode == 1 and "слишком глубокая вложенность" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_status_json_and_live_control_of_a_running_instance(
    env: dict[str, str], sim: HHSimulator, running: subprocess.Popen[str]
) -> None:
    # wait for the first raises
    deadline = time.monotonic() + 20
    while len([p for p in sim.publishes if p.accepted]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    result = hh(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["auth"]["state"] == "ok"
    by_id = {r["id"]: r for r in data["resumes"]}
    assert set(by_id) == set(sim.resumes)
    for resume_id in (A, B):
        entry = by_id[resume_id]
        assert set(entry) >= {
            "id",
            "title",
            "enabled",
            "last_raise_at",
            "last_outcome",
            "next_raise_at",
        }
        assert entry["title"] == sim.resumes[resume_id].title and entry["enabled"] is True
        assert entry["last_outcome"] == "raised"
        assert entry["last_raise_at"].endswith("+00:00") and entry["next_raise_at"]
    assert by_id["c3d4e5f60718293a4b5c6d7e8f90123456789012"]["next_raise_at"] is None
    # a second instance refuses to start
    second = hh(env, "run", "--headless", timeout=20)
    assert second.returncode == 5 and "уже запущен" in second.stderr
    # settings reach the running instance without a restart
    assert hh(env, "config", "set", "enabled_resumes", B).returncode == 0
    data = json.loads(hh(env, "status", "--json").stdout)
    enabled = {r["id"]: r["enabled"] for r in data["resumes"]}
    assert enabled[A] is False and enabled[B] is True
    assert {r["id"]: r["next_raise_at"] for r in data["resumes"]}[A] is None
    # raise-now goes through the running instance: nothing is due right after a raise
    now = hh(env, "raise-now", "--resume", B)
    assert now.returncode in (0, 3), now.stdout + now.stderr
    # SIGTERM: clean exit 0
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=20) == 0
    assert not app_paths(env).control_file.exists()


def test_invalid_grant_means_sign_in_needed(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    import_tokens(env, sim, tmp_path)
    sim.expire_all_tokens()
    for token in sim.tokens.values():
        token.refresh_used = True
    result = hh(env, "raise-now")
    assert result.returncode == 4, result.stdout + result.stderr
    status = hh(env, "status", "--json")
    assert status.returncode == 4
    assert json.loads(status.stdout)["auth"]["state"] == "sign_in_needed"
    assert len(sim.calls("POST", "/token")) == 1  # the dead refresh token is not sent again


def test_raise_now_exit_codes(env: dict[str, str], sim: HHSimulator, tmp_path: Path) -> None:
    import_tokens(env, sim, tmp_path)
    sim.open_window(A, in_seconds=-3)
    sim.open_window(B, in_seconds=600)
    first = hh(env, "raise-now")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Следующее поднятие: не запланировано" not in first.stdout
    again = hh(env, "raise-now")
    assert again.returncode == 3 and "ещё рано" in again.stdout


@pytest.mark.parametrize(
    ("crash_at", "usable_after"),
    [("before_refresh", True), ("after_refresh_response", False), ("after_refresh_saved", True)],
)
def test_a_killed_process_loses_no_usable_token_outside_the_named_window(
    crash_at: str, usable_after: bool, env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    import_tokens(env, sim, tmp_path)
    sim.open_window(A, in_seconds=-3)
    sim.expire_all_tokens()
    crashed = hh({**env, CRASH_ENV: crash_at}, "raise-now")
    assert crashed.returncode == CRASH_EXIT_CODE
    after = hh(env, "raise-now")
    if usable_after:
        assert after.returncode == 0, after.stdout + after.stderr
    else:  # the one unavoidable window: hh.ru issued a new pair, nobody saved it
        assert after.returncode == 4


def test_a_raise_taken_by_hh_as_the_process_was_killed_is_recorded_at_the_next_start(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    import_tokens(env, sim, tmp_path)
    sim.open_window(A, in_seconds=-3)
    sim.open_window(B, in_seconds=600)
    crashed = hh({**env, CRASH_ENV: "after_publish_response"}, "raise-now")
    assert crashed.returncode == CRASH_EXIT_CODE
    after = hh(env, "raise-now")  # reads hh.ru first: the raise happened; not sent again
    assert after.returncode == 3, after.stdout + after.stderr
    history = app_paths(env).history_file.read_text(encoding="utf-8").splitlines()
    raised = [json.loads(line) for line in history if '"raised"' in line]
    assert [r["resume_id"] for r in raised] == [A]
    assert [p.accepted for p in sim.publishes] == [True]


def without_keyring(env: dict[str, str]) -> dict[str, str]:
    """No session bus, and keyring's own "nothing usable" backend: with the bus gone
    alone, a bus left at ``$XDG_RUNTIME_DIR/bus`` (started by an earlier desktop test)
    was seen to be found all the same."""
    bare = {k: v for k, v in env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    return {**bare, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def test_no_keyring_gives_a_clear_error(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    """Nothing set up yet: "not set up", and what signing in will need (a secret store).
    Once an account is set up, its secrets are in the keyring: the missing keyring is
    the error, with what to install."""
    bare = without_keyring(env)
    result = hh(bare, "status")
    assert result.returncode == 4 and result.stdout.startswith("HH Raiser ещё не настроен")
    assert "hh-raiser login --web --window" in result.stdout and "keyring" in result.stderr
    import_tokens(env, sim, tmp_path)
    result = hh(bare, "status")
    assert result.returncode == 1
    assert "gnome-keyring" in result.stderr and "открытым текстом" in result.stderr


def test_self_check_names_the_failed_line_and_what_to_do(env: dict[str, str]) -> None:
    """The real command on a server: no screen is no failure; no keyring is one, the
    line is followed by what to do about it, and the verdict names the line."""
    server = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = hh(server, "self-check")
    assert result.returncode == 0, result.stdout
    assert "значка здесь не будет" in result.stdout and "работаю без значка" not in result.stdout
    bare = without_keyring(server)
    result = hh(bare, "self-check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Хранилище секретов: нет"))
    assert lines[at + 1].startswith("  ✗ Нет безопасного хранилища секретов (keyring)")
    assert "gnome-keyring" in result.stdout and "hh-raiser secrets new-key" in result.stdout
    assert lines[-1].startswith("Не в порядке (1): «Хранилище секретов».")


def test_secrets_never_reach_files_the_app_writes(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    token = import_tokens(env, sim, tmp_path, CLIENT_SECRET="client-secret-value-xyz")
    sim.inject("500", "/resumes/mine", times=10)  # failures get logged with details
    hh(env, "-v", "status")
    sim.expire_all_tokens()
    hh(env, "-v", "raise-now")
    new = stored_pair(env)
    home = Path(env["HH_RAISER_HOME"])
    secrets = [
        token.access_token,
        token.refresh_token,
        new.access_token,
        new.refresh_token,
        "client-secret-value-xyz",
        "ABCdefGhIJKlmnOPQRstuVWxyz",
    ]
    written = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".log") for p in written)
    for path in written:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}… found in {path}"


def telegram_status(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(hh(env, "status", "--json").stdout)["telegram"])


def test_telegram_in_a_real_run_and_the_bot_token_in_no_file(
    env: dict[str, str], sim: HHSimulator, tg: TelegramSimulator, tmp_path: Path
) -> None:
    """Imported from the old .env, notifications and commands work; an outage across
    a restart loses no important message; the bot token is in no file, log included."""
    import_tokens(env, sim, tmp_path, telegram_token=tg.token, chat_id=CHAT)
    for resume_id in sim.resumes:
        sim.open_window(resume_id, in_seconds=3600)
    sim.open_window(A)
    first = start_headless(env)
    outputs: list[str] = []
    try:
        wait_until(lambda: any("поднято" in m.plain for m in tg.sent(CHAT)), 20)
        status = telegram_status(env)
        assert (status["state"], status["commands"]) == ("ok", "polling")
        before = len(tg.sent(CHAT))
        tg.user_says(CHAT, "/status")
        assert "Python-разработчик" in tg.wait_for(before + 1, 20, CHAT)[-1].plain
        # Telegram goes away; a token refresh (important) happens meanwhile
        tg.go_offline()
        sim.expire_all_tokens()
        sim.open_window(A)
        wait_until(lambda: len(sim.publishes) == 2, 20)
        wait_until(lambda: telegram_status(env)["state"] == "unreachable", 20)
        assert telegram_status(env)["pending"] >= 1
    finally:
        first.send_signal(signal.SIGTERM)
        outputs.extend(first.communicate(timeout=30))
    assert first.returncode == 0
    assert app_paths(env).telegram_outbox_file.exists()
    tg.go_online()
    second = start_headless(env)
    try:
        wait_until(lambda: any("Токены hh.ru обновлены" in m.plain for m in tg.sent(CHAT)), 20)
    finally:
        second.send_signal(signal.SIGTERM)
        outputs.extend(second.communicate(timeout=30))
    assert second.returncode == 0
    home = Path(env["HH_RAISER_HOME"])
    written = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".log") for p in written)
    secret_part = tg.token.split(":", 1)[1]
    for path in written:
        assert secret_part not in path.read_text(errors="replace"), f"bot token in {path}"
    for output in outputs:
        assert secret_part not in output


def test_a_website_session_in_a_real_run_rotating_and_in_no_file(
    env: dict[str, str], sim: HHSimulator
) -> None:
    """``login --web`` from stdin, then ``run --headless`` raises through the site with
    the session in gnome-keyring; rotated cookies are kept across a restart and no
    cookie value reaches a file or the output."""
    sim.web.config.rotate_every = 2
    cookies = sim.web.login()
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    login = hh(env, "-v", "login", "--web", "--cookies", "-", stdin=header)
    assert login.returncode == 0, login.stderr
    assert "Python-разработчик" in login.stdout
    hh(env, "config", "set", "margin_seconds", "0")
    for resume in sim.resumes.values():
        resume.updated_at = sim.now() - timedelta(hours=5)
    sim.open_window(A, in_seconds=-5)
    process = start_headless(env)
    try:
        wait_until(lambda: [t.status for t in sim.web.touches] == [200], timeout=20)
        status = json.loads(hh(env, "status", "--json").stdout)
        assert (status["transport"], status["auth"]["state"]) == ("web", "ok")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "hh.ru rotated cookies: hhtoken" in err
    assert not sim.web.is_live(cookies["hhtoken"])  # the imported one is dead
    again = hh(env, "resumes")  # a new process: the rotated session from the keyring
    assert again.returncode == 0 and "Python-разработчик" in again.stdout, again.stderr
    current = WebSessionStore(SecretStore(service=app_paths(env).keyring_service), "hh.ru")
    session = current.load()
    assert session is not None
    values = {v for v in (*cookies.values(), *session.cookies.values()) if len(v) >= 12}
    home = Path(env["HH_RAISER_HOME"])
    texts = [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()]
    texts += [login.stdout, login.stderr, out, err, again.stdout, again.stderr]
    for value in values:
        assert not any(value in text for text in texts), f"{value[:6]}… leaked"


def test_a_reader_that_leaves_early_gets_no_traceback(env: dict[str, str]) -> None:
    """``hh-raiser self-check | head -1``: the pipe closes while the report is written."""
    done = subprocess.run(
        f"{sys.executable} -m tray_app self-check --headless | head -1",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
