"""One instance per user: an OS file lock, released by the OS if the process dies.

``filelock`` is used rather than our own fcntl/msvcrt code because it already
handles both, and a lock that survives a crash would lock the user out.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import filelock

from tray_app.core.errors import AlreadyRunningError


class InstanceLock:
    """Held by every process that may use (and so rotate) the OAuth tokens."""

    def __init__(self, path: Path, timeout: float = 0.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(path))
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
