"""The control channel: lets ``status``, ``raise-now``, ``config set`` and ``quit`` reach
the running instance (headless or tray) instead of starting a second token user.

A loopback HTTP server on an ephemeral port; its port and a random key are in
``control.json`` (mode 0600) in the data folder, so only this user can use it.

The key never travels. After a crash ``control.json`` stays behind and any local user
may take its port, so the client first makes the peer prove it holds the key
(HMAC-SHA256 challenge-response, :func:`_mac`) and sends nothing more to a peer that
cannot:

1. ``POST /hello {"nonce": client nonce}`` →
   ``{"nonce": server nonce, "proof": mac("server", client nonce, server nonce)}``;
2. each request carries the server nonce and
   ``mac("client", server nonce, method, path, sha256(body))``; the server takes each
   nonce once and only for :data:`NONCE_LIFETIME` seconds (no replay);
3. each answer carries ``mac("reply", server nonce, status, sha256(body))``, so even a
   port taken between the hello and the request cannot answer in the instance's name.

A peer that sends nothing is dropped after :data:`IDLE_TIMEOUT`, and at most
:data:`MAX_CONNECTIONS` are served at once (one thread each); more are closed at once.

The only place where the running instance's state becomes JSON and back: the server
and the client both speak :class:`Status` and :class:`RaiseResult`.
"""

from __future__ import annotations

import contextlib
import hashlib
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
from typing import Any, TypeVar, cast

import requests

from tray_app.core.clock import Clock, SystemClock
from tray_app.core.events import ChannelProblem, ChannelState
from tray_app.core.models import Attempt, AuthState, Outcome, TransportKind
from tray_app.core.redact import redactor
from tray_app.core.updates import UpdateKind, UpdateView
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

HELLO_PATH = "/hello"
NONCE_HEADER = "X-HH-Raiser-Nonce"
PROOF_HEADER = "X-HH-Raiser-Proof"
RAISE_TIMEOUT = 180.0
HELLO_TIMEOUT = 5.0
NONCE_LIFETIME = 30.0
"""Seconds a server nonce is good for: enough for the hello and the request that
follows it, short enough that a recorded request is useless soon after."""
MAX_NONCES = 64
"""Outstanding server nonces; the oldest is forgotten first (bounded memory however
many hellos a stranger sends)."""
IDLE_TIMEOUT = 5.0
"""Seconds a connection may stay silent (per read or write) before it is dropped."""
MAX_CONNECTIONS = 16
"""Connections served at once; the CLI needs two, one after the other."""
MAX_BODY = 64 * 1024
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
        "update": {
            "state": status.update.kind.value,
            "checked_at": _iso(status.update.checked_at),
            "version": status.update.version,
            "url": status.update.url,
        },
    }


def status_from_json(data: dict[str, Any]) -> Status:
    """The inverse of :func:`status_to_json`; KeyError/ValueError/TypeError for a
    document that is not one."""
    auth, telegram = data["auth"], data["telegram"]
    commands = telegram.get("commands")
    update = data.get("update") or {"state": UpdateKind.UNKNOWN}  # an older instance
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
        update=UpdateView(
            UpdateKind(update["state"]),
            _moment(update.get("checked_at")),
            update.get("version"),
            update.get("url"),
        ),
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


