"""The Telegram outbox never writes over a file it cannot read, and keeps what it can."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tray_app.notify.notices import Notice
from tray_app.telegram.outbox import Outbox

from .conftest import FakeClock

CLOCK = FakeClock()
STAMP = "20261127T090000Z"  # FakeClock's start, as the aside name has it


def notice(text: str) -> Notice:
    return Notice("failing", text, True, CLOCK.now() - timedelta(minutes=5))


def saved(*texts: str) -> str:
    return json.dumps([notice(text).to_record() for text in texts], ensure_ascii=False, indent=1)


def test_a_torn_file_is_kept_aside_and_its_readable_records_salvaged(tmp_path: Path) -> None:
    path = tmp_path / "telegram-outbox.json"
    whole = saved("первое", "второе", "третье")
    torn = whole[: whole.index("третье")]  # a crash (or a bad disk) cut it
    path.write_text(torn, encoding="utf-8")
    outbox = Outbox(path, CLOCK)
    assert [n.text for n in outbox.items()] == ["первое", "второе"]
    assert (tmp_path / f"telegram-outbox.json.broken-{STAMP}").read_text("utf-8") == torn
    assert [r["text"] for r in json.loads(path.read_text("utf-8"))] == ["первое", "второе"]


def test_bad_records_and_bad_bytes_cost_only_themselves(tmp_path: Path) -> None:
    path = tmp_path / "telegram-outbox.json"
    records = json.loads(saved("a", "b", "c"))
    records[1]["at"] = "yesterday"
    path.write_bytes(json.dumps(records).replace('"c"', '"c\\u00e9"').encode() + b"\xff")
    assert [n.text for n in Outbox(path, CLOCK).items()] == ["a", "cé"]
    assert (tmp_path / f"telegram-outbox.json.broken-{STAMP}").exists()


def test_an_earlier_broken_file_is_never_written_over(tmp_path: Path) -> None:
    path = tmp_path / "telegram-outbox.json"
    earlier = tmp_path / f"telegram-outbox.json.broken-{STAMP}"
    earlier.write_text("the first broken one", encoding="utf-8")
    path.write_text("{not json", encoding="utf-8")
    outbox = Outbox(path, CLOCK)
    assert outbox.items() == [] and not path.exists()
    assert earlier.read_text("utf-8") == "the first broken one"
    assert (tmp_path / f"{earlier.name}-1").read_text("utf-8") == "{not json"
    outbox.add(notice("new"))
    assert [r["text"] for r in json.loads(path.read_text("utf-8"))] == ["new"]


def test_a_file_that_cannot_be_moved_aside_is_not_written_over(tmp_path: Path) -> None:
    path = tmp_path / "telegram-outbox.json"
    base = f"telegram-outbox.json.broken-{STAMP}"
    for name in (base, *(f"{base}-{n}" for n in range(1, 100))):
        (tmp_path / name).write_text("taken", encoding="utf-8")
    path.write_text('[{"kind": "failing", "text": "kept", "important": tr', encoding="utf-8")
    outbox = Outbox(path, CLOCK)
    outbox.add(notice("waits in memory"))
    assert [n.text for n in outbox.items()] == ["waits in memory"]
    assert path.read_text("utf-8").endswith('"important": tr')


def test_a_whole_file_is_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "telegram-outbox.json"
    path.write_text(saved("a", "b"), encoding="utf-8")
    assert [n.text for n in Outbox(path, CLOCK).items()] == ["a", "b"]
    assert [p.name for p in tmp_path.iterdir()] == ["telegram-outbox.json"]
