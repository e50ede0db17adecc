"""Reads a website session from what a user can copy out of a browser.

Accepted, detected by shape: a ``Cookie`` header (with or without the ``Cookie:``
prefix), a browser's "Copy as cURL" command, a Netscape ``cookies.txt`` export, and
the JSON list cookie-editor extensions export. No password ever passes through here:
the user logs in to hh.ru in their own browser, we only take the result.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tray_app.core.errors import SessionImportError

NETSCAPE_HEADER = "# Netscape HTTP Cookie File"
HTTPONLY_PREFIX = "#HttpOnly_"
TRACKING_PREFIXES = ("_ga", "_gid", "_gat", "_ym", "_gcl", "_fbp", "tmr_", "__utm", "_tt_")
"""Analytics cookies the page's scripts set for themselves; hh.ru's server never
needs them, and leaving them out keeps the stored session small (Windows keeps
at most 2560 bytes per secret)."""
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@dataclass(frozen=True)
class SourceCookie:
    """One cookie as a browser export describes it; ``domain`` is empty when the
    source does not say (a pasted header is for the site it was copied from)."""

    name: str
    value: str
    domain: str = ""
    path: str = "/"
    expires: datetime | None = None


def is_tracking(name: str) -> bool:
    return name.startswith(TRACKING_PREFIXES)


def domain_matches(domain: str, host: str) -> bool:
    """Whether a cookie of ``domain`` is sent to ``host`` (RFC 6265 domain match)."""
    if not domain:
        return True
    bare = domain.lower().lstrip(".")
    return host == bare or host.endswith("." + bare)


def parse_cookie_header(text: str) -> list[SourceCookie]:
    """``name=value; name2=value2`` with an optional ``Cookie:`` in front."""
    body = re.sub(r"(?i)^\s*cookie\s*:", "", text.strip())
    cookies = []
    for part in body.split(";"):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not part.strip():
            continue
        if not sep or not _NAME.match(name):
            raise SessionImportError(
                f"not a Cookie header: {part.strip()[:20]!r} is not name=value"
            )
        cookies.append(SourceCookie(name, value.strip().strip('"')))
    return cookies


def parse_netscape(text: str) -> list[SourceCookie]:
    """Netscape ``cookies.txt``: seven tab-separated fields per line."""
    cookies = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.lstrip(" ").rstrip("\r\n")
        if line.startswith(HTTPONLY_PREFIX):
            line = line[len(HTTPONLY_PREFIX) :]
        elif not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise SessionImportError(
                f"cookies.txt line {number}: expected 7 tab-separated fields, got {len(fields)}"
            )
        domain, _subdomains, path, _secure, expiry, name, value = fields
        try:
            seconds = int(expiry)
        except ValueError:
            raise SessionImportError(
                f"cookies.txt line {number}: expiry {expiry!r} is not a number"
            ) from None
        expires = datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
        cookies.append(SourceCookie(name, value, domain, path or "/", expires))
    return cookies


def _json_expiry(item: dict[str, Any]) -> datetime | None:
    raw = item.get("expirationDate", item.get("expires"))
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return datetime.fromtimestamp(float(raw), UTC)
    return None


def parse_json_export(text: str) -> list[SourceCookie]:
    """A JSON list of ``{"name", "value", "domain", ...}`` (cookie-editor extensions)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SessionImportError(f"not a JSON cookie export: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("cookies"), list):
        data = data["cookies"]
    if not isinstance(data, list):
        raise SessionImportError("not a JSON cookie export: expected a list of cookies")
    cookies = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not {"name", "value"} <= item.keys():
            raise SessionImportError(f"JSON cookie {index}: no name or value")
        cookies.append(
            SourceCookie(
                str(item["name"]),
                str(item["value"]),
                str(item.get("domain") or ""),
                str(item.get("path") or "/"),
                _json_expiry(item),
            )
        )
    return cookies


def _cookie_from_curl(text: str) -> str | None:
    """The cookies of a "Copy as cURL" command (``-H 'cookie: …'`` or ``-b '…'``)."""
    try:
        words = shlex.split(text.replace("\\\n", " "))
    except ValueError:
        return None
    for flag, word in itertools.pairwise(words):
        if flag in ("-b", "--cookie"):
            return word
        if flag in ("-H", "--header") and word.lower().startswith("cookie:"):
            return word
    return None


def parse_cookie_text(text: str) -> list[SourceCookie]:
    """Any of the accepted formats, told apart by shape."""
    body = text.lstrip("\ufeff").strip(" \r\n")
    if not body:
        raise SessionImportError("nothing was given: paste the Cookie header or a cookies file")
    if body[0] in "[{":
        return parse_json_export(body)
    if body.startswith("curl ") or body.startswith("curl.exe "):
        header = _cookie_from_curl(body)
        if header is None:
            raise SessionImportError("the cURL command has no cookies (-H 'cookie: …' or -b)")
        return parse_cookie_header(header)
    if body.startswith(NETSCAPE_HEADER) or "\t" in body:
        return parse_netscape(body)
    return parse_cookie_header(" ".join(body.splitlines()))


def cookies_for_host(cookies: Iterable[SourceCookie], host: str, now: datetime) -> dict[str, str]:
    """The cookies a browser would send to ``host`` now, without analytics ones.

    When a name occurs for several domains (``.hh.ru`` and ``spb.hh.ru``), the most
    specific domain wins, as a browser lists it first.
    """
    chosen: dict[str, tuple[int, str]] = {}
    for cookie in cookies:
        if not domain_matches(cookie.domain, host) or is_tracking(cookie.name):
            continue
        if cookie.expires is not None and cookie.expires <= now:
            continue
        specificity = len(cookie.domain.lstrip("."))
        if cookie.name not in chosen or specificity > chosen[cookie.name][0]:
            chosen[cookie.name] = (specificity, cookie.value)
    return {name: value for name, (_, value) in chosen.items()}


def session_cookies(text: str, host: str, now: datetime) -> dict[str, str]:
    """Parses ``text`` and keeps what ``host`` needs; says clearly when that is nothing."""
    cookies = parse_cookie_text(text)
    kept = cookies_for_host(cookies, host, now)
    if not kept:
        domains = sorted({c.domain.lstrip(".") for c in cookies if c.domain})
        elsewhere = f" (it has cookies for: {', '.join(domains[:8])})" if domains else ""
        raise SessionImportError(f"no current cookies for {host} were found{elsewhere}")
    return kept
