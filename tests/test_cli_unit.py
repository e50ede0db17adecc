"""CLI commands in-process (in-memory keyring): human output and exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tray_app.adapters.cli import (
    EXIT_FAILURE,
    EXIT_NOT_DUE,
    EXIT_OK,
    EXIT_SIGN_IN,
    Cli,
    main,
    raise_now_exit_code,
)
from tray_app.core.models import Outcome
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring

from .conftest import make_runtime, write_settings

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def run(environ: dict[str, str], backend: MemoryKeyring, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), Cli(environ=environ, out=out, err=err, keyring_backend=backend))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([Outcome.RAISED, None], EXIT_OK),  # None: not due, nothing sent
        ([None, Outcome.NOT_PUBLISHABLE], EXIT_NOT_DUE),
        ([], EXIT_NOT_DUE),
        ([Outcome.RAISED, Outcome.FAILED], EXIT_FAILURE),
        ([Outcome.UNCONFIRMED], EXIT_FAILURE),
        ([Outcome.SIGN_IN_NEEDED], EXIT_SIGN_IN),
    ],
)
def test_raise_now_exit_codes(outcomes: list[Outcome | None], code: int) -> None:
    assert raise_now_exit_code(outcomes) == code


def test_status_for_people_in_russian_and_english(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    make_runtime(environ, keyring_backend, sim).close()
    sim.open_window(A, in_seconds=-3)
    assert run(environ, keyring_backend, "raise-now", "--resume", A)[0] == EXIT_OK
    code, out, _ = run(environ, keyring_backend, "status")
    assert code == EXIT_OK
    assert "Вход: вход выполнен" in out
    assert "[x] Python-разработчик" in out and "(поднято)" in out
    write_settings(home, language="en")
    code, out, _ = run(environ, keyring_backend, "status")
    assert "Account: signed in" in out and "(raised)" in out


def test_status_without_an_account_is_sign_in_needed(
    environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    code, out, _ = run(environ, keyring_backend, "status", "--json")
    assert code == EXIT_SIGN_IN and '"not_configured"' in out


def test_resumes_lists_ids(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_runtime(environ, keyring_backend, sim).close()
    code, out, _ = run(environ, keyring_backend, "resumes")
    assert code == EXIT_OK
    assert f"{A}  [x] Python-разработчик [ok] (hh.ru: published)" in out
    assert "[заблокировано модератором] (hh.ru: blocked)" in out
    assert "[черновик, не опубликовано] (hh.ru: not_published)" in out
