"""The control channel: lets ``status``, ``raise-now`` and ``config set`` reach the
running instance (headless or tray) instead of starting a second token user.

A loopback HTTP server on an ephemeral port; its port and a random key are in
``control.json`` (mode 0600) in the data folder, so only this user can use it.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tray_app.core.models import Attempt
from tray_app.core.redact import redactor
from tray_app.core.views import NotDue, Snapshot
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)

KEY_HEADER = "X-HH-Raiser-Key"
RAISE_TIMEOUT = 180.0


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def snapshot_to_json(snapshot: Snapshot) -> dict[str, Any]:
    """The ``status --json`` document."""
    return {
        "auth": {
            "state": snapshot.auth_state.value,
            "detail": snapshot.auth_detail,
            "captcha_url": snapshot.captcha_url,
        },
        "paused": snapshot.paused,
        "resumes": [
            {
                "id": r.id,
                "title": r.title,
                "enabled": r.enabled,
                "last_raise_at": iso(r.last_raise_at),
                "last_outcome": r.last_outcome.value if r.last_outcome else None,
                "next_raise_at": iso(r.next_raise_at),
                "next_publish_at": iso(r.next_publish_at),
                "note": r.note,
                "hh_status": r.hh_status,
                "can_publish": r.can_publish,
            }
            for r in snapshot.resumes
        ],
    }


def result_to_json(result: Attempt | NotDue, next_raise_at: datetime | None) -> dict[str, Any]:
    """One ``raise-now`` result, with the resume's next planned raise."""
    if isinstance(result, NotDue):
        return {
            "resume_id": result.resume_id,
            "title": result.title,
            "outcome": "not_due",
            "next_raise_at": iso(result.next_raise_at),
        }
    return {**result.to_record(), "next_raise_at": iso(next_raise_at)}


def result_from_json(item: dict[str, Any]) -> Attempt | NotDue:
    """The inverse of :func:`result_to_json` (without the next raise)."""
    if item["outcome"] == "not_due":
        return NotDue(item["resume_id"], item["title"], item_next_raise(item))
    return Attempt.from_record(item)


def item_next_raise(item: dict[str, Any]) -> datetime | None:
    value = item.get("next_raise_at")
    return datetime.fromisoformat(value) if value else None


def earliest_next_raise(status: dict[str, Any]) -> datetime | None:
    """The next raise of any enabled resume in a ``status --json`` document."""
    times = [item_next_raise(r) for r in status["resumes"] if r["enabled"]]
    planned = [moment for moment in times if moment is not None]
    return min(planned) if planned else None


@dataclass
class ControlHandlers:
    """What the running instance does for each request."""

    status: Callable[[], dict[str, Any]]
    raise_now: Callable[[str | None], list[dict[str, Any]]]
    reload_settings: Callable[[], None]
    reload_credentials: Callable[[], None]


class ControlServer:
    def __init__(self, control_file: Path, handlers: ControlHandlers) -> None:
        self._file = control_file
        self._key = secrets.token_urlsafe(32)
        self.handlers = handlers
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.control = self  # type: ignore[attr-defined]
        self._server = server
        # poll_interval=None: block in select() instead of waking twice a second;
        # stop() wakes it with a connection of its own
        self._thread = threading.Thread(
            target=server.serve_forever, args=(None,), name="hh-raiser-control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        port = self._server.server_address[1]
        write_atomic(self._file, json.dumps({"pid": os.getpid(), "port": port, "key": self._key}))

    def stop(self) -> None:
        stopper = threading.Thread(target=self._server.shutdown)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self._server.server_port), timeout=1).close()
            stopper.join(0.1)
        self._server.server_close()
        try:
            if json.loads(self._file.read_text()).get("key") == self._key:
                self._file.unlink()
        except (OSError, ValueError):
            pass

    def authorized(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(key, self._key)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, status: int, body: Any) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _dispatch(self, method: str) -> None:
        control: ControlServer = self.server.control  # type: ignore[attr-defined]
        if not control.authorized(self.headers.get(KEY_HEADER)):
            self._reply(403, {"error": "bad key"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"error": "bad json"})
            return
        handlers = control.handlers
        try:
            if method == "GET" and self.path == "/status":
                self._reply(200, handlers.status())
            elif method == "POST" and self.path == "/raise-now":
                self._reply(200, {"results": handlers.raise_now(body.get("resume"))})
            elif method == "POST" and self.path == "/reload":
                if body.get("what") == "credentials":
                    handlers.reload_credentials()
                else:
                    handlers.reload_settings()
                self._reply(200, {"ok": True})
            else:
                self._reply(404, {"error": "no such command"})
        except Exception as exc:  # reported to the CLI that asked
            log.exception("control request %s %s failed", method, self.path)
            self._reply(500, {"error": redactor(str(exc))})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


class InstanceUnavailable(Exception):
    """No running instance answers (none runs, or it died and left its file)."""


class ControlClient:
    def __init__(self, control_file: Path) -> None:
        self._file = control_file

    def _target(self) -> tuple[str, str]:
        try:
            info = json.loads(self._file.read_text())
            return f"http://127.0.0.1:{int(info['port'])}", str(info["key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise InstanceUnavailable("no control file") from None

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        base, key = self._target()
        session = requests.Session()
        session.trust_env = False  # loopback: never through the user's proxy
        try:
            response = session.request(
                method, base + path, json=body, headers={KEY_HEADER: key}, timeout=timeout
            )
        except requests.ConnectionError:
            raise InstanceUnavailable("the instance does not answer") from None
        except requests.RequestException as exc:  # it runs, but did not answer in time
            raise RuntimeError(f"no answer from the running instance ({exc})") from None
        if response.status_code != 200:
            raise RuntimeError(response.json().get("error", f"HTTP {response.status_code}"))
        return response.json()

    def available(self) -> bool:
        try:
            self._call("GET", "/status", timeout=5)
        except InstanceUnavailable:
            return False
        return True

    def status(self) -> dict[str, Any]:
        return dict(self._call("GET", "/status"))

    def raise_now(self, resume_id: str | None) -> list[dict[str, Any]]:
        return list(
            self._call("POST", "/raise-now", {"resume": resume_id}, timeout=RAISE_TIMEOUT)[
                "results"
            ]
        )

    def reload(self, what: str = "settings") -> None:
        self._call("POST", "/reload", {"what": what})
