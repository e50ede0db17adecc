"""Reads the resume list out of hh.ru's page state.

The site answers an XHR request with the page state as JSON and a browser request
with HTML that carries the same JSON in ``<template id="HH-Lux-InitialState">``,
sometimes HTML-escaped. Every field we rely on is checked, and a missing one is an
:class:`InvalidResponse` that names it, so a changed site gives a clear message.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tray_app.core.errors import AnonymousSession, InvalidResponse, NotApplicant
from tray_app.core.models import Resume, Standing

STATE_TEMPLATE = re.compile(
    r"<template[^>]*\bid=[\"']HH-Lux-InitialState[\"'][^>]*>(.*?)</template>",
    re.DOTALL | re.IGNORECASE,
)
RAISE_INTERVAL = timedelta(hours=4)
SITE_EXCLUDED = {
    "not_finished": Standing.DRAFT,  # the site's draft (2026 clients warn by this name)
    "not_published": Standing.DRAFT,  # the API's word, should the site ever use it
    "blocked": Standing.BLOCKED,
    "deleted": Standing.DELETED,
}
"""The site's resume status words are hh's moderation words, never ``published``
(public hh.ru tools' code): a live resume shows ``new``, ``modified``, ``approved``... So the
standing is decided by exclusion, and an unknown word reads as live."""
SITE_LIVE_WORDS = frozenset({"new", "modified", "approved", "published"})
"""Words seen on live resumes; any other non-excluded word is logged once as new."""
CONSISTENT = timedelta(seconds=2)
"""How far ``toUpdate`` may disagree with "last raise + 4 h" and still mean it:
it counts whole seconds from when the page was built."""


@dataclass(frozen=True)
class PageState:
    data: dict[str, Any]
    source: str  # "xhr-json" | "template" | "template-escaped", for the log


def state_from_html(text: str) -> PageState:
    match = STATE_TEMPLATE.search(text)
    if match is None:
        raise InvalidResponse("the page has no HH-Lux-InitialState template")
    raw = match.group(1).strip()
    try:
        return PageState(_object(json.loads(raw)), "template")
    except ValueError:
        pass
    try:
        return PageState(_object(json.loads(html.unescape(raw))), "template-escaped")
    except ValueError as exc:
        raise InvalidResponse(f"HH-Lux-InitialState is not JSON ({exc})") from None


def state_from_json(text: str) -> PageState:
    try:
        return PageState(_object(json.loads(text)), "xhr-json")
    except ValueError as exc:
        raise InvalidResponse(f"the XHR answer is not a JSON page state ({exc})") from None


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def user_type(state: dict[str, Any]) -> str:
    """``applicant``, ``employer``, ``anonymous``; empty when the state does not say."""
    value = state.get("userType")
    return str(value).lower() if value else ""


def require_applicant(state: dict[str, Any]) -> None:
    """Having an ``hhtoken`` cookie proves nothing: anonymous visitors get one too."""
    kind = user_type(state)
    if kind == "anonymous":
        raise AnonymousSession(
            "hh.ru sees these cookies as an anonymous visitor: the browser was not "
            "logged in, or the session has ended"
        )
    if kind and kind != "applicant":
        raise NotApplicant(f"these cookies are logged in as {kind!r}, not as a job seeker", kind)
    if not kind and "applicantResumes" not in state:
        raise InvalidResponse("the page state has neither userType nor applicantResumes")


def _raw(item: dict[str, Any], attributes: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The fields our reading rests on, as the site wrote them, and which others exist
    (names only): ``doctor`` shows them, so a changed page is seen in one report."""
    return (
        ("_attributes.status", json.dumps(attributes.get("status"), ensure_ascii=False)),
        ("_attributes.updated", json.dumps(attributes.get("updated"))),
        ("toUpdate", json.dumps(item.get("toUpdate"), ensure_ascii=False)),
        ("_attributes keys", ", ".join(sorted(attributes))),
        ("item keys", ", ".join(sorted(item))),
    )


def site_standing(word: str) -> Standing:
    return SITE_EXCLUDED.get(word.lower(), Standing.LIVE)


def _title(item: dict[str, Any], fallback: str) -> str:
    title = item.get("title")
    if isinstance(title, list) and title and isinstance(title[0], dict):
        title = title[0].get("string")
    return str(title).strip() if isinstance(title, str) and title.strip() else fallback


def _next_window(
    updated: datetime | None,
    to_update: Any,
    server_now: datetime,
    previous: datetime | None,
) -> datetime | None:
    """When hh.ru allows the next raise, on the server's clock.

    ``toUpdate.value`` (seconds left) is the server's own word but counts whole
    seconds from an instant we only approximate, so one second is added and a
    value that agrees with "last raise + 4 h" yields that exact time instead. The
    result must not wobble between reads: the engine treats a later window as a
    sign that a raise happened.
    """
    by_interval = updated + RAISE_INTERVAL if updated is not None else None
    seconds = to_update.get("value") if isinstance(to_update, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return by_interval
    if seconds <= 0 and by_interval is not None and by_interval <= server_now:
        return by_interval  # due for a while: a fixed time, not "now" on every read
    # "0" may still mean most of a second: whole seconds are counted down
    by_countdown = server_now + timedelta(seconds=max(float(seconds), 0.0) + 1)
    if by_interval is not None and abs(by_interval - by_countdown) <= CONSISTENT:
        return by_interval
    if previous is not None and (
        abs(previous - by_countdown) <= CONSISTENT or (seconds <= 0 and previous <= by_countdown)
    ):
        return previous
    return by_countdown


def parse_resumes(
    state: dict[str, Any],
    *,
    server_now: datetime,
    previous: dict[str, Resume] | None = None,
) -> list[Resume]:
    """``applicantResumes[]`` as :class:`Resume` objects (id = the resume's hash,
    which is also its id in the official API and in the old script's RESUME_ID)."""
    items = state.get("applicantResumes")
    if not isinstance(items, list):
        keys = ", ".join(sorted(state)[:12])
        raise InvalidResponse(f"the page state has no applicantResumes list (keys: {keys})")
    resumes = []
    for index, item in enumerate(items):
        where = f"applicantResumes[{index}]"
        attributes = item.get("_attributes") if isinstance(item, dict) else None
        if not isinstance(attributes, dict):
            raise InvalidResponse(f"{where} has no _attributes")
        resume_hash = attributes.get("hash")
        if not isinstance(resume_hash, str) or not resume_hash:
            raise InvalidResponse(f"{where}._attributes.hash is missing")
        status = attributes.get("status")
        if not isinstance(status, str) or not status:
            raise InvalidResponse(f"{where}._attributes.status is missing")
        raw_updated = attributes.get("updated")
        updated = None
        if isinstance(raw_updated, int | float) and not isinstance(raw_updated, bool):
            updated = datetime.fromtimestamp(raw_updated / 1000, UTC)
        to_update = item.get("toUpdate")
        if updated is None and not isinstance(to_update, dict):
            raise InvalidResponse(f"{where} has neither _attributes.updated nor toUpdate")
        before = (previous or {}).get(resume_hash)
        estimate = before.next_publish_at if before and before.updated_at == updated else None
        window = _next_window(updated, to_update, server_now, estimate)
        standing = site_standing(status)
        resumes.append(
            Resume(
                id=resume_hash,
                title=_title(item, resume_hash),
                status=status.lower(),
                blocked=standing is Standing.BLOCKED,
                standing=standing,
                raw=_raw(item, attributes),
                can_publish=None,
                next_publish_at=window,
                updated_at=updated,
            )
        )
    return resumes
