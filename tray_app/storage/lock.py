"""One instance per user: an OS file lock, released by the OS if the process dies.

``filelock`` is used rather than our own fcntl/msvcrt code because it already
handles both, and a lock that survives a crash would lock the user out.

The lock file is 0600 in the 0700 data folder: a lock file others can open is a lock
they can hold, keeping HH Raiser from starting. filelock (3.20.1 and later) opens it
with ``O_NOFOLLOW``, so a symbolic link in its place is never followed; in a folder
only the user can write to, such a link could only be the user's own doing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

import filelock

from tray_app.core.errors import AlreadyRunningError
from tray_app.storage.privacy import OWNER_ONLY

log = logging.getLogger(__name__)
LOCK_FILE_MODE = 0o600


class InstanceLock:
    """Held by every process that may use (and so rotate) the OAuth tokens."""

    def __init__(self, path: Path, timeout: float = 0.0) -> None:
        path.parent.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
        if path.is_symlink():  # nothing to keep in a lock file; the link's target untouched
            log.warning("%s was a symbolic link; replaced with a lock file", path)
            path.unlink()
        self._lock = filelock.FileLock(str(path), mode=LOCK_FILE_MODE)
        self._timeout = timeout

    def acquire(self) -> InstanceLock:
        try:
            self._lock.acquire(timeout=self._timeout)
        except filelock.Timeout:
            raise AlreadyRunningError("another HH Raiser instance is running") from None
        return self

    def release(self) -> None:
        self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
