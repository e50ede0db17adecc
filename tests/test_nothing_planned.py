"""The tray never says "all fine" when nothing will be raised: when no enabled resume
has a next raise, its status line, tooltip, icon and ``status`` say why. Before, a
user whose resumes could all not be raised read "Всё в порядке. Следующее поднятие:
не запланировано" under a green icon."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tray_app.adapters.service import Service
from tray_app.adapters.tray.icons import IconState, icon_state
from tray_app.adapters.tray.menu import build_menu, status_line, tooltip
from tray_app.core.engine import EngineOptions
from tray_app.core.views import Status
from tray_app.i18n import t
from tray_app.i18n.text import status_lines
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.settings import SettingsStore
from tray_app.wiring import Runtime

from .conftest import make_runtime, make_web_runtime

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
DRAFT = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
BLOCKED = "d4e5f60718293a4b5c6d7e8f9012345678901234"
ALL_FINE = {"ru": "Всё в порядке", "en": "All good"}


@pytest.fixture
def service(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[Service]:
    runtime = make_web_runtime(
        environ, keyring_backend, sim, engine_options=EngineOptions(calibrate=False)
    )
    yield Service(runtime)
    runtime.close()


def status_after_a_read(service: Service) -> Status:
    service.runtime.settings.reload_if_changed()
    service.runtime.engine.refresh()
    return service.status()


def assert_says_why(
    status: Status, language: str, expected: str, cli_line: str | None = None
) -> None:
    line = status_line(status, language)
    assert line == expected and not line.startswith(ALL_FINE[language])
    assert tooltip(status, language) == f"HH Raiser — {expected}"
    assert icon_state(status, raising=False) is IconState.ATTENTION
    assert build_menu(status, autostart=None, language=language)[0].text == expected
    assert (cli_line or expected) in status_lines(status, language)  # ``hh-raiser status``


@pytest.mark.parametrize("language", ["ru", "en"])
def test_only_drafts_and_blocked_resumes_enabled(
    service: Service, sim: HHSimulator, language: str
) -> None:
    SettingsStore(service.runtime.paths.settings_file).update(enabled_resumes=[DRAFT, BLOCKED])
    status = status_after_a_read(service)
    reasons = ", ".join(t(f"reason.{r}", language) for r in ("draft", "blocked"))
    assert_says_why(status, language, t("tray.none_planned.cannot", language, reason=reasons))


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_resume_switched_off(service: Service, language: str) -> None:
    SettingsStore(service.runtime.paths.settings_file).update(enabled_resumes=["0" * 40])
    status = status_after_a_read(service)
    assert_says_why(status, language, t("tray.none_planned.all_off", language))


@pytest.mark.parametrize("language", ["ru", "en"])
def test_no_resume_on_hh(service: Service, sim: HHSimulator, language: str) -> None:
    sim.resumes.clear()
    status = status_after_a_read(service)
    expected = t("tray.none_planned.no_resumes", language)
    assert_says_why(status, language, expected, cli_line=t("status.no_resumes", language))


def test_a_live_resume_with_a_next_raise_is_all_fine(service: Service) -> None:
    status = status_after_a_read(service)
    assert status_line(status, "ru").startswith(ALL_FINE["ru"])
    assert icon_state(status, raising=False) is IconState.OK


def test_before_hh_has_answered_it_waits_and_does_not_alarm(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime: Runtime = make_runtime(environ, keyring_backend, sim)
    try:
        status = Service(runtime).status()  # nothing read yet
        assert status_line(status, "ru") == t("tray.none_planned.waiting", "ru")
        assert icon_state(status, raising=False) is IconState.OK
    finally:
        runtime.close()
