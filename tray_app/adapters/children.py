"""Windows of their own (settings, the sign-in window) run as child processes; each is
waited for on a thread of its own, so none lingers as a zombie once it is closed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Child(Protocol):
    """What is needed of a started process (``subprocess.Popen`` has it)."""

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def reap(child: Child, name: str, then: Callable[[int], None] | None = None) -> threading.Thread:
    """Waits for ``child`` on a daemon thread; ``then(exit code)`` runs on that thread."""

    def wait() -> None:
        code = child.wait()
        log.info("%s ended with exit code %s", name, code)
        if then is not None:
            then(code)

    thread = threading.Thread(target=wait, name=f"reap-{name}", daemon=True)
    thread.start()
    return thread
