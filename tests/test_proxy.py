"""Standard proxy variables reach the hh.ru transport."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests

from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring

from .conftest import make_runtime


class RecordingProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy that remembers what went through it."""

    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")
        }
        session = requests.Session()
        session.trust_env = False
        answer = session.request(self.command, self.path, headers=headers, data=body, timeout=5)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "date",
                "server",
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = _forward
    do_POST = _forward


@pytest.fixture
def proxy_url() -> Iterator[str]:
    RecordingProxy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingProxy)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_http_proxy_variable_is_honoured(
    proxy_url: str,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    runtime = make_runtime(environ, keyring_backend, sim)
    assert len(runtime.transport.list_resumes()) == 4
    assert RecordingProxy.seen == [f"GET {sim.url}/resumes/mine?page=0&per_page=100"]
