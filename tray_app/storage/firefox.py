"""Takes the hh.ru session out of an installed Firefox, read-only.

Firefox keeps cookies in ``cookies.sqlite`` (WAL mode, recent writes in the ``-wal``
file) and may hold it open. We copy both files to a temporary folder and read the
copy, so the user's profile is never opened for writing or locked by us.
"""

from __future__ import annotations

import configparser
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from tray_app.core.errors import SessionImportError
from tray_app.storage.cookie_sources import SourceCookie, domain_matches

COOKIES_DB = "cookies.sqlite"
MS_THRESHOLD = 10**11
"""Newer Firefox versions store ``expiry`` in milliseconds, older ones in seconds;
no cookie expires after the year 5138 in seconds, so larger numbers are ms."""


def firefox_roots(environ: Mapping[str, str], platform: str = sys.platform) -> list[Path]:
    """Folders that may hold ``profiles.ini`` on this OS (packaged builds included)."""
    home = Path(environ.get("HOME") or Path.home())
    if platform == "win32":
        appdata = environ.get("APPDATA")
        return [Path(appdata) / "Mozilla" / "Firefox"] if appdata else []
    if platform == "darwin":
        return [home / "Library" / "Application Support" / "Firefox"]
    return [
        home / ".mozilla" / "firefox",
        home / "snap" / "firefox" / "common" / ".mozilla" / "firefox",
        home / ".var" / "app" / "org.mozilla.firefox" / ".mozilla" / "firefox",
    ]


def _profiles_in(root: Path) -> list[Path]:
    """Profiles listed in ``root/profiles.ini``, the one in use (or default) first."""
    ini = configparser.ConfigParser(interpolation=None)
    try:
        ini.read(root / "profiles.ini", encoding="utf-8")
    except (OSError, configparser.Error):
        return []
    preferred = {ini.get(s, "Default") for s in ini.sections() if s.startswith("Install")}
    found: list[tuple[int, Path]] = []
    for section in ini.sections():
        if not section.startswith("Profile") or not ini.has_option(section, "Path"):
            continue
        raw = ini.get(section, "Path")
        relative = ini.get(section, "IsRelative", fallback="1") == "1"
        path = root / raw if relative else Path(raw)
        rank = 0 if raw in preferred else 1 if ini.get(section, "Default", fallback="") else 2
        found.append((rank, path))
    return [path for _, path in sorted(found, key=lambda item: item[0])]


def find_profiles(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Every Firefox profile on this machine that has a cookie database."""
    env = os.environ if environ is None else environ
    profiles: list[Path] = []
    for root in firefox_roots(env):
        profiles.extend(p for p in _profiles_in(root) if (p / COOKIES_DB).is_file())
    return profiles


def _expiry(raw: object) -> datetime | None:
    if not isinstance(raw, int | float) or raw <= 0:
        return None
    seconds = raw / 1000 if raw > MS_THRESHOLD else raw
    return datetime.fromtimestamp(seconds, UTC)


def read_cookies(profile: Path, host: str) -> list[SourceCookie]:
    """The cookies Firefox would send to ``host`` from this profile's normal windows
    (container tabs keep their own cookies and are left out)."""
    database = profile / COOKIES_DB
    if not database.is_file():
        raise SessionImportError(f"{profile}: no {COOKIES_DB} in this Firefox profile")
    with tempfile.TemporaryDirectory(prefix="hh-raiser-ff-") as tmp:
        copy = Path(tmp) / COOKIES_DB
        try:
            shutil.copy2(database, copy)
            for suffix in ("-wal", "-shm"):
                extra = database.with_name(COOKIES_DB + suffix)
                if extra.exists():
                    shutil.copy2(extra, copy.with_name(COOKIES_DB + suffix))
        except OSError as exc:
            raise SessionImportError(f"could not copy {database}: {exc}") from None
        try:
            connection = sqlite3.connect(copy)
            try:
                rows = connection.execute(
                    "SELECT name, value, host, path, expiry, originAttributes FROM moz_cookies"
                ).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise SessionImportError(
                f"{database}: not a readable cookie database ({exc})"
            ) from None
    return [
        SourceCookie(str(name), str(value), str(domain), str(path or "/"), _expiry(expiry))
        for name, value, domain, path, expiry, origin in rows
        if not origin and domain_matches(str(domain), host)
    ]