def _mac(key: str, *parts: str) -> str:
    """HMAC-SHA256 over ``parts``: a role word first, so no proof of one kind serves as
    another; none of the parts (hex nonces, method, path, digests) holds a newline."""
    return hmac.new(key.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _same(expected: str, given: object) -> bool:
    """Constant-time comparison that takes anything a stranger may send."""
    return isinstance(given, str) and hmac.compare_digest(
        expected.encode(), given.encode("utf-8", "replace")
    )


def _is_nonce(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    )


def _nonce() -> str:
    return secrets.token_hex(16)


@dataclass
class ControlHandlers:
    """What the running instance does for each request."""

    status: Callable[[], Status]
    raise_now: Callable[[str | None], list[RaiseResult]]
    reload_settings: Callable[[], None]
    reload_credentials: Callable[[], None]
    quit: Callable[[], None] | None = None
    """Asks the instance to stop as its own Quit does; returns at once (the answer is
    sent before the channel closes). None: this instance cannot be stopped from here."""


class _Server(ThreadingHTTPServer):
    """One daemon thread per connection, at most ``max_connections`` of them."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, control: ControlServer, max_connections: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.control = control
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: no thread for it, closed at once
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A peer that went silent mid-request (timed out) or away: not worth stderr."""
        log.debug("control connection from %s dropped", client_address, exc_info=True)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class ControlServer:
    def __init__(
        self,
        control_file: Path,
        handlers: ControlHandlers,
        *,
        clock: Clock | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._file = control_file
        self._key = secrets.token_urlsafe(32)
        self._clock = clock or SystemClock()
        self._nonces: dict[str, float] = {}  # server nonce -> when it expires
        self._nonces_lock = threading.Lock()
        self.idle_timeout = idle_timeout
        self.handlers = handlers
        self._server = _Server(self, max_connections)
        # poll_interval=None: block in select() instead of waking twice a second;
        # stop() wakes it with a connection of its own
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(None,),
            name="hh-raiser-control",
            daemon=True,
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

    def hello(self, client_nonce: str) -> dict[str, str]:
        """A fresh nonce of ours and the proof that we hold the key."""
        server_nonce = _nonce()
        now = self._clock.monotonic()
        with self._nonces_lock:
            for nonce, expires in list(self._nonces.items()):
                if expires < now:
                    del self._nonces[nonce]
            self._nonces[server_nonce] = now + NONCE_LIFETIME
            while len(self._nonces) > MAX_NONCES:
                del self._nonces[next(iter(self._nonces))]
        return {
            "nonce": server_nonce,
            "proof": _mac(self._key, "server", client_nonce, server_nonce),
        }

    def verify(self, nonce: str, proof: str | None, method: str, path: str, body: bytes) -> bool:
        """Whether the key holder sent this request; its nonce is spent either way."""
        with self._nonces_lock:
            expires = self._nonces.pop(nonce, None)
        if expires is None or self._clock.monotonic() > expires:
            return False
        return _same(_mac(self._key, "client", nonce, method, path, _digest(body)), proof)

    def seal(self, nonce: str, status: int, body: bytes) -> str:
        """The answer's proof: it comes from the key holder and belongs to this request."""
        return _mac(self._key, "reply", nonce, str(status), _digest(body))


class _Handler(BaseHTTPRequestHandler):
    def setup(self) -> None:
        # a peer that sends nothing must not keep its thread (and slot) for ever
        self.request.settimeout(self._control.idle_timeout)
        super().setup()

    @property
    def _control(self) -> ControlServer:
        return cast(_Server, self.server).control

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, status: int, body: Any, nonce: str | None = None) -> None:
        """``nonce``: the verified request's; its answer is sealed with it."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        if nonce is not None:
            self.send_header(PROOF_HEADER, self._control.seal(nonce, status, raw))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY:
            return None
        return self.rfile.read(length)

    def _dispatch(self, method: str) -> None:
        control = self._control
        raw = self._body()
        if raw is None:
            self._reply(400, {"error": "bad length"})
            return
        if method == "POST" and self.path == HELLO_PATH:
            self._hello(raw)
            return
        nonce = self.headers.get(NONCE_HEADER) or ""
        if not control.verify(nonce, self.headers.get(PROOF_HEADER), method, self.path, raw):
            self._reply(403, {"error": "not verified"})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._reply(400, {"error": "bad json"}, nonce)
            return
        handlers = control.handlers
        try:
            if method == "GET" and self.path == "/status":
                self._reply(200, status_to_json(handlers.status()), nonce)
            elif method == "POST" and self.path == "/raise-now":
                results = handlers.raise_now(body.get("resume"))
                self._reply(200, {"results": [raise_result_to_json(r) for r in results]}, nonce)
            elif method == "POST" and self.path == "/quit":
                if handlers.quit is None:
                    self._reply(409, {"error": "this instance cannot be stopped from here"}, nonce)
                else:
                    handlers.quit()
                    self._reply(200, {"ok": True}, nonce)
            elif method == "POST" and self.path == "/reload":
                if body.get("what") == "credentials":
                    handlers.reload_credentials()
                else:
                    handlers.reload_settings()
                self._reply(200, {"ok": True}, nonce)
            else:
                self._reply(404, {"error": "no such command"}, nonce)
        except Exception as exc:  # reported to the CLI that asked
            log.exception("control request %s %s failed", method, self.path)
            self._reply(500, {"error": redactor(str(exc))}, nonce)

    def _hello(self, raw: bytes) -> None:
        try:
            client_nonce = json.loads(raw).get("nonce")
        except (ValueError, AttributeError):
            client_nonce = None
        if not _is_nonce(client_nonce):
            self._reply(400, {"error": "bad nonce"})
            return
        self._reply(200, self._control.hello(client_nonce))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


class InstanceUnavailable(Exception):
    """No running instance answers (none runs, or it died and left its file)."""


class NotHHRaiser(InstanceUnavailable):
    """The port in ``control.json`` answers, but not as the key holder: most likely the
    file outlived a crash and another program took the port. Nothing but a nonce was
    sent to it and nothing it said is used; callers act as when no instance runs (under
    the instance lock, so a real running instance still cannot be bypassed)."""

    def __init__(self, control_file: Path, port: int) -> None:
        super().__init__(f"port {port} named in {control_file} is not HH Raiser's")
        self.control_file = control_file
        self.port = port


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

    def _target(self) -> tuple[int, str]:
        try:
            info = json.loads(self._file.read_text())
            return int(info["port"]), str(info["key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise InstanceUnavailable("no control file") from None

    def _not_hh_raiser(self, port: int) -> NotHHRaiser:
        error = NotHHRaiser(self._file, port)
        log.warning("control channel: %s; nothing sent to it, acting as if none runs", error)
        return error

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        port, key = self._target()
        raw = b"" if body is None else json.dumps(body).encode()
        with requests.Session() as session:
            session.trust_env = False  # loopback: never through the user's proxy
            nonce = self._hello(session, port, key)
            proof = _mac(key, "client", nonce, method, path, _digest(raw))
            headers = {NONCE_HEADER: nonce, PROOF_HEADER: proof}
            if body is not None:
                headers["Content-Type"] = "application/json"
            response = self._send(session, method, port, path, raw, headers, timeout)
        if not _same(
            _mac(key, "reply", nonce, str(response.status_code), _digest(response.content)),
            response.headers.get(PROOF_HEADER),
        ):
            raise self._not_hh_raiser(port)
        answer = response.json()
        if response.status_code != 200:
            raise RuntimeError(answer.get("error", f"HTTP {response.status_code}"))
        return answer

    def _hello(self, session: requests.Session, port: int, key: str) -> str:
        """The server nonce, once the peer proved it holds the key; else NotHHRaiser."""
        client_nonce = _nonce()
        try:
            response = self._send(
                session,
                "POST",
                port,
                HELLO_PATH,
                json.dumps({"nonce": client_nonce}).encode(),
                {"Content-Type": "application/json"},
                HELLO_TIMEOUT,
            )
            answer = response.json()
            server_nonce, proof = answer["nonce"], answer["proof"]
        except (RuntimeError, ValueError, KeyError, TypeError):
            raise self._not_hh_raiser(port) from None  # the instance answers a hello at once
        if not _is_nonce(server_nonce) or not _same(
            _mac(key, "server", client_nonce, server_nonce), proof
        ):
            raise self._not_hh_raiser(port)
        return str(server_nonce)

    @staticmethod
    def _send(
        session: requests.Session,
        method: str,
        port: int,
        path: str,
        raw: bytes,
        headers: dict[str, str],
        timeout: float,
    ) -> requests.Response:
        try:
            return session.request(
                method,
                f"http://127.0.0.1:{port}{path}",
                data=raw or None,
                headers=headers,
                timeout=timeout,
            )
        except requests.ConnectionError:
            raise InstanceUnavailable("the instance does not answer") from None
        except requests.RequestException as exc:  # it runs, but did not answer in time
            raise RuntimeError(f"no answer from the running instance ({exc})") from None

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

    def quit(self) -> None:
        """Asks the instance to stop; it goes on stopping after the answer (see the
        instance lock for when it has gone)."""
        self._call("POST", "/quit", {})
