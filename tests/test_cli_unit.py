"""CLI commands in-process (in-memory keyring): human output and exit codes."""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from tray_app.adapters.cli import (
    EXIT_FAILURE,
    EXIT_NOT_DUE,
    EXIT_OK,
    EXIT_SIGN_IN,
    EXIT_USAGE,
    Cli,
    build_parser,
    main,
    raise_now_exit_code,
)
from tray_app.adapters.cli.main import COMMANDS
from tray_app.core.models import Language, Outcome
from tray_app.i18n import t
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.settings import DEFAULTS, FIELDS, SettingsStore

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
    """First "not set up yet" and what to run; without a keyring, then what signing in
    will need (the secret store's choices, as every command that stores one says)."""
    assert text.startswith(t("not_set_up", "ru"))
    assert "hh-raiser login --web --window" in text and "import-env" in text
    assert (t("not_set_up.no_keyring", "ru") in text) is keyring_missing
    assert ("hh-raiser secrets new-key" in text) is keyring_missing
    assert "заново" not in text  # not "sign in again": nobody signed in yet


@pytest.mark.parametrize("command", [["status"], ["resumes"], ["raise-now"]])
@pytest.mark.parametrize("keyring_missing", [False, True])
def test_a_fresh_install_is_not_set_up_yet_and_says_what_to_run(
    environ: dict[str, str], command: list[str], keyring_missing: bool
) -> None:
    """Nothing set up, with or without a keyring: "not set up yet" first, exit code 4."""
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
    assert "Нет безопасного хранилища секретов" in err and "gnome-keyring" in err
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


# ---- every command with bad arguments; help in one language ---------------------------

BAD = "no such value!"  # a number, a host, a chat id, a choice: none of them
Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every command the parser knows, nested ones too (``config set``), with its own
    parser: a command added tomorrow is walked as well."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def bad_arguments(
    path: tuple[str, ...], parser: argparse.ArgumentParser, missing: str
) -> Iterator[tuple[list[str], bool]]:
    """Wrong ways to call one command: (arguments, whether argparse itself refuses
    them). A value argparse takes as it is gets ``missing``, a path that can be
    neither read nor written (or an id that is not there), and the command runs."""
    positionals = [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]
    passing = [str(next(iter(a.choices))) if a.choices else missing for a in positionals]
    yield [*path, "--no-such-option", *passing], True
    if not path:
        yield ["no-such-command"], True
    elif parser._subparsers is not None or positionals:
        yield list(path), True  # a required argument left out
    for i, action in enumerate(positionals):
        wrong = BAD if action.choices else missing
        yield [*path, *passing[:i], wrong, *passing[i + 1 :]], bool(action.choices)
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or "-h" in action.option_strings:
            continue
        option = action.option_strings[-1]
        if action.nargs is None:
            yield [*path, *passing, option], True  # its value left out
        if action.type is not None or action.choices:
            yield [*path, *passing, option, BAD], True
        else:
            yield [*path, *passing, option, missing], False
    for group in parser._mutually_exclusive_groups:
        together = [
            word
            for action in group._group_actions[:2]
            for word in (action.option_strings[-1], *([] if action.nargs == 0 else [missing]))
        ]
        yield [*path, *passing, *together], True


