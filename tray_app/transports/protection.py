"""Recognising hh.ru's bot protection in an answer that is not the one we asked for.

hh.ru sits behind DDoS-Guard and Group-IB (FACTS.md §2). Their pages must not read
as "session expired" (the session may be fine) nor as garbage (retrying at once
only makes it worse): they are :class:`~tray_app.core.errors.BotCheck`, and the
log gets a redacted fingerprint of the page, so a user's report shows what hh.ru
sent.

Markers, from public code that meets these pages: DDoS-Guard's challenge and captcha
documents load ``/.well-known/ddos-guard/js-challenge/`` or ``.../ddg-captcha-page/``
and are titled "DDoS-Guard" (FlareSolverr's DDoS-Guard service, scrapers' challenge
detectors), the block page carries ``data-ddg-origin``; Group-IB's script sets its
cookies through ``/api/fl/idgib-w-hh`` and names them ``*gib-w-hh`` (2026 hh.ru
clients). An ordinary hh.ru page loads the Group-IB script too, and DDoS-Guard
fronts every answer (``Server: ddos-guard``), so the weak markers count only where
the expected content is missing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from tray_app.core.redact import redact_report

CHALLENGE_MARKERS = (
    "/.well-known/ddos-guard/js-challenge",
    "/.well-known/ddos-guard/ddg-captcha-page",
    "data-ddg-origin",
)
GROUP_IB_MARKERS = ("/api/fl/idgib-w-hh", "gib-w-hh")
PROTECTION_COOKIE_PREFIXES = ("__ddg",)
PROTECTION_COOKIE_SUFFIXES = ("gib-w-hh",)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def is_protection_cookie(name: str) -> bool:
    """DDoS-Guard's ``__ddg*`` and Group-IB's ``*gib-w-hh`` cookies (FACTS.md §2)."""
    return name.startswith(PROTECTION_COOKIE_PREFIXES) or name.endswith(PROTECTION_COOKIE_SUFFIXES)


def _title(text: str) -> str:
    match = _TITLE.search(text)
    return " ".join(match.group(1).split())[:80] if match else ""


def protection_page(
    status: int, headers: Mapping[str, str], body: bytes, *, expected_missing: bool
) -> str | None:
    """Which protection sent this page ("DDoS-Guard", "Group-IB"), or None.

    ``expected_missing``: the answer lacks what the request asked for (a 401/403, or a
    2xx without the page state), so the weaker markers count too. A 5xx is the
    origin's trouble unless it carries a challenge itself."""
    text = body[:200_000].decode("utf-8", "replace").lower()
    if any(marker in text for marker in CHALLENGE_MARKERS) or _title(text) == "ddos-guard":
        return "DDoS-Guard"
    if not expected_missing or status >= 500:
        return None
    if any(marker in text for marker in GROUP_IB_MARKERS):
        return "Group-IB"
    server = headers.get("Server", "").lower()
    html = "html" in headers.get("Content-Type", "").lower() or text.lstrip().startswith("<")
    if server.startswith("ddos-guard") and status in (403, 429) and html:
        return "DDoS-Guard"
    return None


def fingerprint(status: int | None, headers: Mapping[str, str], body: bytes) -> str:
    """A redacted description of what came back: enough to recognise the page in a
    bug report, nothing personal (no cookie, no token, no e-mail)."""
    text = body[:200_000].decode("utf-8", "replace")
    lowered = text.lower()
    markers = [m for m in (*CHALLENGE_MARKERS, *GROUP_IB_MARKERS) if m in lowered]
    snippet = " ".join(text[:160].split())
    parts = [
        f"HTTP {status}" if status is not None else "no HTTP answer",
        f"server={headers.get('Server', '-')}",
        f"type={headers.get('Content-Type', '-').split(';')[0]}",
        f"title={_title(text)!r}",
        f"markers={markers}",
        f"bytes={len(body)}",
        f"sha256={hashlib.sha256(body).hexdigest()[:12]}",
        f"start={snippet!r}",
    ]
    return redact_report(" ".join(parts))
