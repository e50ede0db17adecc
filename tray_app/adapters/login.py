"""The low-level OAuth redirect machinery: the authorize URL, the loopback listener,
and parsing what the user pastes. The sign-in flow itself is
:func:`tray_app.adapters.usecases.sign_in_oauth`.

hh.ru only accepts a ``redirect_uri`` registered for the application (port
included), so the listener binds one fixed, configurable port on 127.0.0.1, takes
exactly one request whose ``state`` matches, answers it and closes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from tray_app.i18n import t

CALLBACK_PATH = "/callback"


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


def authorize_url(oauth_base: str, client_id: str, state: str, redirect: str) -> str:
    query = urlencode(
        {"response_type": "code", "client_id": client_id, "state": state, "redirect_uri": redirect}
    )
    return f"{oauth_base.rstrip('/')}/oauth/authorize?{query}"


@dataclass(frozen=True)
class Redirect:
    code: str | None
    state: str | None
    error: str | None


def parse_redirect(text: str) -> Redirect:
    """Accepts the full redirected URL, its query string, or a bare code."""
    text = text.strip()
    if "code=" in text or "error=" in text or "?" in text:
        query = parse_qs(urlparse(text).query or text.lstrip("?"))
        first = {k: v[0] for k, v in query.items()}
        return Redirect(first.get("code"), first.get("state"), first.get("error"))
    return Redirect(text or None, None, None)


class LoopbackReceiver:
    """Catches one OAuth redirect on 127.0.0.1:port."""

    def __init__(self, port: int, state: str, language: str) -> None:
        self.state = state
        self.language = language
        self.result: Redirect | None = None
        self._done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                receiver._handle(self)

        self._server = HTTPServer(("127.0.0.1", port), Handler)  # OSError when busy

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(request.path)
        if parsed.path != CALLBACK_PATH:
            request.send_error(404)
            return
        result = parse_redirect(request.path)
        if result.state != self.state:
            ok, text = False, t("login.state", self.language)
        elif result.error or not result.code:
            ok, text = False, t("login.denied", self.language, detail=result.error or "no code")
        else:
            ok, text = True, t("login.page_ok", self.language)
        body = (text if ok else t("login.page_fail", self.language, detail=text)).encode()
        request.send_response(200 if ok else 400)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
        if result.state == self.state:  # a stray request with a foreign state is ignored
            self.result = result
            self._done.set()

    def wait(self, timeout: float, stop: threading.Event | None = None) -> Redirect | None:
        """Serves until the matching redirect arrives, ``timeout`` passes or ``stop``
        is set (the window closed); then closes."""
        self._server.timeout = 0.5
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        stop = stop or threading.Event()
        try:
            while not self._done.is_set() and not deadline.is_set() and not stop.is_set():
                self._server.handle_request()
        finally:
            timer.cancel()
            self._server.server_close()
        return self.result
