"""The attempt history survives a crash in the middle of a write."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app.core.models import Attempt, Outcome
from tray_app.storage.history import History

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def attempt(resume_id: str) -> Attempt:
    return Attempt(NOW, resume_id, Outcome.RAISED, 204, "req", None, "Python")


def test_a_torn_last_line_does_not_swallow_the_next_record(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    history.append(attempt("before"))
    with history.path.open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-12-01T09:00:00+00:00", "resume_id": "torn", "outc')  # a crash
    history.append(attempt("after"))
    assert [a.resume_id for a in history.read()] == ["before", "after"]
    lines = history.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1].endswith('"outc')


def test_unreadable_lines_are_told_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    history = History(tmp_path / "history.jsonl")
    history.path.write_bytes(b'{"torn\n\xff\xfe not utf-8\n')
    history.append(attempt("a"))
    with caplog.at_level(logging.WARNING, logger="tray_app.storage.history"):
        assert [a.resume_id for a in history.read()] == ["a"]
        assert [a.resume_id for a in history.read()] == ["a"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "2 unreadable line(s)" in warnings[0] and "1, 2" in warnings[0]
