"""``hh-raiser login --web``: each session source, checked on the simulated site before
anything is stored, and a clear message for each way it can fail."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, EXIT_SIGN_IN, EXIT_USAGE, Cli
from tray_app.adapters.cli.main import main
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import SecretStore
from tray_app.storage.settings import Settings, SettingsStore
from tray_app.storage.web_session import WebSession, WebSessionStore

from .conftest import write_settings
from .test_login import browser_that_approves, free_port
from .test_web_sources import FUTURE, MOZ_COOKIES, _add

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def run(
    environ: dict[str, str], backend: MemoryKeyring, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(environ=environ, out=out, err=err, keyring_backend=backend, stdin=io.StringIO(stdin))
    return main(list(args), cli), out.getvalue(), err.getvalue()


def header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def stored_session(
    environ: dict[str, str], backend: MemoryKeyring, host: str = "hh.ru"
) -> WebSession | None:
    service = app_paths(environ).keyring_service
    return WebSessionStore(SecretStore(backend, service=service), host).load()


def settings(environ: dict[str, str]) -> Settings:
    return SettingsStore(Path(environ["HH_RAISER_HOME"]) / "config" / "settings.json").load()


def test_a_pasted_header_from_stdin_is_checked_stored_and_switches_to_the_site(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    cookies = sim.web.login()
    code, out, err = run(
        environ, keyring_backend, "login", "--web", "--cookies", "-", stdin=header(cookies)
    )
    assert code == EXIT_OK, err
    assert "Python-разработчик" in out and "сохранён" in out
    session = stored_session(environ, keyring_backend)
    assert session is not None
    assert session.cookies["hhtoken"] == cookies["hhtoken"]
    assert "_ga" not in session.cookies and "_ym_uid" not in session.cookies
    assert (settings(environ).transport, settings(environ).web_host) == ("web", "hh.ru")
    for value in (cookies["hhtoken"], cookies["_xsrf"], cookies["crypted_id"]):
        assert value not in out + err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pasting_interactively_ends_at_an_empty_line(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    cookies = sim.web.login()
    terminal = Terminal("Cookie: " + header(cookies) + "\n\nnot part of the paste\n")
    out = io.StringIO()
    cli = Cli(environ=environ, out=out, err=io.StringIO(), keyring_backend=keyring_backend)
    cli.stdin = terminal
    assert main(["login", "--web"], cli) == EXIT_OK
    assert "Вставьте заголовок Cookie" in out.getvalue()
    assert terminal.readline() == "not part of the paste\n"
    assert stored_session(environ, keyring_backend) is not None


def test_a_cookies_txt_file_for_a_regional_site(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, tmp_path: Path
) -> None:
    cookies = sim.web.login()
    lines = ["# Netscape HTTP Cookie File"]
    lines += [f".hh.ru\tTRUE\t/\tTRUE\t{FUTURE}\t{k}\t{v}" for k, v in cookies.items()]
    lines.append(f".hh.kz\tTRUE\t/\tTRUE\t{FUTURE}\thhtoken\tKAZAKH")
    path = tmp_path / "cookies.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(
        environ, keyring_backend, "login", "--web", "--cookies", str(path), "--host", "spb.hh.ru"
    )
    assert code == EXIT_OK, err
    assert "spb.hh.ru" in out
    assert settings(environ).web_host == "spb.hh.ru"
    assert stored_session(environ, keyring_backend, "spb.hh.ru") is not None
    assert stored_session(environ, keyring_backend, "hh.ru") is None


def test_from_the_firefox_profile_in_use(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, tmp_path: Path
) -> None:
    root = tmp_path / "ff-home" / ".mozilla" / "firefox"
    profile = root / "x1y2.default-release"
    profile.mkdir(parents=True)
    (root / "profiles.ini").write_text(
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=x1y2.default-release\nDefault=1\n",
        encoding="utf-8",
    )
    cookies = sim.web.login()
    with sqlite3.connect(profile / "cookies.sqlite") as db:
        db.execute(MOZ_COOKIES)
        for name, value in cookies.items():
            _add(db, name, value, ".hh.ru")
    db.close()
    code, out, err = run(
        {**environ, "HOME": str(tmp_path / "ff-home")}, keyring_backend, "login", "--firefox"
    )
    assert code == EXIT_OK, err
    assert "x1y2.default-release" in out
    session = stored_session(environ, keyring_backend)
    assert session is not None and session.cookies["crypted_id"] == cookies["crypted_id"]


@pytest.mark.parametrize(
    ("make_cookies", "code", "message"),
    [
        (lambda sim: sim.web.anonymous(), EXIT_SIGN_IN, "не принял эту сессию"),
        (lambda sim: {"hhtoken": "unknown-token-0123456789"}, EXIT_SIGN_IN, "не принял"),
        (lambda sim: sim.web.login("employer"), EXIT_SIGN_IN, "не как соискатель"),
    ],
)
def test_a_session_that_is_not_a_logged_in_job_seeker_is_refused_and_not_stored(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    make_cookies: Callable[[HHSimulator], dict[str, str]],
    code: int,
    message: str,
) -> None:
    cookies = make_cookies(sim)
    result, _, err = run(
        environ, keyring_backend, "login", "--web", "--cookies", "-", stdin=header(cookies)
    )
    assert result == code
    assert message in err and "Ничего не сохранено" in err
    assert stored_session(environ, keyring_backend) is None
    assert settings(environ).transport == "api"


def test_an_anonymous_page_state_is_named_as_such(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    sim.web.config.anonymous_list = "page"
    code, _, err = run(
        environ,
        keyring_backend,
        "login",
        "--web",
        "--cookies",
        "-",
        stdin=header(sim.web.anonymous()),
    )
    assert code == EXIT_SIGN_IN
    assert "вошедшего соискателя" in err and "anonymous visitor" in err


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("captcha_redirect", "/account/captcha"),
        ("503", "Не удалось проверить сессию"),
        ("garbage", "HH-Lux-InitialState"),
    ],
)
def test_a_site_that_cannot_check_now_saves_nothing(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    fault: str,
    message: str,
) -> None:
    sim.inject(fault, "/applicant/", times=10)
    code, _, err = run(
        environ, keyring_backend, "login", "--web", "--cookies", "-", stdin=header(sim.web.login())
    )
    assert code == EXIT_FAILURE
    assert message in err and "Ничего не сохранено" in err
    assert stored_session(environ, keyring_backend) is None


def test_what_is_not_a_session_is_said_plainly(
    environ: dict[str, str], keyring_backend: MemoryKeyring, tmp_path: Path
) -> None:
    code, _, err = run(environ, keyring_backend, "login", "--web", "--cookies", "-", stdin="")
    assert code == EXIT_FAILURE and "nothing was given" in err
    code, _, err = run(
        environ, keyring_backend, "login", "--web", "--cookies", str(tmp_path / "missing.txt")
    )
    assert code == EXIT_FAILURE and "missing.txt" in err
    code, _, err = run(
        environ,
        keyring_backend,
        "login",
        "--firefox",
        str(tmp_path),
    )
    assert code == EXIT_FAILURE and "cookies.sqlite" in err
    code, _, err = run(
        environ, keyring_backend, "login", "--web", "--host", "not a host", "--cookies", "-"
    )
    assert code == EXIT_USAGE and "аргумент --host: нужно имя сайта" in err  # before any read


def test_the_oauth_login_warns_when_the_api_is_closed(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    sim.config.api_closed = True
    write_settings(home, client_id=sim.config.client_id, redirect_port=free_port())
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(
        environ=environ,
        out=out,
        err=err,
        keyring_backend=keyring_backend,
        secret_prompt=lambda _: sim.config.client_secret,
        open_browser=browser_that_approves,
    )
    assert main(["login", "--timeout", "10"], cli) == EXIT_OK, err.getvalue()
    assert "login --web" in err.getvalue() and "15.12.2025" in err.getvalue()
