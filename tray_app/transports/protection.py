"""Recognising hh.ru's bot protection in an answer that is not the one we asked for.

hh.ru sits behind DDoS-Guard and Group-IB (public hh.ru tools' code). A DDoS-Guard page must not
read as "session expired" (the session may be fine) nor as garbage (retrying at once
only makes it worse): it is a :class:`~tray_app.core.errors.BotCheck`, and the log
gets a redacted fingerprint of the page, so a user's report shows what hh.ru sent.

Only what public code shows is recognised: DDoS-Guard's challenge and captcha
documents load ``/.well-known/ddos-guard/js-challenge/`` or ``.../ddg-captcha-page/``
and are titled "DDoS-Guard" (FlareSolverr's DDoS-Guard service, scrapers' challenge
detectors), its block page carries ``data-ddg-origin``. No source shows what a
Group-IB refusal looks like, and ``Server: ddos-guard`` alone proves nothing (scrapers
check it together with the challenge script), so neither is read as one: a 401/403
without DDoS-Guard's document stays "session gone" (public hh.ru tools' code), a page without the
state stays an unreadable answer, retried soon. Group-IB's endpoint is still noted in
the fingerprint, so a report would show it.
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
NOTED_MARKERS = (*CHALLENGE_MARKERS, "/api/fl/idgib-w-hh")
"""Shown in a fingerprint; Group-IB's cookie endpoint (a 2026 client's notes) included."""
PROTECTION_COOKIE_PREFIXES = ("__ddg",)
PROTECTION_COOKIE_SUFFIXES = ("gib-w-hh",)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def is_protection_cookie(name: str) -> bool:
    """DDoS-Guard's ``__ddg*`` and Group-IB's ``*gib-w-hh`` cookies (public hh.ru tools' code)."""
    return name.startswith(PROTECTION_COOKIE_PREFIXES) or name.endswith(PROTECTION_COOKIE_SUFFIXES)


def _title(text: str) -> str:
    match = _TITLE.search(text)
    return " ".join(match.group(1).split())[:80] if match else ""


def is_ddos_guard_page(body: bytes) -> bool:
    """DDoS-Guard's challenge, captcha or block document, whatever the status."""
    text = body[:200_000].decode("utf-8", "replace").lower()
    return any(marker in text for marker in CHALLENGE_MARKERS) or _title(text) == "ddos-guard"


def fingerprint(status: int | None, headers: Mapping[str, str], body: bytes) -> str:
    """A redacted description of what came back: enough to recognise the page in a
    bug report, nothing personal (no cookie, no token, no e-mail)."""
    text = body[:200_000].decode("utf-8", "replace")
    lowered = text.lower()
    markers = [m for m in NOTED_MARKERS if m in lowered]
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
