"""README "On a server", the cron way: the crontab line as the README gives it, run
by ``sh`` the way cron runs it (a bare environment: HOME, a PATH, no D-Bus session,
no desktop), against the simulator. Only the program's path is replaced, by this
checkout's; the secret store and its key are the README's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tray_app.simulator.hh import HHSimulator

from .test_cli_integration import write_env_file

ROOT = Path(__file__).parent.parent
PROGRAM = "$HOME/hh-raiser/.venv/bin/hh-raiser"
A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"


def readme_cron_commands() -> list[str]:
    """The command part (after the five time fields) of every crontab line in README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\*/\d+ \* \* \* \* (.+)$", text, re.M)


def test_the_readme_has_one_cron_line_per_language() -> None:
    commands = readme_cron_commands()
    assert len(commands) == 2 and commands[0] == commands[1], commands
    assert PROGRAM in commands[0]


def test_the_readme_cron_line_raises_on_a_server(tmp_path: Path, sim: HHSimulator) -> None:
    home = tmp_path / "home"
    home.mkdir()
    command = readme_cron_commands()[0].replace(PROGRAM, f"{sys.executable} -m tray_app")
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_WEB_URL": sim.url,
        "HH_RAISER_TELEGRAM_URL": "http://127.0.0.1:9",  # nothing may reach Telegram
    }
    app = [sys.executable, "-m", "tray_app"]
    key = home / ".config" / "hh-raiser" / "secrets.key"
    store = {"HH_RAISER_SECRET_STORE": "encrypted-file", "HH_RAISER_SECRETS_KEY_FILE": str(key)}

    def setup(*args: str) -> None:
        done = subprocess.run(
            [*app, *args], env={**env, **store}, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr

    setup("secrets", "new-key", str(key))
    token = sim.issue_tokens()
    setup("import-env", str(write_env_file(tmp_path / ".env", token)))
    setup("config", "set", "margin_seconds", "0")
    sim.make_due(A)
    sim.open_window(B, in_seconds=600)

    def cron() -> int:
        return subprocess.run(["sh", "-c", command], env=env, timeout=120).returncode

    assert cron() == 0
    assert [p.accepted for p in sim.publishes] == [True]
    assert cron() == 3  # nothing due: "ещё рано", and nothing sent
    assert [p.accepted for p in sim.publishes] == [True]
    log = (home / "hh-raiser-cron.log").read_text()
    assert "поднято" in log and token.refresh_token not in log
