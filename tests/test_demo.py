"""The README's first command: with no account set up, the app starts the demo; the
demo and every window it opens need no keyring, and its windows are reaped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tray_app.adapters.cli import Cli
from tray_app.adapters.cli.serve import child_environ
from tray_app.storage.memory_keyring import DEMO_ENV, MemoryKeyring, demo_keyring

from .conftest import wait_until
from .desktop import close_window, desktop, wait_for_window, window_gone, xdotool  # noqa: F401

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
"""What keyring picks where it finds no usable backend, with the session bus (which the
tray needs) left in place."""


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
    assert "keyring" not in out + err  # a fresh install's demo needs none, says nothing


def test_the_website_demo_raises_through_the_simulated_site(tmp_path: Path) -> None:
    code, out, err = run_console_demo(tmp_path, "-v", "demo", "--web", "--headless")
    assert code == 0, err
    assert out.count("поднято") >= 2, out
    assert "web POST /applicant/resumes/touch -> 200" in err  # -v: the log on stderr
    assert "hh.ru rotated cookies: hhtoken" in err


def children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started that are not reaped yet: pid -> state (Z: zombie)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found[int(stat.parent.name)] = fields[0]
    return found


MENU_FROM_THE_BOTTOM = {"settings": 4, "log": 3, "about": 2}  # "Up" presses from "Выход"


@pytest.mark.integration
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_tray_demos_windows_open_without_a_keyring_and_are_reaped(
    desktop: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A fresh install on a desktop without a keyring: the demo's "Настройки…" and "О
    программе" show their window, "Журнал" opens the log the demo writes, every child
    is waited for once it ends, and a window still open ends with the demo."""
    opened = tmp_path / "opened"
    opener = tmp_path / "bin" / "xdg-open"  # what a desktop would show the log with
    opener.parent.mkdir()
    opener.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    opener.chmod(0o755)
    env = {**desktop, **NO_KEYRING, "HH_RAISER_HOME": str(tmp_path / "home")}
    env.update(PYTHONUNBUFFERED="1", PATH=f"{opener.parent}{os.pathsep}{env['PATH']}")
    demo = subprocess.Popen(
        [sys.executable, "-m", "tray_app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started: set[int] = set()  # the windows' processes, killed if the test fails

    def choose(item: str) -> None:
        xdotool(env, "mousemove", "--window", icon, "16", "15", "click", "3")
        time.sleep(1.0)  # the menu is open
        xdotool(env, "key", *["Up"] * MENU_FROM_THE_BOTTOM[item], "Return")

    def open_window(item: str) -> tuple[str, int]:
        for _attempt in range(3):
            choose(item)
            try:
                window = wait_for_window(env, "--classname", "^hh-raiser-settings$")
                break
            except AssertionError:
                assert demo.poll() is None
                xdotool(env, "key", "Escape")
        else:
            raise AssertionError(f"no {item} window: {children(demo.pid)}")
        assert "HH Raiser" in xdotool(env, "getwindowname", window)
        ((child, state),) = children(demo.pid).items()
        started.add(child)
        assert state != "Z"  # alive: the window is a process of its own
        return window, child

    try:
        icon = wait_for_window(env, "--name", "^HH Raiser — ", timeout=60)
        for item in ("settings", "about"):
            window, _ = open_window(item)
            for _attempt in range(3):  # a window still setting itself up may miss one
                close_window(env, window)
                if window_gone(env, window):
                    break
            else:
                raise AssertionError(f"the {item} window did not close")
            wait_until(lambda: not children(demo.pid), 10)  # ended, and waited for
        choose("log")
        wait_until(lambda: opened.exists(), 10)
        shown = Path(opened.read_text().strip())
        assert shown == tmp_path / "home" / "logs" / "hh-raiser.log"  # the one written
        assert "tray menu action: log" in shown.read_text(encoding="utf-8")
        wait_until(lambda: not children(demo.pid), 10)
        window, child = open_window("settings")  # left open as the demo ends
        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=30)
        assert window_gone(env, window) and not Path(f"/proc/{child}").exists()
    finally:
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if demo.poll() is None:
            demo.kill()
            demo.communicate(timeout=30)
    assert demo.returncode == 0, err
    assert "keyring" not in out + err  # neither the demo nor its windows looked for one
    log = shown.read_text(encoding="utf-8")
    assert log.count("tray menu action: settings") == 2
    assert log.count("settings window ended with exit code 0") == 2


def test_a_demo_window_gets_the_demos_secrets_as_they_are_when_it_opens(
    tmp_path: Path,
) -> None:
    backend = MemoryKeyring()
    backend.set_password("hh-raiser@demo", "oauth_tokens", '{"access_token": "fake"}')
    home = str(tmp_path / "demo-home")
    demo = Cli(environ={"HH_RAISER_HOME": home, DEMO_ENV: "[]"}, keyring_backend=backend)
    backend.set_password("hh-raiser@demo", "telegram_bot_token", "1:fake")  # changed since
    env = child_environ(demo)
    window = Cli(environ=env)  # as the window's process makes it: no keyring given
    assert isinstance(window.keyring_backend, MemoryKeyring)
    assert window.keyring_backend.get_password("hh-raiser@demo", "telegram_bot_token") == "1:fake"
    assert window.keyring_backend.get_password("hh-raiser@demo", "oauth_tokens") is not None
    window.keyring_backend.set_password("hh-raiser@demo", "x", "y")  # its own, in memory
    assert backend.get_password("hh-raiser@demo", "x") is None


def test_only_a_demo_home_gets_a_keyring_that_forgets(tmp_path: Path) -> None:
    """A stray HH_RAISER_DEMO must never put the user's own home on a memory keyring."""
    assert demo_keyring({DEMO_ENV: "[]"}) is None
    assert Cli(environ={DEMO_ENV: "[]"}).keyring_backend is None
    assert Cli(environ={}).keyring_backend is None
    seeded = demo_keyring({DEMO_ENV: "not json", "HH_RAISER_HOME": str(tmp_path)})
    assert seeded is not None and seeded.get_password("s", "u") is None  # opens, empty
    not_a_demo = Cli(environ={"HH_RAISER_HOME": str(tmp_path)})
    assert child_environ(not_a_demo) == {"HH_RAISER_HOME": str(tmp_path)}
