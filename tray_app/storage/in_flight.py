"""Raises in flight (``raises-in-flight.json``): written before a raise is sent and
cleared once its outcome is in the history.

A process killed between hh.ru's answer and the history line (the re-reads that
confirm a raise take seconds) leaves its record here; the next start settles it from
hh.ru's dates, so the history keeps every raise hh.ru took.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from tray_app.core.models import InFlight
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)


class InFlightFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def pending(self) -> list[InFlight]:
        with self._lock:
            return list(self._read().values())

    def begin(self, raise_: InFlight) -> None:
        with self._lock:
            records = self._read()
            records[raise_.resume_id] = raise_
            self._write(records)

    def end(self, resume_id: str) -> None:
        with self._lock:
            records = self._read()
            if records.pop(resume_id, None) is not None:
                self._write(records)

    def _read(self) -> dict[str, InFlight]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a torn file: nothing in it can be settled
            log.warning("%s is unreadable (%s); its raises are not settled", self.path, exc)
            return {}
        records: dict[str, InFlight] = {}
        for item in data if isinstance(data, list) else []:
            try:
                record = InFlight.from_record(item)
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("skipped an unreadable record in %s", self.path)
                continue
            records[record.resume_id] = record
        return records

    def _write(self, records: dict[str, InFlight]) -> None:
        if records:
            write_atomic(self.path, json.dumps([r.to_record() for r in records.values()]))
        else:
            self.path.unlink(missing_ok=True)
