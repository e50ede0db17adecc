"""CLI commands in-process (in-memory keyring): human output and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

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
from tray_app.i18n import t
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring

from .conftest import make_runtime, write_settings

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def run(environ: dict[str, str], backend: KeyringBackend, *args: str) -> tuple[int, str, str]:
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


def no_keyring() -> KeyringBackend:
    """What keyring picks on a machine without one (no D-Bus, no Secret Service)."""
    return fail.Keyring()  # type: ignore[no-untyped-call]


def said_not_set_up(text: str, *, keyring_missing: bool) -> None:
    assert t("not_set_up", "ru") in text
    assert "hh-raiser login --web --window" in text and "import-env" in text
    assert (t("not_set_up.no_keyring", "ru") in text) is keyring_missing
    assert "Нет безопасного хранилища" not in text  # not the keyring error
    assert "заново" not in text  # nor "sign in again": nobody signed in yet


@pytest.mark.parametrize("command", [["status"], ["resumes"], ["raise-now"]])
@pytest.mark.parametrize("keyring_missing", [False, True])
def test_a_fresh_install_is_not_set_up_yet_and_says_what_to_run(
    environ: dict[str, str], command: list[str], keyring_missing: bool
) -> None:
    """Nothing set up, with or without a keyring: the same answer, exit code 4."""
    backend = no_keyring() if keyring_missing else MemoryKeyring()
    code, out, err = run(environ, backend, *command)
    assert code == EXIT_SIGN_IN
    said_not_set_up(out + err, keyring_missing=keyring_missing)
    if command == ["status"]:
        assert t("not_set_up", "ru") in out  # status's answer; the others complain
    code, out, err = run(
        environ, backend, *command, *(["--json"] if command != ["resumes"] else [])
    )
    assert code == EXIT_SIGN_IN and err


def test_json_on_a_fresh_install_without_a_keyring_is_still_the_document(
    environ: dict[str, str],
) -> None:
    code, out, err = run(environ, no_keyring(), "status", "--json")
    assert code == EXIT_SIGN_IN and json.loads(out)["auth"]["state"] == "not_configured"
    said_not_set_up(err, keyring_missing=True)
    code, out, _ = run(environ, no_keyring(), "raise-now", "--json")
    assert [r["outcome"] for r in json.loads(out)["results"]] == ["sign_in_needed"]


@pytest.mark.parametrize("command", ["status", "resumes", "raise-now"])
def test_without_a_keyring_an_installation_set_up_before_gets_the_keyring_error(
    environ: dict[str, str], home: Path, command: str
) -> None:
    """Its account's secrets are in the missing keyring: that is the problem to fix."""
    write_settings(home, contact_email="me@example.com")
    code, out, err = run(environ, no_keyring(), command)
    assert code == EXIT_FAILURE and not out
    assert t("err.no_keyring", "ru", detail="").split(":")[0] in err and "gnome-keyring" in err
    assert t("not_set_up", "ru") not in err


def test_resumes_lists_ids(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_runtime(environ, keyring_backend, sim).close()
    code, out, _ = run(environ, keyring_backend, "resumes")
    assert code == EXIT_OK
    assert f"{A}  [x] Python-разработчик [ok] (hh.ru: published)" in out
    assert "[заблокировано модератором] (hh.ru: blocked)" in out
    assert "[черновик, не опубликовано] (hh.ru: not_published)" in out
