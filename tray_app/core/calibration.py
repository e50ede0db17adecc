"""Clock calibration: a few cheap requests timed on hh.ru's second boundaries.

``Date`` has one-second resolution; requests sent just before the server's second
turns narrow the server-clock estimate from about a second to a few tens of
milliseconds, so raises are on time rather than up to a second late.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tray_app.core.clock import ServerClock
from tray_app.core.errors import RemoteError
from tray_app.core.ports import Transport
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)

TARGET_UNCERTAINTY = 0.05
PROBES = 6


class ClockCalibrator:
    """Plans and sends the probes; at most :data:`PROBES` after each (re)start."""

    def __init__(self, server_clock: ServerClock, *, enabled: bool = True) -> None:
        self._server_clock = server_clock
        self._enabled = enabled
        self._left = PROBES if enabled else 0

    def restart(self) -> None:
        """The machine slept or its clock changed: old samples lie, measure again."""
        self._server_clock.reset()
        self._left = PROBES if self._enabled else 0

    def due(self, now: datetime) -> datetime | None:
        """When to send the next probe, or None when the estimate is good enough."""
        clock = self._server_clock
        if self._left <= 0 or not clock.has_samples or clock.uncertainty <= TARGET_UNCERTAINTY:
            return None
        return clock.next_probe(now)

    def probe(self, transport: Transport) -> None:
        """One probe; the transport's HTTP client feeds its ``Date`` to the clock."""
        self._left -= 1
        try:
            transport.ping()
        except RemoteError as exc:
            log.info("clock probe failed: %s", redactor(str(exc)))
