"""Proxies for tests: a recording HTTP forward proxy and a minimal SOCKS5 proxy."""

from __future__ import annotations

import select
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests


class RecordingProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy that remembers what went through it."""

    seen: ClassVar[list[str]] = []
    authorizations: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.authorizations.append(self.headers.get("Proxy-Authorization"))
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


class Socks5Proxy(socketserver.StreamRequestHandler):
    """SOCKS5, no authentication, CONNECT only (RFC 1928); remembers each target."""

    seen: ClassVar[list[str]] = []

    def handle(self) -> None:
        version, methods = self.rfile.read(2)
        self.rfile.read(methods)
        if version != 5:
            return
        self.wfile.write(b"\x05\x00")  # no authentication
        _, command, _, kind = self.rfile.read(4)
        if kind == 1:
            host = socket.inet_ntoa(self.rfile.read(4))
        elif kind == 3:
            host = self.rfile.read(self.rfile.read(1)[0]).decode()
        else:
            return
        (port,) = struct.unpack("!H", self.rfile.read(2))
        if command != 1:
            return
        self.seen.append(f"{host}:{port}")
        upstream = socket.create_connection((host, port), timeout=5)
        self.wfile.write(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


def _serve(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def proxy_url() -> Iterator[str]:
    RecordingProxy.seen = []
    RecordingProxy.authorizations = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingProxy)
    _serve(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def socks_url() -> Iterator[str]:
    Socks5Proxy.seen = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Socks5Proxy)
    server.daemon_threads = True
    _serve(server)
    yield f"socks5://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