@pytest.fixture
def nowhere(tmp_path: Path) -> dict[str, str]:
    """A throwaway home, every remote service on a closed local port (nothing may
    reach hh.ru or Telegram), no Firefox profile."""
    closed = f"http://127.0.0.1:{_closed_port()}"
    return {
        "HH_RAISER_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path / "user"),
        "HH_RAISER_API_URL": closed,
        "HH_RAISER_OAUTH_URL": closed,
        "HH_RAISER_WEB_URL": closed,
        "HH_RAISER_TELEGRAM_URL": closed,
        "HH_RAISER_TIMEOUT": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_as_user(
    environ: dict[str, str],
    args: list[str],
    keyring: MemoryKeyring | None = None,
    at_the_prompt: type[BaseException] = EOFError,
) -> tuple[int, str, str]:
    """The command in-process with no browser, ``keyring`` (without one: no keyring
    works), and a prompt that gets no answer (the input ends, or Ctrl+C); an
    exception out of ``main`` is what a user would see as a traceback."""

    def nobody_types(_prompt: str) -> str:
        raise at_the_prompt

    out, err = io.StringIO(), io.StringIO()
    cli = Cli(
        environ=environ,
        out=out,
        err=err,
        stdin=io.StringIO(),
        keyring_backend=keyring or fail.Keyring(),  # type: ignore[no-untyped-call]
        prompt=nobody_types,
        secret_prompt=nobody_types,
        open_browser=lambda _url: False,
    )
    try:
        code = main(args, cli)
    except BaseException:  # noqa: BLE001 - the point: nothing may get out
        return -1, out.getvalue(), err.getvalue() + "\nTraceback:\n" + traceback.format_exc()
    return code, out.getvalue(), err.getvalue()


CYRILLIC = re.compile("[А-Яа-яЁё]")


@pytest.mark.parametrize("keyring", ["none", "empty"])
@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_command_with_bad_arguments_says_why_and_never_a_traceback(
    nowhere: dict[str, str], tmp_path: Path, language: str, keyring: str
) -> None:
    """Each command of the parser (so a new one is walked too) with an unknown option,
    a value left out, a value of the wrong kind, options that exclude each other, and
    a file or an id that does not exist: a non-zero exit (2 where argparse refuses),
    a message in the user's language, and no traceback. With no keyring at
    all, and with one that holds nothing (no account: the commands go further)."""
    write_settings(Path(nowhere["HH_RAISER_HOME"]), language=language)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    missing = str(a_file / "no-such-file")  # neither to read nor to create
    walked, failures = set(), []
    for path, parser in commands(build_parser(language)):
        walked.add(" ".join(path))
        for args, by_argparse in bad_arguments(path, parser, missing):
            code, out, err = run_as_user(
                nowhere, args, MemoryKeyring() if keyring == "empty" else None
            )
            said = (out + err).replace(missing, "").replace(BAD, "")
            in_language = bool(CYRILLIC.search(said)) == (language == "ru")
            if (
                "Traceback" in out + err
                or code <= 0
                or (by_argparse and code != EXIT_USAGE)
                or not said.strip()
                or not in_language
            ):
                failures.append(f"hh-raiser {' '.join(args)} -> {code}\n{out}{err}")
    assert not failures, "\n\n".join(failures)
    assert {"run", "config set", "telegram setup", "import-env", "login", "doctor"} <= walked
    assert set(COMMANDS) <= walked


UNTRANSLATED = (
    "HH Raiser, hh.ru, spb.hh.ru, hh.kz, rabota.by, OAuth, API, Firefox, Telegram, @BotFather, "
    "Cookie, cookies.txt, JSON, SIGTERM, Ctrl+C, .env, id, ID, Linux, systemd"
)


def _words(parser: argparse.ArgumentParser) -> set[str]:
    """What help may show in Latin letters: the commands', options' and choices' own
    names, the settings' keys, and names of things that have no translation."""
    names: set[str] = set()
    for _path, command in commands(parser):
        names.update(command.prog.split())
        for action in command._actions:
            names.update(action.option_strings)
            names.update(map(str, action.choices or ()))
    names.update(FIELDS)  # named in config's help
    names.add(UNTRANSLATED)
    return {word for name in names for word in re.findall(r"[A-Za-z_]+", name)}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_help_of_every_command_is_in_one_language(nowhere: dict[str, str], language: str) -> None:
    """``--help`` of each command: in Russian not a word of English (argparse's own
    "usage:", "options", "show this help message and exit" included) beyond names;
    in English not a Russian letter."""
    write_settings(Path(nowhere["HH_RAISER_HOME"]), language=language)
    allowed = _words(build_parser(language))
    for path, _parser in commands(build_parser(language)):
        code, out, err = run_as_user(nowhere, [*path, "--help"])
        assert (code, err) == (EXIT_OK, ""), out
        if language == "ru":
            english = set(re.findall(r"[A-Za-z_]+", out)) - allowed
            assert not english, f"hh-raiser {' '.join(path)} --help:\n{out}"
            assert out.startswith("использование: hh-raiser")
        else:
            assert not CYRILLIC.search(out), f"hh-raiser {' '.join(path)} --help:\n{out}"
            assert out.startswith("usage: hh-raiser")


def test_help_says_what_each_option_does(nowhere: dict[str, str]) -> None:
    """Every argument is described, and as it works (issue 15 found these wrong)."""
    helps: dict[str, str] = {}
    for path, parser in commands(build_parser("en")):
        for action in parser._actions:
            name = " ".join((*path, *action.option_strings[-1:]))
            if action.option_strings or not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"hh-raiser {name}: no description"
                helps[name] = action.help
    assert helps["login --web"].startswith("sign in through the website")
    assert "raise" not in helps["login --web"]
    assert helps["login --timeout"].startswith("how long to wait for hh.ru")
    assert helps["run --headless"].startswith("run without a window or tray icon")
    assert "background" not in helps["run --headless"]
    assert t("run.started", "en", version="1").startswith("HH Raiser 1 is running without a window")
    assert "в фоне" not in t("run.started", "ru", version="1")
    write_settings(Path(nowhere["HH_RAISER_HOME"]), language="en")
    shown = " ".join(run_as_user(nowhere, ["login", "--help"])[1].split())
    assert f"--web {helps['login --web']}" in shown
    assert f"--timeout SECONDS {helps['login --timeout']}" in shown


@pytest.mark.parametrize(
    ("args", "ru", "en"),
    [
        (["config", "set", "margin_seconds", "soon"], "нужно число", "expected a number"),
        (["config", "set", "active_hours", "9-17"], "ЧЧ:ММ-ЧЧ:ММ", "HH:MM-HH:MM"),
        (["config", "set", "active_hours", "09:00"], "ЧЧ:ММ-ЧЧ:ММ", "HH:MM-HH:MM"),
        (["config", "set", "language", "fr"], "нужно одно из: ru, en", "expected one of: ru, en"),
        (["config", "set", "telegram_proxy", "ftp://x"], "нужен http://", "expected http://"),
        (["login", "--timeout", "soon"], "нужно число секунд", "expected a number of seconds"),
        (["demo", "--cooldown", "-1"], "целое число секунд", "whole number of seconds"),
        (["telegram", "setup", "--chat-id", "me"], "id чата", "chat id"),
    ],
)
def test_a_bad_value_is_a_usage_error_in_the_users_language(
    nowhere: dict[str, str], args: list[str], ru: str, en: str
) -> None:
    for language, words in (("ru", ru), ("en", en)):
        write_settings(Path(nowhere["HH_RAISER_HOME"]), language=language)
        code, out, err = run_as_user(nowhere, args)
        assert code == EXIT_USAGE and words in err and out == "", err
        if language == "en":
            assert not CYRILLIC.search(err) and "local time as HH:MM," not in err
    assert SettingsStore(Path(nowhere["HH_RAISER_HOME"]) / "config" / "settings.json").load() == (
        replace(DEFAULTS, language=Language.EN)  # nothing else was written
    )


@pytest.mark.parametrize("at_the_prompt", [EOFError, KeyboardInterrupt])
def test_a_prompt_left_without_an_answer_is_a_message_not_a_traceback(
    nowhere: dict[str, str], at_the_prompt: type[BaseException]
) -> None:
    """Ctrl+D (or no terminal: ``</dev/null``, cron) or Ctrl+C where a command asks
    for a secret: exit 1 and a sentence."""
    write_settings(Path(nowhere["HH_RAISER_HOME"]), client_id="app")
    for args in (["telegram", "setup"], ["login", "--paste"]):
        code, out, err = run_as_user(nowhere, args, MemoryKeyring(), at_the_prompt)
        assert code == EXIT_FAILURE and "Traceback" not in out + err, err
        assert "команда остановлена" in err
