"""The lifecycle both simulators share: a threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class SimHandler(BaseHTTPRequestHandler):
    """Request handlers of both simulators: quiet, and able to reach their simulator."""

    @property
    def sim(self) -> Any:
        return self.server.sim  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _no_answer(self, kind: str, seconds: float) -> bool:
        """The faults both simulators share: ``timeout`` (hold, then hang up) and
        ``drop`` (hang up at once). True when ``kind`` was one of them."""
        if kind not in ("timeout", "drop"):
            return False
        if kind == "timeout":
            time.sleep(seconds)
        self.close_connection = True
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (killed, as the crash soak does) is
        what a server sees every day; anything else is still printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """Serves ``handler`` (which finds this object as ``self.server.sim``)."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    def start(self, port: int = 0) -> Self:
        server = _Server(("127.0.0.1", port or self._port), self.handler)
        server.sim = self  # type: ignore[attr-defined]
        self._server, self._port = server, server.server_port
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stops listening: new connections are refused until :meth:`start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"
