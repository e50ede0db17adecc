"""``hh-raiser quit`` and ``hh-raiser reset``, as the Windows uninstaller runs them
(``quit``, then ``reset --yes``): real processes, the simulator over HTTP, and a real
Secret Service keyring (gnome-keyring, ``scripts/with-test-keyring``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import secretstorage

from tray_app.adapters.autostart.linux import LinuxAutostart, autostart_dir
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.lock import InstanceLock
from tray_app.storage.paths import app_paths

from .conftest import wait_until
from .test_cli_integration import (
    A,
    hh,
    import_tokens,
    require_secret_service,
    start_headless,
    without_keyring,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def secret_service() -> None:
    require_secret_service()


@pytest.fixture
def env(tg_environ: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """As test_cli_integration's, with a config home of its own: ``reset`` removes the
    start-at-login entry there, never the user's."""
    config_home = tmp_path / "xdg-config"
    config_home.mkdir()
    return {
        **os.environ,
        **tg_environ,
        "PYTHONUNBUFFERED": "1",
        "XDG_CONFIG_HOME": str(config_home),
    }


def keyring_items(env: dict[str, str]) -> list[str]:
    """Every item in the Secret Service of this home's keyring service: asked of
    gnome-keyring directly, not through the code under test."""
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        found = collection.search_items({"service": app_paths(env).keyring_service})
        return sorted(item.get_attributes()["username"] for item in found)
    finally:
        connection.close()


def lock_is_free(env: dict[str, str]) -> bool:
    try:
        InstanceLock(app_paths(env).lock_file).acquire().release()
    except Exception:  # noqa: BLE001 - AlreadyRunningError: held
        return False
    return True


def raised_in_history(env: dict[str, str]) -> list[str]:
    history = app_paths(env).history_file
    lines = history.read_text(encoding="utf-8").splitlines() if history.exists() else []
    return [json.loads(line)["resume_id"] for line in lines if '"raised"' in line]


# ---- quit ---------------------------------------------------------------------------


def test_quit_stops_a_running_instance_after_its_raise_in_flight(
    env: dict[str, str],
    sim: HHSimulator,
    tmp_path: Path,
    killed_at_end: list[subprocess.Popen[str]],
) -> None:
    """``quit`` while hh.ru is still answering a raise: the instance settles it (its
    history line is written), exits 0 and frees the lock; ``quit`` says so, exit 0."""
    env = {**env, "HH_RAISER_TIMEOUT": "20"}  # hh.ru answers slowly, not too late
    import_tokens(env, sim, tmp_path)
    sim.inject("hold", f"/resumes/{A}/publish", seconds=4)
    sim.open_window(A, in_seconds=-3)
    running = start_headless(env)
    killed_at_end.append(running)
    wait_until(lambda: sim.calls("POST", f"/resumes/{A}/publish"), 20)
    result = hh(env, "quit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HH Raiser закрыт" in result.stdout
    assert running.wait(timeout=10) == 0  # gone by the time quit returned
    assert lock_is_free(env) and not app_paths(env).control_file.exists()
    assert raised_in_history(env) == [A]
    log = app_paths(env).log_file.read_text(encoding="utf-8")  # asked while hh.ru held it
    assert log.index("asked to quit") < log.index(f"resume {A}: raised")


def test_quit_with_nothing_running_says_so_and_succeeds(env: dict[str, str]) -> None:
    result = hh(env, "quit")
    assert (result.returncode, result.stdout.strip()) == (0, "HH Raiser не запущен."), result.stderr


def test_quit_that_cannot_stop_the_holder_of_the_lock_fails_in_time(
    env: dict[str, str], tmp_path: Path, killed_at_end: list[subprocess.Popen[str]]
) -> None:
    """A process holding the instance lock with no control channel (an older version,
    a one-shot command that hangs): exit 5 once ``--timeout`` has passed, and why."""
    ready = tmp_path / "holding"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\n"
            "from tray_app.storage.lock import InstanceLock\n"
            "lock = InstanceLock(pathlib.Path(sys.argv[1])).acquire()\n"
            "pathlib.Path(sys.argv[2]).touch()\n"
            "time.sleep(60)\n",
            str(app_paths(env).lock_file),
            str(ready),
        ],
        env=env,
        text=True,
    )
    killed_at_end.append(holder)
    wait_until(ready.exists, 10)
    result = hh(env, "quit", "--timeout", "1")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "не закрылся за 1 с" in result.stderr and "Traceback" not in result.stderr
    assert holder.poll() is None


