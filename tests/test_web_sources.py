"""Where a website session comes from: a Cookie header, cURL, cookies.txt, a JSON
export, and a Firefox profile whose ``cookies.sqlite`` the test builds itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tray_app.core.errors import SessionImportError
from tray_app.storage import firefox
from tray_app.storage.cookie_sources import (
    cookies_for_host,
    parse_cookie_text,
    session_cookies,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FUTURE = int((NOW + timedelta(days=30)).timestamp())
PAST = int((NOW - timedelta(days=1)).timestamp())


def test_a_pasted_cookie_header_with_or_without_its_name() -> None:
    for text in (
        "hhtoken=T0KEN; _xsrf=X5RF; hhuid=U1D",
        "Cookie: hhtoken=T0KEN; _xsrf=X5RF; hhuid=U1D\n",
        "cookie: hhtoken=T0KEN;_xsrf=X5RF;  hhuid=U1D;",
    ):
        assert session_cookies(text, "hh.ru", NOW) == {
            "hhtoken": "T0KEN",
            "_xsrf": "X5RF",
            "hhuid": "U1D",
        }


def test_analytics_cookies_are_left_out() -> None:
    text = "_ga=GA1.1.1; _ym_uid=17; tmr_lvid=x; hhtoken=T; _gcl_au=1; __utmz=1; _xsrf=X"
    assert session_cookies(text, "hh.ru", NOW) == {"hhtoken": "T", "_xsrf": "X"}


def test_a_copied_curl_command() -> None:
    chrome = (
        "curl 'https://hh.ru/applicant/resumes' \\\n"
        "  -H 'accept: application/json' \\\n"
        "  -b 'hhtoken=T; _xsrf=X' \\\n"
        "  -H 'user-agent: Mozilla/5.0'"
    )
    firefox_style = "curl 'https://hh.ru/' -H 'Cookie: hhtoken=T2; _xsrf=X2' -H 'DNT: 1'"
    assert session_cookies(chrome, "hh.ru", NOW) == {"hhtoken": "T", "_xsrf": "X"}
    assert session_cookies(firefox_style, "hh.ru", NOW) == {"hhtoken": "T2", "_xsrf": "X2"}
    with pytest.raises(SessionImportError, match="cURL command has no cookies"):
        parse_cookie_text("curl 'https://hh.ru/' -H 'accept: */*'")


def test_a_netscape_cookies_txt_for_the_chosen_host() -> None:
    text = "\n".join(
        [
            "# Netscape HTTP Cookie File",
            "# https://curl.se/docs/http-cookies.html",
            "",
            f".hh.ru\tTRUE\t/\tTRUE\t{FUTURE}\thhtoken\tCOMMON",
            f"#HttpOnly_.hh.ru\tTRUE\t/\tTRUE\t{FUTURE}\tcrypted_id\tSECRET",
            f"spb.hh.ru\tFALSE\t/\tTRUE\t{FUTURE}\thhtoken\tSPB",
            f".hh.ru\tTRUE\t/\tFALSE\t{PAST}\told\tgone",
            ".hh.ru\tTRUE\t/\tFALSE\t0\t_xsrf\tSESSIONCOOKIE",
            f".example.com\tTRUE\t/\tFALSE\t{FUTURE}\tother\tsite",
            f".hh.ru\tTRUE\t/\tFALSE\t{FUTURE}\tempty\t",
        ]
    )
    assert session_cookies(text, "hh.ru", NOW) == {
        "hhtoken": "COMMON",
        "crypted_id": "SECRET",
        "_xsrf": "SESSIONCOOKIE",
        "empty": "",
    }
    # the more specific domain wins, as the browser would send it
    assert session_cookies(text, "spb.hh.ru", NOW)["hhtoken"] == "SPB"


def test_cookies_txt_errors_name_the_line() -> None:
    with pytest.raises(SessionImportError, match="line 2: expected 7 tab-separated fields"):
        parse_cookie_text("# Netscape HTTP Cookie File\n.hh.ru\tTRUE\t/\n")
    with pytest.raises(SessionImportError, match="line 1: expiry 'soon' is not a number"):
        parse_cookie_text(".hh.ru\tTRUE\t/\tTRUE\tsoon\thhtoken\tT\n")


def test_a_json_export_of_a_cookie_editor() -> None:
    text = (
        '[{"name": "hhtoken", "value": "T", "domain": ".hh.ru", "path": "/",'
        f' "expirationDate": {FUTURE}.5}},'
        ' {"name": "_xsrf", "value": "X", "domain": "hh.ru", "session": true},'
        f' {{"name": "x", "value": "y", "domain": ".hh.kz", "expirationDate": {FUTURE}}}]'
    )
    assert session_cookies(text, "hh.ru", NOW) == {"hhtoken": "T", "_xsrf": "X"}
    with pytest.raises(SessionImportError, match="JSON cookie 0: no name or value"):
        parse_cookie_text('[{"name": "a"}]')


def test_nothing_usable_is_said_clearly() -> None:
    with pytest.raises(SessionImportError, match="nothing was given"):
        parse_cookie_text("  \n")
    with pytest.raises(SessionImportError, match="not name=value"):
        parse_cookie_text("this is not a cookie header")
    only_other_site = f".hh.kz\tTRUE\t/\tTRUE\t{FUTURE}\thhtoken\tKZ\n"
    with pytest.raises(SessionImportError, match=r"no current cookies for hh.ru .*hh.kz"):
        session_cookies(only_other_site, "hh.ru", NOW)


# ---- Firefox ----------------------------------------------------------------------

MOZ_COOKIES = """CREATE TABLE moz_cookies (
    id INTEGER PRIMARY KEY, originAttributes TEXT NOT NULL DEFAULT '', name TEXT,
    value TEXT, host TEXT, path TEXT, expiry INTEGER, lastAccessed INTEGER,
    creationTime INTEGER, isSecure INTEGER, isHttpOnly INTEGER,
    inBrowserElement INTEGER DEFAULT 0, sameSite INTEGER DEFAULT 0,
    rawSameSite INTEGER DEFAULT 0, schemeMap INTEGER DEFAULT 0)"""


def _add(db: sqlite3.Connection, name: str, value: str, host: str, **extra: object) -> None:
    db.execute(
        "INSERT INTO moz_cookies (name, value, host, path, expiry, originAttributes, "
        "isSecure, isHttpOnly) VALUES (?, ?, ?, '/', ?, ?, 1, 1)",
        (name, value, host, extra.get("expiry", FUTURE * 1000), extra.get("origin", "")),
    )


@pytest.fixture
def firefox_home(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A home with two Firefox profiles; the one in use has an hh.ru session, part of
    it only in the WAL file of a database Firefox still holds open."""
    root = tmp_path / ".mozilla" / "firefox"
    used, old = root / "abcd.default-release", root / "efgh.default"
    used.mkdir(parents=True)
    old.mkdir()
    (root / "profiles.ini").write_text(
        "[Install4F96D1932A9F858E]\nDefault=abcd.default-release\nLocked=1\n\n"
        "[Profile1]\nName=default\nIsRelative=1\nPath=efgh.default\nDefault=1\n\n"
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=abcd.default-release\n\n"
        "[General]\nStartWithLastProfile=1\nVersion=2\n",
        encoding="utf-8",
    )
    with sqlite3.connect(old / "cookies.sqlite") as stale:
        stale.execute(MOZ_COOKIES)
        _add(stale, "hhtoken", "OLD", ".hh.ru")
    stale.close()
    live = sqlite3.connect(used / "cookies.sqlite", isolation_level=None)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")  # keep recent rows in the -wal file
    live.execute(MOZ_COOKIES)
    _add(live, "hhtoken", "LIVE", ".hh.ru")
    _add(live, "crypted_id", "CID", ".hh.ru", expiry=FUTURE)  # seconds, older Firefox
    _add(live, "_xsrf", "XSRF", "hh.ru")
    _add(live, "hhtoken", "CONTAINER", ".hh.ru", origin="^userContextId=2")
    _add(live, "old", "expired", ".hh.ru", expiry=PAST * 1000)
    _add(live, "_ym_uid", "1", ".hh.ru")
    _add(live, "sid", "other", ".example.com")
    assert (used / "cookies.sqlite-wal").stat().st_size > 0
    yield tmp_path, live
    live.close()


