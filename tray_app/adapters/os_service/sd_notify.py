"""The systemd notify protocol (``sd_notify(3)``) without libsystemd: each message is
one datagram of ``KEY=VALUE`` lines to the socket named in ``$NOTIFY_SOCKET``.

Under ``Type=notify`` systemd counts the service started only at ``READY=1``, and
with ``WatchdogSec=`` it kills and restarts a process that stops sending
``WATCHDOG=1`` (``$WATCHDOG_USEC`` says how often it expects one). Outside systemd
the variable is unset and nothing is sent.

A failed send is logged once and never raised: the app goes on raising resumes even
when its service manager went away.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
MAX_STATUS = 200  # systemctl status shows one line; keep the datagram small


def _address(value: str) -> str | None:
    """A path, or an abstract name (``@name`` means a leading NUL byte); other kinds
    (``vsock:``) are not for a user service."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_seconds(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """The watchdog timeout systemd set for this very process, in seconds, or None.

    ``WATCHDOG_PID`` names the process it is meant for: a child that inherited the
    variables is not watched."""
    raw = environ.get(WATCHDOG_USEC_ENV, "")
    owner = environ.get(WATCHDOG_PID_ENV, "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        usec = int(raw)
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


class Notifier:
    """Sends notify messages to one socket; safe to call from any thread."""

    def __init__(self, address: str, watchdog: float | None = None) -> None:
        self._address = address
        self.watchdog = watchdog
        """systemd's watchdog timeout in seconds (None: no watchdog)."""
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._lock = threading.Lock()
        self._failed = False
        self._status: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier | None:
        """The notifier systemd asked for, or None when not run by systemd."""
        raw = environ.get(NOTIFY_SOCKET_ENV, "")
        if not raw:
            return None
        address = _address(raw)
        if address is None:
            log.warning("%s=%s is not a socket this app can use", NOTIFY_SOCKET_ENV, raw)
            return None
        return cls(address, watchdog_seconds(environ))

    @property
    def ping_every(self) -> float | None:
        """How often to send ``WATCHDOG=1``: half the timeout, as systemd advises."""
        return None if self.watchdog is None else self.watchdog / 2

    def send(self, *fields: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False if it could not be sent."""
        data = "\n".join(fields).encode("utf-8")
        try:
            with self._lock:
                self._socket.sendto(data, self._address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("could not notify systemd (%s): %s", self._address.lstrip("\0"), exc)
            return False
        return True

    def ready(self, status: str | None = None) -> None:
        self.send("READY=1", *self._status_field(status))

    def ping(self) -> None:
        self.send("WATCHDOG=1")

    def status(self, text: str) -> None:
        """``STATUS=``, shown by ``systemctl --user status``; sent only when it changed."""
        fields = self._status_field(text)
        if fields:
            self.send(*fields)

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def _status_field(self, text: str | None) -> list[str]:
        if text is None:
            return []
        line = " ".join(text.split())[:MAX_STATUS]
        with self._lock:
            if line == self._status:
                return []
            self._status = line
        return [f"STATUS={line}"]

    def close(self) -> None:
        self._socket.close()
