"""Telegram's HTML parse mode: escaping, the 4096-character limit, coalescing.

Texts are cut as plain text *before* escaping, so a cut can never split an entity
(``&amp;``) or a tag; lengths are counted in UTF-16 code units, as Telegram counts,
on the escaped text, which is never shorter than what Telegram shows.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import tzinfo

from tray_app.i18n import t
from tray_app.i18n.text import local_time
from tray_app.notify.notices import Notice

MESSAGE_LIMIT = 4096
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def fit(text: str, budget: int = MESSAGE_LIMIT) -> str:
    """``text`` escaped, cut with an ellipsis so the result is at most ``budget`` long."""
    escaped = escape(text)
    if utf16_len(escaped) <= budget:
        return escaped
    room = budget - utf16_len(ELLIPSIS)
    used = 0
    cut = 0
    for cut, char in enumerate(text):  # noqa: B007 - the index is the result
        width = utf16_len(escape(char))
        if used + width > room:
            break
        used += width
    return escape(text[:cut]) + ELLIPSIS


def coalesce(notices: Sequence[Notice], language: str, tz: tzinfo | None = None) -> tuple[str, int]:
    """One message for the oldest notices that fit; returns it and how many it holds.

    A single notice is sent as it is; several (queued while Telegram was unreachable)
    go under one header, each with its time, oldest first.
    """
    if not notices:
        raise ValueError("nothing to send")
    if len(notices) == 1:
        return fit(notices[0].text), 1
    parts = [f"<b>{escape(t('notice.backlog', language))}</b>"]
    used = utf16_len(parts[0])
    for count, notice in enumerate(notices):
        line = f"[{local_time(notice.at, language, tz)}] {notice.text}"
        item = escape(line)
        if used + 2 + utf16_len(item) > MESSAGE_LIMIT:
            if count == 0:  # even the first does not fit whole: cut it
                parts.append(fit(line, MESSAGE_LIMIT - used - 2))
                return "\n\n".join(parts), 1
            return "\n\n".join(parts), count
        parts.append(item)
        used += 2 + utf16_len(item)
    return "\n\n".join(parts), len(notices)
