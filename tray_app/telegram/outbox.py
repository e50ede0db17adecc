"""Notices waiting for delivery, oldest first; the important ones also on disk.

An important notice is written to disk when it enters (write-ahead) and removed
only after Telegram accepted it, so neither an outage nor a restart nor a crash
loses it. Routine ones (raises) live in memory only and are capped: after a long
outage the user needs the problems, not every raise.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from tray_app.core.clock import Clock, SystemClock
from tray_app.notify.notices import Notice
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)

MAX_ROUTINE = 30
MAX_IMPORTANT = 300


class Outbox:
    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self.path = path
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._writable = True  # False while an unreadable file could not be moved aside
        self._items: list[Notice] = self._load()

    def _load(self) -> list[Notice]:
        """What the file holds. A file that cannot be read whole (a bad disk, a hand
        edit) is never written over: it is moved aside, kept for the user, and every
        record that can still be read is taken from it."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("undelivered notifications in %s are unreadable: %s", self.path, exc)
            self._set_aside()
            return []
        if not data.strip():
            return []  # nothing in it to lose
        records, whole = _records(data)
        items: list[Notice] = []
        for record in records:
            try:
                items.append(Notice.from_record(record))
            except (ValueError, KeyError, TypeError):
                whole = False
        if not whole:
            log.warning(
                "undelivered notifications in %s are damaged; the %d readable ones are kept",
                self.path,
                len(items),
            )
            self._set_aside()
            self._items = items
            self._save()
        return items

    def _set_aside(self) -> None:
        """Renames the unreadable file to ``NAME.broken-<UTC time>``, never over another
        such file; if it cannot be moved, nothing is saved over it (important notices
        then wait in memory)."""
        stamp = self._clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        candidates = (base, *(base.with_name(f"{base.name}-{n}") for n in range(1, 100)))
        aside = next((path for path in candidates if not path.exists()), None)
        problem: OSError = FileExistsError(f"{base} and 99 more exist")
        if aside is not None:
            try:
                self.path.rename(aside)
                log.warning("the damaged file is kept as %s", aside)
                return
            except OSError as exc:
                problem = exc
        log.error("could not move %s aside (%s); it will not be written over", self.path, problem)
        self._writable = False

    def _save(self) -> None:
        records = [n.to_record() for n in self._items if n.important]
        if not self._writable:
            return
        try:
            if records:
                write_atomic(self.path, json.dumps(records, ensure_ascii=False, indent=1))
            else:
                self.path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not save undelivered notifications to %s", self.path)

    def add(self, notice: Notice) -> None:
        with self._lock:
            self._items.append(notice)
            routine = [n for n in self._items if not n.important]
            important = [n for n in self._items if n.important]
            dropped = routine[:-MAX_ROUTINE] + important[:-MAX_IMPORTANT]
            if dropped:
                log.warning("%d undelivered notifications dropped (too many)", len(dropped))
                self._items = [n for n in self._items if not any(n is d for d in dropped)]
            if notice.important:
                self._save()

    def remove(self, delivered: Sequence[Notice]) -> None:
        with self._lock:
            self._items = [n for n in self._items if not any(n is d for d in delivered)]
            if any(n.important for n in delivered):
                self._save()

    def drop_routine(self) -> None:
        """When Telegram cannot be used until the user acts, raises are not worth keeping."""
        with self._lock:
            self._items = [n for n in self._items if n.important]

    def items(self) -> list[Notice]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _records(data: bytes) -> tuple[list[Any], bool]:
    """The objects in the file's JSON array, and whether it was read whole. Past a
    broken element, reading resumes at the next ``{`` so one bad record (or a torn
    end) costs only itself."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")  # a bad byte costs one character
    else:
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            return (raw, True) if isinstance(raw, list) else ([], False)
    decoder = json.JSONDecoder()
    records: list[Any] = []
    start = text.find("[") + 1
    position = text.find("{", start) if start else -1
    while position != -1:
        try:
            record, end = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            position = text.find("{", position + 1)
            continue
        records.append(record)
        position = text.find("{", end)
    return records, False
