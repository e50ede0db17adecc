"""An in-memory keyring backend: for unit tests and the demo, never for real secrets."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

from keyring.errors import PasswordDeleteError

from tray_app.storage.paths import HOME_ENV
from tray_app.storage.secrets import ExplicitKeyring

DEMO_ENV = "HH_RAISER_DEMO"
"""Set in the demo's environment, and so in every window it opens (each a process of
its own): the demo's fake secrets as they were when the window was opened. Such a
process keeps them in a :class:`MemoryKeyring`, never in the user's keyring."""


class MemoryKeyring(ExplicitKeyring):
    """Forgets everything when the process ends; that is the point."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._values[(service, username)] = password
            self.writes += 1

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._values.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    def export(self) -> str:
        """Everything held, for :data:`DEMO_ENV` (the demo's fake secrets only)."""
        with self._lock:
            return json.dumps([[s, u, p] for (s, u), p in self._values.items()])

    @classmethod
    def seeded(cls, exported: str) -> MemoryKeyring:
        """A keyring holding what :meth:`export` gave; an unreadable value holds nothing
        (a demo window then shows the demo signed out, and still opens)."""
        keyring = cls()
        try:
            for service, username, password in json.loads(exported or "[]"):
                keyring._values[(str(service), str(username))] = str(password)
        except (ValueError, TypeError):
            keyring._values.clear()
        return keyring


def demo_keyring(environ: Mapping[str, str]) -> MemoryKeyring | None:
    """The keyring of a process the demo started, or None outside a demo. Only with
    the demo's own home (``HH_RAISER_HOME``): a stray ``HH_RAISER_DEMO`` never puts
    the user's own home on a keyring that forgets."""
    if DEMO_ENV not in environ or not environ.get(HOME_ENV):
        return None
    return MemoryKeyring.seeded(environ[DEMO_ENV])
