""" "A new version is available": the version comparison, the once-a-day check with a
fake clock against the GitHub stand-in over real HTTP, and what ``status`` and the tray
show of it with a running service."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from tray_app import PROJECT_REPOSITORY, __version__
from tray_app.adapters.cli import main
from tray_app.adapters.cli.base import Cli
from tray_app.adapters.service import Service
from tray_app.adapters.tray.app import TrayApp
from tray_app.core.updates import (
    CHECK_EVERY,
    UpdateChecker,
    UpdateKind,
    is_newer,
    parse_version,
)
from tray_app.simulator.github import GitHubSimulator, SimRelease
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.update_state import UpdateStateFile
from tray_app.transports.releases import GitHubReleases, latest_path
from tray_app.wiring import Runtime

from . import fake_pystray
from .conftest import FakeClock, make_runtime, wait_until, write_settings

NEWER = "v99.0.0"


@pytest.mark.parametrize(
    ("tag", "current", "newer"),
    [
        ("v0.2.0", "0.1.0", True),
        ("0.2.0", "0.1.0", True),
        ("0.10.0", "0.9.0", True),  # numbers, not text: "0.10" sorts before "0.9"
        ("0.9.0", "0.10.0", False),
        ("V1.0.0", "0.99.99", True),
        ("v0.1.0", "0.1.0", False),
        ("0.1", "0.1.0", False),  # trailing zeros: the same version
        ("0.1.0.1", "0.1.0", True),
        ("v0.0.9", "0.1.0", False),
        ("0.2.0-rc1", "0.1.0", False),  # not a number we order: never offered
        ("nightly", "0.1.0", False),
        ("", "0.1.0", False),
        ("v.1", "0.1.0", False),
    ],
)
def test_version_comparison(tag: str, current: str, newer: bool) -> None:
    assert is_newer(tag, current) is newer


def test_parse_version() -> None:
    assert parse_version("v1.2.3") == (1, 2, 3)
    assert parse_version("1.0.0") == parse_version("1") == (1,)
    assert parse_version("1.2.x") is None


# ---- the daily check, fake clock, the stand-in over HTTP ------------------------------


class Checker:
    """An :class:`UpdateChecker` as the app wires it, against the stand-in; ``restart``
    builds a new one from the same state file (what a new process does)."""

    def __init__(self, github: GitHubSimulator, folder: Path, clock: FakeClock) -> None:
        self.github, self.folder, self.clock = github, folder, clock
        self.enabled = True
        self.sources: list[GitHubReleases] = []
        self.checker = self.restart()

    def restart(self) -> UpdateChecker:
        source = GitHubReleases(self.github.url, self.clock, timeout=(2, 2))
        self.sources.append(source)
        self.checker = UpdateChecker(
            source,
            UpdateStateFile(self.folder / "update-check.json"),
            self.clock,
            current_version="0.1.0",
            enabled=lambda: self.enabled,
        )
        return self.checker

    def close(self) -> None:
        for source in self.sources:
            source.close()


@pytest.fixture
def checker(github: GitHubSimulator, tmp_path: Path) -> Iterator[Checker]:
    made = Checker(github, tmp_path, FakeClock(datetime.now(UTC).replace(microsecond=0)))
    yield made
    made.close()


def test_checks_once_a_day_and_a_restart_remembers(checker: Checker) -> None:
    github, clock = checker.github, checker.clock
    github.release = SimRelease("v0.2.0")
    assert checker.checker.check_if_due() is True
    view = checker.checker.view()
    assert view.kind is UpdateKind.AVAILABLE and view.version == "0.2.0"
    assert view.url == f"https://github.com/{PROJECT_REPOSITORY}/releases/tag/v0.2.0"
    assert view.checked_at == clock.now()
    clock.advance(CHECK_EVERY.total_seconds() - 60)
    assert checker.checker.check_if_due() is False
    restarted = checker.restart()
    assert restarted.check_if_due() is False  # a restart does not ask again within the day
    assert restarted.view() == view  # nor forget what it found
    assert len(github.requests) == 1
    clock.advance(60)
    assert restarted.check_if_due() is True
    assert len(github.requests) == 2


def test_a_clock_set_back_does_not_put_the_next_check_off_for_longer_than_a_day(
    checker: Checker,
) -> None:
    checker.github.release = SimRelease("v0.1.0")
    checker.checker.check_if_due()
    checker.clock.advance(-10 * CHECK_EVERY.total_seconds())  # the clock went back
    assert checker.checker.check_if_due() is False  # the scheduler looks within the hour
    checker.clock.advance(CHECK_EVERY.total_seconds() - 1)
    assert checker.checker.check_if_due() is False
    checker.clock.advance(1)
    assert checker.checker.check_if_due() is True


def test_what_is_sent_is_the_documented_headers_and_nothing_else(checker: Checker) -> None:
    checker.github.release = SimRelease("v0.1.0")
    checker.checker.check_if_due()
    (request,) = checker.github.requests
    assert request.path == latest_path(PROJECT_REPOSITORY)
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == f"hh-raiser/{__version__}"
    assert not {"authorization", "cookie"} & set(request.headers)


def test_the_same_version_is_up_to_date(checker: Checker) -> None:
    checker.github.release = SimRelease("v0.1.0")
    checker.checker.check_if_due()
    assert checker.checker.view().kind is UpdateKind.CURRENT


@pytest.mark.parametrize(
    "release",
    [SimRelease(NEWER, prerelease=True), SimRelease(NEWER, draft=True), SimRelease("v9-beta")],
)
def test_a_pre_release_draft_or_odd_tag_is_never_offered(
    checker: Checker, release: SimRelease, caplog: pytest.LogCaptureFixture
) -> None:
    checker.github.release = release
    with caplog.at_level(logging.WARNING, "tray_app.core.updates"):
        checker.checker.check_if_due()
    assert checker.checker.view().kind is UpdateKind.CURRENT
    assert [r.message for r in caplog.records if "ignoring the latest release" in r.message]


@pytest.mark.parametrize("failure", ["no release", "not json", "offline"])
def test_a_failed_check_is_one_log_line_and_tried_again_a_day_later(
    checker: Checker, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    github, clock = checker.github, checker.clock
    if failure == "not json":
        github.raw_body = "<html>a proxy's page</html>"
    if failure == "offline":
        github.stop()
    with caplog.at_level(logging.INFO):
        assert checker.checker.check_if_due() is True
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "could not check for a new version" in lines[0].getMessage()
    assert lines[0].exc_info is None  # plain words, no traceback
    assert checker.checker.view().kind is UpdateKind.UNKNOWN
    assert checker.checker.next_check_at() == clock.now() + CHECK_EVERY
    if failure == "offline":
        github.start()
    clock.advance(CHECK_EVERY.total_seconds() - 1)
    assert checker.checker.check_if_due() is False


def test_a_failed_check_keeps_what_was_found(checker: Checker) -> None:
    github, clock = checker.github, checker.clock
    github.release = SimRelease(NEWER)
    checker.checker.check_if_due()
    found = checker.checker.view()
    github.release = None  # 404 now
    clock.advance(CHECK_EVERY.total_seconds())
    assert checker.checker.check_if_due() is True
    assert checker.checker.view() == found
    assert checker.restart().view() == found


def test_rate_limited_waits_for_retry_after(checker: Checker) -> None:
    github, clock = checker.github, checker.clock
    github.rate_limited, github.retry_after = True, 600
    checker.checker.check_if_due()
    assert checker.checker.next_check_at() == clock.now() + timedelta(seconds=600)
    assert checker.checker.view().kind is UpdateKind.UNKNOWN
    clock.advance(599)
    assert checker.checker.check_if_due() is False
    github.rate_limited, github.release = False, SimRelease(NEWER)
    clock.advance(1)
    assert checker.checker.check_if_due() is True
    assert checker.checker.view().kind is UpdateKind.AVAILABLE


def test_rate_limited_without_retry_after_waits_for_the_reset(checker: Checker) -> None:
    checker.github.rate_limited = True  # the reset is an hour away on the real clock
    checker.checker.check_if_due()
    wait = checker.checker.next_check_at() - checker.clock.now()
    assert timedelta(minutes=55) < wait < timedelta(minutes=65)


def test_off_sends_nothing(checker: Checker) -> None:
    checker.enabled = False
    checker.github.release = SimRelease(NEWER)
    assert checker.checker.check_if_due() is False
    assert checker.checker.view().kind is UpdateKind.OFF
    assert checker.github.requests == []


# ---- a running service: status, status --json, the tray ------------------------------


def run_cli(environ: dict[str, str], backend: KeyringBackend, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), Cli(environ=environ, out=out, err=err, keyring_backend=backend))
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def started(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Service]:
    """A running service whose update check asks at once, not 90 s after the start."""
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)
    runtime = make_runtime(environ, keyring_backend, sim)
    service = Service(runtime, first_update_check=0.05)
    service.start()
    yield service
    service.stop()


def test_status_of_a_running_instance_shows_a_newer_version(
    github: GitHubSimulator,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    github.release = SimRelease(NEWER)
    runtime = make_runtime(environ, keyring_backend, sim)
    service = Service(runtime, first_update_check=0.05)
    service.start()
    try:
        wait_until(lambda: service.status().update.kind is UpdateKind.AVAILABLE, 10)
        code, out = run_cli(environ, keyring_backend, "status")
        assert code == 0, out
        url = f"https://github.com/{PROJECT_REPOSITORY}/releases/tag/{NEWER}"
        assert f"Доступна новая версия 99.0.0: {url}" in out
        code, out = run_cli(environ, keyring_backend, "status", "--json")
        assert json.loads(out)["update"] == {
            "state": "available",
            "checked_at": service.status().update.checked_at.isoformat(),  # type: ignore[union-attr]
            "version": "99.0.0",
            "url": url,
        }
    finally:
        service.stop()
    assert len(github.requests) == 1


def test_status_without_an_instance_says_up_to_date_from_the_saved_check(
    github: GitHubSimulator,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    github.release = SimRelease(f"v{__version__}")
    runtime = make_runtime(environ, keyring_backend, sim, language="en")
    assert runtime.updates.check_if_due()
    runtime.close()
    code, out = run_cli(environ, keyring_backend, "status")
    assert code == 0, out
    assert "Up to date (checked " in out
    assert len(github.requests) == 1  # status itself never asks


@pytest.mark.parametrize("answer", ["no release", "rate limited"])
def test_a_failing_check_shows_nothing_and_raising_goes_on(
    github: GitHubSimulator,
    started: Service,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    answer: str,
) -> None:
    github.rate_limited = answer == "rate limited"
    wait_until(lambda: started.scheduler.chore_runs["update-check"] >= 1 and github.requests, 10)
    wait_until(lambda: started.runtime.updates.next_check_at() > started.runtime.clock.now())
    assert started.scheduler.running
    status = started.status()
    assert status.update.kind is UpdateKind.UNKNOWN
    assert status.auth_state.value == "ok" and status.resumes
    code, out = run_cli(environ, keyring_backend, "status")
    assert code == 0 and "Новые версии ещё не проверялись." in out


def test_off_in_settings_the_stand_in_gets_no_request(
    github: GitHubSimulator,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    github.release = SimRelease(NEWER)
    runtime = make_runtime(environ, keyring_backend, sim, check_for_updates=False)
    service = Service(runtime, first_update_check=0.05)
    service.start()
    try:
        wait_until(lambda: service.scheduler.chore_runs["update-check"] >= 1, 10)
        assert service.status().update.kind is UpdateKind.OFF
        code, out = run_cli(environ, keyring_backend, "status")
        assert code == 0 and "Проверка новых версий выключена." in out
    finally:
        service.stop()
    assert github.requests == []


def test_the_setting_is_listed_and_set_from_the_command_line(
    environ: dict[str, str], keyring_backend: MemoryKeyring, home: Path
) -> None:
    write_settings(home, language="en")
    code, out = run_cli(environ, keyring_backend, "config", "list")
    assert code == 0 and "check_for_updates" in out and "true" in out
    code, out = run_cli(environ, keyring_backend, "config", "set", "check_for_updates", "off")
    assert code == 0, out
    code, out = run_cli(environ, keyring_backend, "config", "get", "check_for_updates")
    assert out.strip() == "false"


@contextmanager
def running_tray(
    runtime: Runtime, open_url: Callable[[str], object]
) -> Iterator[fake_pystray.Icon]:
    """The tray over ``runtime`` with the fake pystray backend, running; its icon."""
    app = TrayApp(
        Service(runtime),
        fake_pystray,
        autostart=None,
        open_url=open_url,
        start_settings=lambda _tab: None,
        start_sign_in=lambda: None,  # type: ignore[arg-type,return-value]
        notifications=False,
    )
    runner = threading.Thread(target=app.run)
    runner.start()
    icon = app.icon
    assert isinstance(icon, fake_pystray.Icon)
    try:
        yield icon
    finally:
        app.quit()
        runner.join(30)


def test_the_tray_offers_the_new_version_and_opens_its_page(
    github: GitHubSimulator,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim)
    github.release = SimRelease(NEWER)
    assert runtime.updates.check_if_due()
    opened: list[str] = []
    with running_tray(runtime, opened.append) as icon:
        wait_until(lambda: "Доступна версия 99.0.0…" in icon.texts(), 10)
        icon.click("Доступна версия 99.0.0…")
        wait_until(lambda: opened, 10)
        assert opened == [f"https://github.com/{PROJECT_REPOSITORY}/releases/tag/{NEWER}"]
    assert len(github.requests) == 1  # clicking opened a page; it asked nothing more


def test_the_tray_shows_no_item_when_up_to_date(
    github: GitHubSimulator,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim)
    github.release = SimRelease(f"v{__version__}")
    assert runtime.updates.check_if_due()
    opened: list[str] = []
    with running_tray(runtime, opened.append) as icon:
        wait_until(lambda: "Настройки…" in icon.texts(), 10)
        assert not [text for text in icon.texts() if "Доступна версия" in text]
    assert opened == []


def test_the_demo_asks_its_own_stand_in_never_github(tmp_path: Path) -> None:
    from tray_app.adapters.cli.serve import demo_world

    cli = Cli(environ={"HH_RAISER_HOME": str(tmp_path)}, out=io.StringIO(), err=io.StringIO())
    with demo_world(cli, cooldown=5, web=False) as (demo, _sim):
        runtime = demo.runtime()
        try:
            assert runtime.releases.url.startswith("http://127.0.0.1:")
            assert runtime.updates.check_if_due()
            assert runtime.updates.view().kind is UpdateKind.CURRENT  # the demo is the latest
        finally:
            runtime.close()
