"""The last few requests a transport made and what hh.ru answered, redacted.

``hh-raiser doctor`` shows them (a raise "with the full answer"), so one real
user's report tells us what hh.ru said, without a token, a cookie value or an
e-mail in it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tray_app.core.redact import redact_report

KEPT = 20
BODY_CHARS = 600
SHOWN_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Date",
    "Server",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "Cache-Control",
)


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    seconds: float
    headers: tuple[tuple[str, str], ...]
    set_cookie_names: tuple[str, ...]
    body: str

    def lines(self) -> list[str]:
        out = [f"{self.method} {self.path} -> HTTP {self.status} in {self.seconds:.2f} s"]
        out.extend(f"  {name}: {value}" for name, value in self.headers)
        if self.set_cookie_names:
            out.append(f"  Set-Cookie (names only): {', '.join(self.set_cookie_names)}")
        if self.body:
            out.append(f"  body: {self.body}")
        return out


class Exchanges:
    """A bounded, thread-safe record of the latest exchanges."""

    def __init__(self) -> None:
        self._items: deque[Exchange] = deque(maxlen=KEPT)
        self._recorded = 0
        self._lock = threading.Lock()

    def record(
        self,
        method: str,
        path: str,
        status: int,
        seconds: float,
        headers: Mapping[str, str],
        set_cookies: Iterable[str],
        body: bytes,
    ) -> None:
        """``body`` is kept for errors and for what was sent (a raise), not for reads
        that worked: a page state or resume list holds the user's name and resumes
        (and is not even decoded, as this runs on every request)."""
        kept = b"" if method in ("GET", "HEAD") and status < 300 else body[: BODY_CHARS * 4]
        text = kept.decode("utf-8", "replace")
        shown = tuple(
            (name, redact_report(headers[name])) for name in SHOWN_HEADERS if headers.get(name)
        )
        names = tuple(c.split("=", 1)[0].strip() for c in set_cookies)
        snippet = redact_report(" ".join(text[:BODY_CHARS].split()))
        exchange = Exchange(method, path.split("?")[0], status, seconds, shown, names, snippet)
        with self._lock:
            self._items.append(exchange)
            self._recorded += 1

    @property
    def count(self) -> int:
        """How many were ever recorded: a mark for :meth:`since`."""
        with self._lock:
            return self._recorded

    def since(self, mark: int) -> list[Exchange]:
        """The exchanges recorded after :attr:`count` was ``mark`` (the latest kept)."""
        with self._lock:
            new = min(self._recorded - mark, len(self._items))
            return list(self._items)[-new:] if new > 0 else []
