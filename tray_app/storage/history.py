"""The attempt history: one JSON object per line, appended and fsynced."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from tray_app.core.models import Attempt
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)


class History:
    """Append-only; a line is on disk before :meth:`append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._unreadable_told = 0  # how many unreadable lines the log already knows of

    def append(self, attempt: Attempt) -> None:
        """A crash in the middle of a write leaves a last line without its newline;
        the record then starts on a line of its own instead of being glued to (and
        lost with) the torn one."""
        if attempt.detail:
            attempt = replace(attempt, detail=redactor(attempt.detail))
        line = json.dumps(attempt.to_record(), ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                if _ends_torn(handle):
                    line = "\n" + line
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())

    def read(self) -> list[Attempt]:
        """Every readable line; a torn or foreign line is skipped, not fatal, and
        told to the log once (not on every read: the digest reads it daily)."""
        attempts: list[Attempt] = []
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return attempts
        unreadable: list[int] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                attempts.append(Attempt.from_record(json.loads(line)))
            except (ValueError, KeyError, TypeError, RecursionError):
                unreadable.append(number)
        with self._lock:
            if len(unreadable) != self._unreadable_told:
                self._unreadable_told = len(unreadable)
                if unreadable:
                    log.warning(
                        "%s: %d unreadable line(s) skipped (line %s)",
                        self.path,
                        len(unreadable),
                        ", ".join(map(str, unreadable[:10])),
                    )
        return attempts


def _ends_torn(handle: BinaryIO) -> bool:
    """Whether the file open in ``handle`` is non-empty and does not end in a newline."""
    size = handle.seek(0, os.SEEK_END)
    if not size:
        return False
    handle.seek(size - 1)
    return handle.read(1) != b"\n"