# ---- reset --------------------------------------------------------------------------


def set_up_everything(env: dict[str, str], sim: HHSimulator, tmp_path: Path) -> list[str]:
    """import-env (OAuth tokens, client secret, bot token), a raise in the history, a
    website session, start at login; returns secret values to look for in output."""
    token = import_tokens(env, sim, tmp_path, CLIENT_SECRET="client-secret-value-xyz")
    sim.open_window(A, in_seconds=-3)
    assert hh(env, "raise-now").returncode == 0
    cookies = sim.web.login()
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    login = hh(env, "login", "--web", "--cookies", "-", stdin=header)
    assert login.returncode == 0, login.stderr
    LinuxAutostart(["hh-raiser"], autostart_dir(env)).enable()
    longest_cookie = max(cookies.values(), key=len)
    return [token.refresh_token, "client-secret-value-xyz", longest_cookie]


def test_reset_removes_every_secret_the_folders_and_start_at_login(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    secret_values = set_up_everything(env, sim, tmp_path)
    paths = app_paths(env)
    before = set(keyring_items(env))
    assert {"oauth_tokens", "client_secret", "telegram_bot_token", "web_session:hh.ru"} <= before
    assert paths.history_file.exists() and paths.log_file.exists()
    result = hh(env, "reset", "--yes")
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert keyring_items(env) == []
    for folder in paths.private_dirs:
        assert not folder.exists(), folder
        assert f"Удалена папка {folder}" in result.stdout
    assert Path(env["HH_RAISER_HOME"]).is_dir()  # the folder the user named stays
    assert not (autostart_dir(env) / "hh-raiser.desktop").exists()
    assert "oauth_tokens" in result.stdout and "сессия сайта hh.ru" in result.stdout
    assert "Запуск при входе в систему выключен" in result.stdout
    for value in secret_values:
        assert value not in said
    again = hh(env, "reset", "--yes")  # nothing left: still a success
    assert again.returncode == 0 and "Секретов HH Raiser в хранилище нет" in again.stdout


def test_reset_refuses_while_an_instance_runs(
    env: dict[str, str],
    sim: HHSimulator,
    tmp_path: Path,
    killed_at_end: list[subprocess.Popen[str]],
) -> None:
    import_tokens(env, sim, tmp_path)
    killed_at_end.append(start_headless(env))
    result = hh(env, "reset", "--yes")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "сначала закройте программу" in result.stderr and " quit" in result.stderr
    assert "oauth_tokens" in keyring_items(env) and app_paths(env).settings_file.exists()


def test_reset_without_yes_and_no_terminal_removes_nothing(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    import_tokens(env, sim, tmp_path)
    result = hh(env, "reset", stdin="y\n")  # a pipe is no one answering
    assert result.returncode == 2, result.stdout + result.stderr
    assert "reset --yes" in result.stderr and "Traceback" not in result.stderr
    assert "oauth_tokens" in keyring_items(env) and app_paths(env).settings_file.exists()


def test_reset_with_the_keyring_unreachable_keeps_the_folders(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    """The secrets cannot be removed: said, exit 1, and the settings stay (they name
    the account whose secrets remain)."""
    import_tokens(env, sim, tmp_path)
    result = hh(without_keyring(env), "reset", "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Не удалось удалить секреты" in result.stderr
    assert "Папки с настройками не удалены" in result.stderr
    assert app_paths(env).settings_file.exists() and "oauth_tokens" in keyring_items(env)


def test_reset_of_the_encrypted_file_store_keeps_the_users_key_file(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    """The key file the user named stays, even inside the config folder; the
    encrypted file and everything else go."""
    paths = app_paths(env)
    key = paths.config_dir / "secrets.key"
    file_env = {
        **without_keyring(env),
        "HH_RAISER_SECRET_STORE": "encrypted-file",
        "HH_RAISER_SECRETS_KEY_FILE": str(key),
    }
    assert hh(file_env, "secrets", "new-key", str(key)).returncode == 0
    import_tokens(file_env, sim, tmp_path)
    assert (paths.data_dir / "secrets.enc").exists()
    result = hh(file_env, "reset", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "oauth_tokens" in result.stdout
    assert key.exists() and [p for p in paths.config_dir.iterdir()] == [key]
    assert not paths.data_dir.exists() and not (paths.log_root or paths.log_dir).exists()
