"""The control channel: lets ``status``, ``raise-now`` and ``config set`` reach the
running instance (headless or tray) instead of starting a second token user.

A loopback HTTP server on an ephemeral port; its port and a random key are in
``control.json`` (mode 0600) in the data folder, so only this user can use it.

The only place where the running instance's state becomes JSON and back: the server
and the client both speak :class:`Status` and :class:`RaiseResult`.
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
from typing import Any, TypeVar

import requests

from tray_app.core.events import ChannelProblem, ChannelState
from tray_app.core.models import Attempt, AuthState, Outcome, TransportKind
from tray_app.core.redact import redactor
from tray_app.core.views import (
    NotDue,
    PollerState,
    RaiseResult,
    ResumeStatus,
    Status,
    TelegramChannel,
)
from tray_app.storage.atomic import write_atomic

log = logging.getLogger(__name__)

KEY_HEADER = "X-HH-Raiser-Key"
RAISE_TIMEOUT = 180.0
T = TypeVar("T")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


NOT_RUNNING = "not_running"
"""``telegram.commands`` when no running instance polls for commands."""


def status_to_json(status: Status) -> dict[str, Any]:
    """The ``status --json`` document."""
    telegram = status.telegram
    return {
        "auth": {
            "state": status.auth_state.value,
            "detail": status.auth_detail,
            "captcha_url": status.captcha_url,
        },
        "paused": status.paused,
        "resumes": [
            {
                "id": r.id,
                "title": r.title,
                "enabled": r.enabled,
                "last_raise_at": _iso(r.last_raise_at),
                "last_outcome": r.last_outcome.value if r.last_outcome else None,
                "next_raise_at": _iso(r.next_raise_at),
                "next_publish_at": _iso(r.next_publish_at),
                "note": r.note,
                "hh_status": r.hh_status,
                "can_publish": r.can_publish,
            }
            for r in status.resumes
        ],
        "transport": status.transport.value,
        "web_host": status.web_host,
        "telegram": {
            "state": telegram.state.value,
            "reason": telegram.reason.value if telegram.reason else None,
            "detail": telegram.detail,
            "since": _iso(telegram.since),
            "pending": telegram.pending,
            "last_delivery_at": _iso(telegram.last_delivery_at),
            "commands": status.commands.value if status.commands else NOT_RUNNING,
        },
    }


def status_from_json(data: dict[str, Any]) -> Status:
    """The inverse of :func:`status_to_json`; KeyError/ValueError/TypeError for a
    document that is not one."""
    auth, telegram = data["auth"], data["telegram"]
    commands = telegram.get("commands")
    return Status(
        auth_state=AuthState(auth["state"]),
        auth_detail=auth.get("detail"),
        captcha_url=auth.get("captcha_url"),
        paused=bool(data["paused"]),
        resumes=tuple(
            ResumeStatus(
                id=str(r["id"]),
                title=str(r["title"]),
                enabled=bool(r["enabled"]),
                last_raise_at=_moment(r.get("last_raise_at")),
                last_outcome=Outcome(r["last_outcome"]) if r.get("last_outcome") else None,
                next_raise_at=_moment(r.get("next_raise_at")),
                next_publish_at=_moment(r.get("next_publish_at")),
                note=r.get("note"),
                hh_status=str(r.get("hh_status") or ""),
                can_publish=r.get("can_publish"),
            )
            for r in data["resumes"]
        ),
        transport=TransportKind(data["transport"]),
        web_host=str(data["web_host"]),
        telegram=TelegramChannel(
            state=ChannelState(telegram["state"]),
            reason=ChannelProblem(telegram["reason"]) if telegram.get("reason") else None,
            detail=telegram.get("detail"),
            since=_moment(telegram.get("since")),
            pending=int(telegram.get("pending") or 0),
            last_delivery_at=_moment(telegram.get("last_delivery_at")),
        ),
        commands=PollerState(commands) if commands and commands != NOT_RUNNING else None,
    )


NOT_DUE = "not_due"
"""The ``outcome`` of a raise-now result for a resume still in its cooldown."""


def raise_result_to_json(result: RaiseResult) -> dict[str, Any]:
    """One ``raise-now --json`` result, with the resume's next planned raise."""
    if isinstance(result.result, NotDue):
        return {
            "resume_id": result.result.resume_id,
            "title": result.result.title,
            "outcome": NOT_DUE,
            "next_raise_at": _iso(result.result.next_raise_at),
        }
    return {**result.result.to_record(), "next_raise_at": _iso(result.next_raise_at)}


def raise_result_from_json(item: dict[str, Any]) -> RaiseResult:
    """The inverse of :func:`raise_result_to_json`."""
    next_raise_at = _moment(item.get("next_raise_at"))
    if item["outcome"] == NOT_DUE:
        return RaiseResult(NotDue(item["resume_id"], item["title"], next_raise_at), next_raise_at)
    return RaiseResult(Attempt.from_record(item), next_raise_at)


@dataclass
class ControlHandlers:
    """What the running instance does for each request."""

    status: Callable[[], Status]
    raise_now: Callable[[str | None], list[RaiseResult]]
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
                self._reply(200, status_to_json(handlers.status()))
            elif method == "POST" and self.path == "/raise-now":
                results = handlers.raise_now(body.get("resume"))
                self._reply(200, {"results": [raise_result_to_json(r) for r in results]})
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


def _read(parse: Callable[[Any], T], answer: Any) -> T:
    """An answer this version cannot read (another version runs) is a clear error."""
    try:
        return parse(answer)
    except (KeyError, ValueError, TypeError) as exc:
        raise RuntimeError(
            f"the running instance answered in a form this version does not read ({exc!r}); "
            "restart HH Raiser"
        ) from None


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

    def status(self) -> Status:
        return _read(status_from_json, self._call("GET", "/status"))

    def raise_now(self, resume_id: str | None) -> list[RaiseResult]:
        answer = self._call("POST", "/raise-now", {"resume": resume_id}, timeout=RAISE_TIMEOUT)
        return _read(lambda data: [raise_result_from_json(r) for r in data["results"]], answer)

    def reload(self, what: str = "settings") -> None:
        self._call("POST", "/reload", {"what": what})
