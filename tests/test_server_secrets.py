"""Issue 16's Show test: a server with no D-Bus session (so no keyring), as the old
script's users have it. The commands the no-keyring message gives are run as given;
then ``import-env``, ``run --headless`` against the simulators with an access token
that has expired (so it is refreshed), a raise, SIGTERM, a restart that must refresh
again with the rotated refresh token, another raise — and no secret in plain text in
any file under the home, nor in any output."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.core.models import TokenPair
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.file_secrets import EncryptedFileKeyring, read_key
from tray_app.storage.secrets import SecretStore, TokenStore

from .conftest import CHAT, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


@pytest.fixture
def server(tmp_path: Path, sim: HHSimulator, tg: TelegramSimulator) -> dict[str, str]:
    """A fresh account on a machine without a desktop: its own HOME (the platform
    folders under it, as on a server), no D-Bus session, no XDG overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")
        and not k.startswith(("XDG_", "HH_RAISER_", "PYTHON_KEYRING"))
    }
    # no bus to find: GDBus (keyring's libsecret backend) would otherwise look for one
    # itself (X11 autolaunch, a bus an earlier desktop test left), and a server has none
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/hh-raiser-test-bus"
    home = tmp_path / "server-home"
    home.mkdir()
    return {
        **env,
        "HOME": str(home),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_WEB_URL": sim.url,
        "HH_RAISER_TELEGRAM_URL": tg.url,
        "HH_RAISER_TIMEOUT": "2",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }


class Outputs:
    """Everything the commands printed, to look for secrets in."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def hh(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "tray_app", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.texts += [result.stdout, result.stderr]
        return result

    @property
    def all(self) -> str:
        return "\n".join(self.texts)


@pytest.fixture
def outputs() -> Outputs:
    return Outputs()


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["HOME"]) / ".local" / "share" / "hh-raiser"


def run_headless_until(
    env: dict[str, str],
    outputs: Outputs,
    started: list[subprocess.Popen[str]],
    done: object,
) -> None:
    """``run --headless`` until ``done()`` holds, then SIGTERM: it must end cleanly."""
    control = data_dir(env) / "control.json"
    control.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "-v", "run", "--headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    try:
        wait_until(lambda: control.exists() or process.poll() is not None, 20)
        assert process.poll() is None, process.communicate()
        wait_until(done, 30)  # type: ignore[arg-type]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        outputs.texts += [out, err]
    assert process.returncode == 0, err


def stored_pair(env: dict[str, str]) -> TokenPair:
    backend = EncryptedFileKeyring(
        data_dir(env) / "secrets.enc", read_key(Path(env["HH_RAISER_SECRETS_KEY_FILE"]))
    )
    pair = TokenStore(SecretStore(backend, "hh-raiser")).load()
    assert pair is not None
    return pair


def test_a_server_without_d_bus_imports_runs_restarts_and_keeps_no_secret_in_plain_text(
    server: dict[str, str],
    sim: HHSimulator,
    tg: TelegramSimulator,
    outputs: Outputs,
    killed_at_end: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    env = server
    home = Path(env["HOME"])
    # nothing is set up yet: "not set up yet" and what to run (exit code 4)
    fresh = outputs.hh(env, "status")
    assert fresh.returncode == 4 and "не настроен" in fresh.stdout, fresh.stdout + fresh.stderr

    imported = sim.issue_tokens()
    dotenv = tmp_path / ".env"  # the user's own file, outside the home; deleted after
    dotenv.write_text(
        f"ACCESS_TOKEN={imported.access_token}\nREFRESH_TOKEN={imported.refresh_token}\n"
        f"RESUME_ID={A}\nTELEGRAM_TOKEN={tg.token}\nCHAT_ID={CHAT}\n"
        "CONTACT_EMAIL=server@example.com\n"
    )
    # no keyring and no choice: the import stores nothing, and its message gives the
    # commands
    refused = outputs.hh(env, "import-env", str(dotenv))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    key = home / ".config" / "hh-raiser" / "secrets.key"
    new_key = f"hh-raiser secrets new-key {key}"
    export = f"export HH_RAISER_SECRET_STORE=encrypted-file HH_RAISER_SECRETS_KEY_FILE={key}"
    assert new_key in refused.stderr and export in refused.stderr, refused.stderr
    assert not (data_dir(env) / "secrets.json").exists()

    # the commands, as given
    made = outputs.hh(env, *new_key.split()[1:])
    assert made.returncode == 0, made.stderr
    env = {
        **env,
        "HH_RAISER_SECRET_STORE": "encrypted-file",
        "HH_RAISER_SECRETS_KEY_FILE": str(key),
    }

    result = outputs.hh(env, "import-env", str(dotenv))
    assert result.returncode == 0, result.stderr
    assert outputs.hh(env, "config", "set", "margin_seconds", "0").returncode == 0
    status = outputs.hh(env, "secrets", "status")
    assert (
        status.returncode == 0
        and "безопасно" in status.stdout
        and "небезопасно" not in status.stdout
    )

    # first run: the imported access token has expired, so it is refreshed, then a raise
    sim.expire_all_tokens()
    sim.open_window(A, in_seconds=-3)
    run_headless_until(
        env, outputs, killed_at_end, lambda: [p.accepted for p in sim.publishes] == [True]
    )
    first = stored_pair(env)
    assert first.access_token != imported.access_token
    assert imported.access_token not in sim.tokens  # the imported pair is dead at hh.ru
    wait_until(lambda: any("поднято" in m.plain for m in tg.sent(CHAT)), 10)

    # restart: the rotated pair from the file is the only one that works
    sim.expire_all_tokens()
    sim.open_window(A, in_seconds=-3)
    run_headless_until(
        env, outputs, killed_at_end, lambda: [p.accepted for p in sim.publishes] == [True, True]
    )
    second = stored_pair(env)
    assert second.access_token not in (first.access_token, imported.access_token)
    refreshes = [c for c in sim.calls("POST", "/token") if "refresh_token" in str(c.form)]
    assert [c.form["refresh_token"] for c in refreshes] == [
        [imported.refresh_token],
        [first.refresh_token],
    ]

    # nothing in plain text: not in any file under the home, not in any output
    secrets_file = data_dir(env) / "secrets.enc"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert not list(home.rglob("secrets.json"))
    values = [
        imported.access_token,
        imported.refresh_token,
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
        tg.token.split(":", 1)[1],
    ]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".log") for p in files) and secrets_file in files
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for value in values:
            assert value not in text, f"{value[:6]}… in {path}"
    for value in values:
        assert value not in outputs.all, f"{value[:6]}… in the output"


def test_the_plain_file_only_when_chosen_and_said_each_time(
    server: dict[str, str], sim: HHSimulator, outputs: Outputs, tmp_path: Path
) -> None:
    env = {**server, "HH_RAISER_SECRET_STORE": "plain-file"}
    imported = sim.issue_tokens()
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"ACCESS_TOKEN={imported.access_token}\nREFRESH_TOKEN={imported.refresh_token}\n"
    )
    result = outputs.hh(env, "import-env", str(dotenv))
    plain = data_dir(env) / "secrets.json"
    assert result.returncode == 0 and f"открытым текстом в {plain}" in result.stderr
    resumes = outputs.hh(env, "resumes")
    assert resumes.returncode == 0 and "Внимание: секреты" in resumes.stderr
    holding = [
        p
        for p in Path(env["HOME"]).rglob("*")
        if p.is_file() and imported.refresh_token in p.read_text(errors="replace")
    ]
    assert holding == [plain] and stat.S_IMODE(plain.stat().st_mode) == 0o600
