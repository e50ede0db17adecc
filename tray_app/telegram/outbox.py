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
from pathlib import Path

from tray_app.notify.notices import Notice
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)

MAX_ROUTINE = 30
MAX_IMPORTANT = 300


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._items: list[Notice] = self._load()

    def _load(self) -> list[Notice]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            log.exception("undelivered notifications in %s are unreadable", self.path)
            return []
        items: list[Notice] = []
        for record in raw if isinstance(raw, list) else []:
            try:
                items.append(Notice.from_record(record))
            except (ValueError, KeyError, TypeError):
                log.warning("an undelivered notification is unreadable; skipped")
        return items

    def _save(self) -> None:
        records = [n.to_record() for n in self._items if n.important]
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
