"""write_atomic: the rename is made durable, and an interrupted save leaves nothing behind."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from tray_app.storage.atomic import STALE_AFTER, write_atomic


def test_a_stale_temp_file_is_removed_by_the_next_save_and_a_fresh_one_is_not(
    tmp_path: Path,
) -> None:
    target = tmp_path / "settings.json"
    stale = tmp_path / ".settings.json.k3j_9xq2"  # a save interrupted a while ago
    fresh = tmp_path / ".settings.json.a8fz01mm"  # another process's save, under way
    others = [tmp_path / ".outbox.json.k3j_9xq2", tmp_path / "settings.json.lock"]
    for path in (stale, fresh, *others):
        path.write_text("{", encoding="utf-8")
    old = time.time() - STALE_AFTER - 5
    for path in (stale, *others):
        os.utime(path, (old, old))
    write_atomic(target, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (target, fresh, *others)
    )


@pytest.mark.skipif(sys.platform == "win32", reason="folders are not fsynced on Windows")
def test_the_folder_is_synced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    target.write_text("old", encoding="utf-8")
    synced: list[tuple[bool, str]] = []  # (a folder?, what the file holds then)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), target.read_text("utf-8")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(target, "new")
    assert synced == [(False, "old"), (True, "new")]
