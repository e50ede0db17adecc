"""The attempt history: one JSON object per line, appended and fsynced."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path

from tray_app.core.models import Attempt
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)


class History:
    """Append-only; a line is on disk before :meth:`append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, attempt: Attempt) -> None:
        if attempt.detail:
            attempt = replace(attempt, detail=redactor(attempt.detail))
        line = json.dumps(attempt.to_record(), ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def read(self) -> list[Attempt]:
        """Every readable line; a torn or foreign line is skipped, not fatal."""
        attempts: list[Attempt] = []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return attempts
        for number, line in enumerate(lines, 1):
            try:
                attempts.append(Attempt.from_record(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                log.warning("history line %d is unreadable; skipped", number)
        return attempts