def test_firefox_profiles_in_use_first(firefox_home: tuple[Path, sqlite3.Connection]) -> None:
    home, _ = firefox_home
    profiles = firefox.find_profiles({"HOME": str(home)})
    assert [p.name for p in profiles] == ["abcd.default-release", "efgh.default"]


def test_firefox_cookies_are_read_from_a_copy_while_firefox_holds_the_database(
    firefox_home: tuple[Path, sqlite3.Connection],
) -> None:
    home, live = firefox_home
    profile = firefox.find_profiles({"HOME": str(home)})[0]
    before = {p.name: p.stat().st_mtime_ns for p in profile.iterdir()}
    cookies = cookies_for_host(firefox.read_cookies(profile, "hh.ru"), "hh.ru", NOW)
    assert cookies == {"hhtoken": "LIVE", "crypted_id": "CID", "_xsrf": "XSRF"}
    assert {p.name: p.stat().st_mtime_ns for p in profile.iterdir()} == before
    # Firefox goes on writing: nothing of ours holds its files
    _add(live, "later", "value", ".hh.ru")
    assert "later" in {c.name for c in firefox.read_cookies(profile, "hh.ru")}


def test_firefox_without_a_cookie_database_or_with_a_broken_one(tmp_path: Path) -> None:
    with pytest.raises(SessionImportError, match=r"no cookies\.sqlite"):
        firefox.read_cookies(tmp_path, "hh.ru")
    (tmp_path / "cookies.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SessionImportError, match="not a readable cookie database"):
        firefox.read_cookies(tmp_path, "hh.ru")
    assert firefox.find_profiles({"HOME": str(tmp_path / "nobody")}) == []


def test_firefox_folders_per_platform(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "APPDATA": str(tmp_path / "Roaming")}
    assert firefox.firefox_roots(env, "win32") == [tmp_path / "Roaming" / "Mozilla" / "Firefox"]
    assert firefox.firefox_roots(env, "darwin") == [
        tmp_path / "Library" / "Application Support" / "Firefox"
    ]
    linux = firefox.firefox_roots(env, "linux")
    assert tmp_path / "snap" / "firefox" / "common" / ".mozilla" / "firefox" in linux
