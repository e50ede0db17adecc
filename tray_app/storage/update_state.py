"""The update check's memory (``update-check.json``): when it last got an answer, when
to ask next and the latest release it found, so a restart neither asks again within
the day nor forgets a newer version."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tray_app.core.updates import Release, UpdateState
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _moment(value: Any) -> datetime | None:
    """An aware UTC time; None for a missing or unreadable one (asked again sooner)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


class UpdateStateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> UpdateState:
        """What was saved; a missing or torn file is a state that never checked."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return UpdateState()
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable (%s); checking for updates afresh", self.path, exc)
            return UpdateState()
        if not isinstance(data, dict):
            return UpdateState()
        latest = data.get("latest")
        release = None
        if isinstance(latest, dict) and isinstance(latest.get("tag"), str):
            release = Release(
                tag=latest["tag"],
                url=str(latest.get("url") or ""),
                name=str(latest.get("name") or ""),
                published_at=_moment(latest.get("published_at")),
            )
        return UpdateState(
            checked_at=_moment(data.get("checked_at")),
            next_check_at=_moment(data.get("next_check_at")),
            latest=release,
        )

    def save(self, state: UpdateState) -> None:
        latest = state.latest
        data = {
            "checked_at": _iso(state.checked_at),
            "next_check_at": _iso(state.next_check_at),
            "latest": None
            if latest is None
            else {
                "tag": latest.tag,
                "url": latest.url,
                "name": latest.name,
                "published_at": _iso(latest.published_at),
            },
        }
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")
