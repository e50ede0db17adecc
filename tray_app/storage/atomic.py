"""Atomic file replacement: a crash leaves either the old file or the new one."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

# A temporary file this old is a leftover of a save that was interrupted (a crash, a
# power cut); a younger one may be another process's save in progress. A save takes
# milliseconds, so a minute leaves a wide margin.
STALE_AFTER = 60.0


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Writes to a temporary file beside ``path``, fsyncs it, renames it over ``path``
    and fsyncs the folder, so the rename itself survives a power cut (POSIX). Then
    removes temporary files that earlier interrupted saves of ``path`` left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    _remove_leftovers(path)


def _prefix(path: Path) -> str:
    return f".{path.name}."


def _fsync_folder(folder: Path) -> None:
    """A rename is an entry in the folder: without this, a power cut soon after may
    bring the old file back. Windows cannot open a folder this way (and NTFS journals
    the rename); some file systems refuse fsync on a folder: both are skipped."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_leftovers(path: Path) -> None:
    """Temporary files of ``path`` (``tempfile.mkstemp``'s 8 random characters after
    the prefix) older than :data:`STALE_AFTER`; a failure here never fails the save."""
    pattern = re.compile(re.escape(_prefix(path)) + r"[a-z0-9_]{8}")
    now = time.time()
    try:
        candidates = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return
    for leftover in candidates:
        try:
            if now - leftover.stat().st_mtime > STALE_AFTER:
                leftover.unlink()
                log.info("removed %s, left by an interrupted save", leftover)
        except OSError:
            continue  # gone already, or not ours to remove
