"""The sign-in window for real: ``hh-raiser login --web --window`` on a virtual
screen, the simulator's login page in the real web view (WebKitGTK), the test typing
into the page like a person; the session lands in the real Secret Service, the window
closes, and ``run --headless`` raises with it."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import keyring
import pytest

from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.hh_web import LOGIN_PATH, SIM_PASSWORD, SIM_USERNAME
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import SecretStore
from tray_app.storage.web_session import WebSessionStore

from .conftest import in_ci, wait_until
from .desktop import (  # noqa: F401
    close_window,
    communicate_or_dump,
    desktop,
    screenshot,
    wait_for_window,
    window_gone,
    xdotool,
)
from .test_cli_integration import A, hh, start_headless

SHOTS_ENV = "HH_RAISER_SCREENSHOTS"
"""A folder to keep the window's screenshots in (``docs/`` when making the README's)."""


@pytest.fixture(autouse=True)
def needs_a_web_view_and_a_secret_service() -> None:
    problems = []
    if importlib.util.find_spec("webview") is None:
        problems.append("pywebview")
    try:
        import gi

        gi.require_version("WebKit2", "4.1")
    except (ImportError, ValueError):
        problems.append("WebKitGTK (scripts/linux-desktop-deps)")
    if "SecretService" not in type(keyring.get_keyring()).__module__:
        problems.append("a Secret Service keyring (scripts/test)")
    if problems:
        message = "needs " + ", ".join(problems)
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def env(desktop: dict[str, str], environ: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return {**desktop, **environ, "PYTHONUNBUFFERED": "1"}


def open_window(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "-v", "login", "--web", "--window"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = wait_for_window(env, "--name", "HH Raiser", timeout=30)
    except AssertionError:
        process.kill()
        raise AssertionError(f"no window: {process.communicate()[1][-3000:]}") from None
    return process, window


def shot(env: dict[str, str], tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    return screenshot(env, folder / name)


def type_into_page(env: dict[str, str], window: str, *keys: str) -> None:
    """Keyboard input as a person's: the window focused, then real key events."""
    xdotool(env, "windowfocus", "--sync", window)
    for key in keys:
        if key in ("Tab", "Return"):
            xdotool(env, "key", "--delay", "50", key)
        else:
            xdotool(env, "type", "--delay", "30", key)


def test_signing_in_in_the_window_stores_the_session_and_raising_follows(
    env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    process, window = open_window(env)
    try:
        wait_until(lambda: sim.calls("GET", LOGIN_PATH), 30)
        time.sleep(1.0)  # the page drawn
        before = shot(env, tmp_path, "login-window-before.png")
        type_into_page(env, window, "nobody@example.com", "Tab", "wrong", "Return")
        wait_until(lambda: sim.web.last_sign_in is not None, 20)
        assert sim.web.last_sign_in is not None
        assert sim.web.last_sign_in.outcome == "wrong_password"
        time.sleep(1.0)  # the form again, with its error, the username field focused
        type_into_page(env, window, SIM_USERNAME, "Tab", SIM_PASSWORD, "Return")
        service = app_paths(env).keyring_service
        stored = WebSessionStore(SecretStore(service=service), "hh.ru")
        wait_until(lambda: stored.load() is not None, 30)
        after = shot(env, tmp_path, "login-window-after.png")  # the window's last word
        out, err = communicate_or_dump(process, 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-3000:]
    assert "Python-разработчик" in out and "сохранён" in out
    assert window_gone(env, window)
    assert before.stat().st_size > 0 and after.read_bytes() != before.read_bytes()
    profile = app_paths(env).data_dir / "webview"
    assert profile.is_dir() and (profile.stat().st_mode & 0o777) == 0o700
    # the session from the window raises in a run
    hh(env, "config", "set", "margin_seconds", "0")
    for resume in sim.resumes.values():
        resume.updated_at = sim.now() - timedelta(hours=5)
    sim.open_window(A, in_seconds=-5)
    run = start_headless(env)
    try:
        wait_until(lambda: [t.status for t in sim.web.touches] == [200], timeout=20)
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=30)
    assert run.returncode == 0


def closed_on_the_login_page(
    env: dict[str, str],
    sim: HHSimulator,
    before_closing: Callable[[subprocess.Popen[str]], object] = lambda _process: None,
) -> tuple[int | None, str]:
    """Opens the window, waits for hh.ru's login page, closes it as a user would; the
    window process's exit code and stderr."""
    process, window = open_window(env)
    try:
        wait_until(lambda: sim.calls("GET", LOGIN_PATH), 30)
        before_closing(process)
        close_window(env, window)
        _, err = communicate_or_dump(process, 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, err


def test_closing_the_window_early_stores_nothing(env: dict[str, str], sim: HHSimulator) -> None:
    code, err = closed_on_the_login_page(env, sim)
    assert code == 1, err[-3000:]
    assert "Окно закрыто до входа на hh.ru. Ничего не сохранено." in err
    service = app_paths(env).keyring_service
    assert WebSessionStore(SecretStore(service=service), "hh.ru").load() is None


def test_a_window_sent_sigusr2_prints_where_its_threads_are_and_stays_open(
    env: dict[str, str], sim: HHSimulator
) -> None:
    """What a test that outlived its limit asks of a window (desktop.stack_dump): every
    thread's stack on its stderr, and the window goes on as before."""
    code, err = closed_on_the_login_page(
        env, sim, lambda process: process.send_signal(signal.SIGUSR2)
    )
    assert code == 1, err[-3000:]  # closed by the user, not by the signal
    assert "(most recent call first)" in err and "web_window.py" in err
    assert "Окно закрыто до входа на hh.ru. Ничего не сохранено." in err
