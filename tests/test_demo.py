"""The README's first command: with no account set up, the app starts the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def run_console_demo(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """No keyring, no display: the console demo (the tray one is in test_tray_e2e),
    stopped with Ctrl+C after nine seconds."""
    hidden = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(HH_RAISER_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(9)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def test_no_account_starts_the_demo_which_raises_and_stops_cleanly(tmp_path: Path) -> None:
    code, out, err = run_console_demo(tmp_path)
    assert code == 0, err
    assert "Демо" in out
    assert out.count("поднято") >= 2, out
    assert "📱 Telegram: " in out  # the stand-in phone shows what Telegram would say
    assert "остановлен" in out


def test_the_website_demo_raises_through_the_simulated_site(tmp_path: Path) -> None:
    code, out, err = run_console_demo(tmp_path, "-v", "demo", "--web", "--headless")
    assert code == 0, err
    assert out.count("поднято") >= 2, out
    assert "web POST /applicant/resumes/touch -> 200" in err  # -v: the log on stderr
    assert "hh.ru rotated cookies: hhtoken" in err
