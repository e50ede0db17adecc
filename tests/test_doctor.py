"""``hh-raiser doctor`` against the simulator: hh.ru's raw words beside each
conclusion, the page's shape, cookie names, the clock, one real raise with hh.ru's
answers, and a report file a user can attach without leaking a secret."""

from __future__ import annotations

import io
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from tray_app.adapters.cli import EXIT_FAILURE, EXIT_OK, Cli, main
from tray_app.core.models import Outcome
from tray_app.i18n import t
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.lock import InstanceLock
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.wiring import Runtime

from .conftest import make_runtime, make_web_runtime

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def doctor(
    environ: dict[str, str], backend: MemoryKeyring, *args: str
) -> tuple[int, str, str, Path | None]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["doctor", *args], Cli(environ=environ, out=out, err=err, keyring_backend=backend))
    reports = sorted((Path(environ["HH_RAISER_HOME"]) / "logs").glob("doctor-*.txt"))
    return code, out.getvalue(), err.getvalue(), reports[-1] if reports else None


def secrets_of(runtime: Runtime) -> list[str]:
    session = runtime.web_sessions().load()
    values = [v for v in session.cookies.values() if len(v) >= 12] if session else []
    return [*values, "tests@example.com"]


def test_the_website_report_shows_hh_words_and_our_conclusions(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_web_runtime(environ, keyring_backend, sim)
    code, out, _, report = doctor(environ, keyring_backend)
    assert code == EXIT_OK and report is not None
    text = report.read_text()
    assert text.strip() in out
    assert "через сайт hh.ru" in text and "curl_cffi" in text and "impersonating chrome" in text
    assert "userType=applicant; прочитана с /applicant/resumes (xhr-json)" in text
    assert "applicantResumes" in text  # the page state's keys, to see a changed page
    assert "hhtoken" in text and "__ddg1_, fgsscgib-w-hh, gsscgib-w-hh" in text
    assert "Часы hh.ru:" in text
    for word in ("approved", "modified", "not_finished", "blocked"):
        assert f'_attributes.status="{word}"' in text
    verdicts = [line for line in text.splitlines() if "вывод HH Raiser" in line]
    assert len(verdicts) == 4
    assert "можно поднимать" in verdicts[0] and "следующее поднятие" in verdicts[0]
    assert "не поднимаем — черновик" in verdicts[2]
    assert "не поднимаем — заблокировано" in verdicts[3]
    # private to the user, and nothing secret in it
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    for secret in secrets_of(runtime):
        assert secret not in text and secret not in out
    runtime.close()


def test_the_api_report_shows_can_publish_or_update_and_that_it_decides_nothing(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim)
    sim.open_window(A, in_seconds=600)
    code, out, _, _ = doctor(environ, keyring_backend)
    assert code == EXIT_OK
    first = out.split("1. «Python-разработчик»")[1].split("2. ")[0]
    assert "can_publish_or_update=false" in first and "next_publish_at=" in first
    assert "можно поднимать; окно откроется" in first
    assert "auth_type=applicant, is_applicant=True" in out
    token = runtime.tokens.access_token()
    assert token not in out
    runtime.close()


def test_raise_does_one_real_raise_and_shows_every_answer(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_web_runtime(environ, keyring_backend, sim)
    sim.resumes[A].updated_at = sim.now() - timedelta(hours=5)
    sim.open_window(A, in_seconds=-5)
    code, out, _, report = doctor(environ, keyring_backend, "--raise", A[:6])
    assert code == EXIT_OK and report is not None
    raised = out.split("(--raise a1b2c3):")[1]
    assert "поднято" in raised
    assert "POST /applicant/resumes/touch -> HTTP 200" in raised
    assert "GET /applicant/resumes -> HTTP 200" in raised  # the re-read that confirms it
    assert [p.accepted for p in sim.publishes] == [True]
    assert runtime.history.read()[-1].outcome is Outcome.RAISED  # and in the history
    for secret in secrets_of(runtime):
        assert secret not in report.read_text()
    runtime.close()


def test_raise_never_goes_into_a_cooldown_it_knows_of(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_web_runtime(environ, keyring_backend, sim).close()
    sim.open_window(A, in_seconds=600)
    code, out, _, _ = doctor(environ, keyring_backend, "--raise", A)
    assert code == EXIT_OK and "ещё рано" in out
    assert sim.web.touches == []


def test_raise_waits_for_the_running_app_to_be_quit(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_web_runtime(environ, keyring_backend, sim).close()
    lock = Path(environ["HH_RAISER_HOME"]) / "data" / "instance.lock"
    with InstanceLock(lock).acquire():
        code, _, err, _ = doctor(environ, keyring_backend, "--raise", A)
    assert code == EXIT_FAILURE and err.strip() == t("doctor.quit_first", "ru")
    assert sim.web.touches == []


def test_bot_protection_is_in_the_report_with_its_page(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_web_runtime(environ, keyring_backend, sim).close()
    sim.inject("ddos_guard", "/applicant/resumes")
    code, out, _, report = doctor(environ, keyring_backend)
    assert code == EXIT_FAILURE and report is not None
    assert "DDoS-Guard's bot protection answered" in out
    assert "Защита hh.ru от ботов" in out


def test_without_an_account_it_says_what_to_do(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_runtime(environ, keyring_backend, sim, with_tokens=False).close()
    code, out, _, _ = doctor(environ, keyring_backend)
    assert code == EXIT_FAILURE and t("doctor.no_account", "ru") in out


@pytest.mark.parametrize("web", [False, True])
def test_the_demo_account_needs_no_keyring(tmp_path: Path, web: bool) -> None:
    out = io.StringIO()
    environ = {"HH_RAISER_HOME": str(tmp_path / "home"), "NO_PROXY": "127.0.0.1"}
    args = ["doctor", "--demo", "--raise", A[:8], *(["--web"] if web else [])]
    assert main(args, Cli(environ=environ, out=out, err=io.StringIO())) == EXIT_OK
    assert "✔ «Python-разработчик» поднято" in out.getvalue()
    assert t("doctor.demo", "ru") in out.getvalue()
