"""Shared fixtures: the hh.ru simulator on 127.0.0.1, isolated homes, keyrings."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tray_app.core.engine import EngineOptions
from tray_app.core.events import Event
from tray_app.core.models import TokenPair
from tray_app.simulator.github import GitHubSimulator
from tray_app.simulator.hh import HHSimulator, SimConfig
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN, TokenStore
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession
from tray_app.wiring import Runtime, build_runtime

from .proxies import proxy_url, socks_url  # noqa: F401 - fixtures shared by test modules

SHORT_COOLDOWN = 3.0
CHAT = 424242  # the user's chat with the bot in the Telegram simulator


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float, *, wall_only: bool = False) -> None:
        self._now += timedelta(seconds=seconds)
        if not wall_only:
            self._mono += seconds


@pytest.fixture
def sim() -> Iterator[HHSimulator]:
    """The hh.ru simulator; every test that uses it also shows that our website
    client passed its strict checks and never opened the home page."""
    simulator = HHSimulator(SimConfig(cooldown=SHORT_COOLDOWN)).start()
    yield simulator
    simulator.stop()
    assert simulator.web.violations == [], "requests unlike the site's own XHR"
    assert simulator.web.home_page_loads == 0, "the home page was opened with a session"


@pytest.fixture
def github() -> Iterator[GitHubSimulator]:
    """GitHub's releases API, with no release yet: no test reaches api.github.com."""
    simulator = GitHubSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def tg() -> Iterator[TelegramSimulator]:
    """The Telegram simulator, with the user's chat already started."""
    simulator = TelegramSimulator().start()
    simulator.user_says(CHAT, "/start", username="anna")
    yield simulator
    simulator.stop()


def connect_telegram(runtime: Runtime, tg: TelegramSimulator, chat_id: int = CHAT) -> None:
    """What ``telegram setup`` leaves behind: the token in the keyring, the chat set."""
    runtime.secrets.set(TELEGRAM_BOT_TOKEN, tg.token)
    SettingsStore(runtime.paths.settings_file).update(telegram_chat_id=chat_id)
    runtime.settings.reload_if_changed()
    runtime.telegram_targets.forget_secrets()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def environ(sim: HHSimulator, github: GitHubSimulator, home: Path) -> dict[str, str]:
    return {
        "HH_RAISER_HOME": str(home),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_WEB_URL": sim.url,
        "HH_RAISER_RELEASES_URL": github.url,
        "HH_RAISER_TIMEOUT": "2",
        "NO_PROXY": "127.0.0.1,localhost",
    }


@pytest.fixture
def tg_environ(environ: dict[str, str], tg: TelegramSimulator) -> dict[str, str]:
    return {**environ, "HH_RAISER_TELEGRAM_URL": tg.url}


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


def write_settings(home: Path, **values: object) -> None:
    SettingsStore(home / "config" / "settings.json").update(**values)


def make_runtime(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    *,
    with_tokens: bool = True,
    engine_options: EngineOptions | None = None,
    **settings: object,
) -> Runtime:
    home = Path(environ["HH_RAISER_HOME"])
    write_settings(
        home, **{"contact_email": "tests@example.com", "margin_seconds": 0.2, **settings}
    )
    runtime = build_runtime(environ, keyring_backend=keyring_backend, engine_options=engine_options)
    if with_tokens:
        token = sim.issue_tokens()
        TokenStore(runtime.secrets).save(
            TokenPair(token.access_token, token.refresh_token, token.expires_at)
        )
    return runtime


def make_web_runtime(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    *,
    engine_options: EngineOptions | None = None,
    **settings: object,
) -> Runtime:
    """A runtime raising through the simulated website with a logged-in session."""
    runtime = make_runtime(
        environ,
        keyring_backend,
        sim,
        with_tokens=False,
        engine_options=engine_options,
        transport="web",
        **settings,
    )
    session = WebSession(runtime.settings().web_host, sim.web.login())
    runtime.web_sessions().save(session, runtime.clock.now())
    return runtime


@pytest.fixture
def web_runtime(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Runtime]:
    rt = make_web_runtime(environ, keyring_backend, sim)
    yield rt
    rt.close()


@pytest.fixture
def runtime(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Runtime]:
    rt = make_runtime(environ, keyring_backend, sim)
    yield rt
    rt.close()


@pytest.fixture
def events(rt: Runtime) -> list[Event]:
    """Every event published from the test's start by the test module's ``rt``."""
    seen: list[Event] = []
    rt.bus.subscribe(seen.append)
    return seen


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Polls ``condition`` until true; fails the test when ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_tools(*tools: str, installed_by: str) -> None:
    """Tools a test drives: when one is missing, the test fails in CI (which installs
    them) and is skipped elsewhere, saying what installs them."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"needs {', '.join(missing)} ({installed_by} installs them)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def killed_at_end() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; killed if the test left one running."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


BUILT_ENV = "HH_RAISER_BUILT_EXE"
BUILT_DEFAULT = Path(__file__).parent.parent / "dist" / "hh-raiser" / "hh-raiser"


def built_executable() -> Path:
    """The executable ``scripts/build`` made (``scripts/test`` builds it first); the
    tests of the built app fail in CI without it and are skipped elsewhere."""
    path = Path(os.environ.get(BUILT_ENV) or BUILT_DEFAULT)
    if not path.is_file():
        message = f"no built executable at {path}: run scripts/build (scripts/test does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path
