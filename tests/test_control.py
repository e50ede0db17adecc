"""The control channel: only the key holder is served, and the client talks only to
the key holder, without ever sending the key; a stale file means no instance; silent
connections are dropped and capped; typed answers travel as JSON and arrive as the
same types."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import re
import secrets
import select
import socket
import stat
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tray_app.adapters import control
from tray_app.adapters.cli import EXIT_OK, Cli, main
from tray_app.adapters.control import (
    ControlClient,
    ControlHandlers,
    ControlServer,
    InstanceUnavailable,
    NotHHRaiser,
    raise_result_to_json,
    status_to_json,
)
from tray_app.core.events import ChannelProblem, ChannelState
from tray_app.core.models import Attempt, AuthState, Outcome, TransportKind
from tray_app.core.views import (
    NotDue,
    PollerState,
    RaiseResult,
    ResumeStatus,
    Status,
    TelegramChannel,
)
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.settings import SettingsStore

from .conftest import FakeClock, wait_until

NOW = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)
STATUS = Status(
    auth_state=AuthState.CAPTCHA_NEEDED,
    auth_detail="captcha required",
    captcha_url="https://hh.ru/account/captcha?backurl=%2F",
    paused=True,
    resumes=(
        ResumeStatus(
            id="a1",
            title="Python-разработчик",
            enabled=True,
            last_raise_at=NOW - timedelta(hours=4),
            last_outcome=Outcome.RAISED,
            next_raise_at=NOW + timedelta(seconds=5),
            next_publish_at=NOW,
            note=None,
            hh_status="published",
            can_publish=False,
        ),
        ResumeStatus(
            id="b2",
            title="Draft",
            enabled=False,
            last_raise_at=None,
            last_outcome=None,
            next_raise_at=None,
            next_publish_at=None,
            note="draft",
            hh_status="not_finished",
            can_publish=None,
        ),
    ),
    transport=TransportKind.WEB,
    web_host="spb.hh.ru",
    telegram=TelegramChannel(
        state=ChannelState.MISCONFIGURED,
        reason=ChannelProblem.CHAT_NOT_FOUND,
        detail="chat not found",
        since=NOW,
        pending=2,
        last_delivery_at=NOW - timedelta(minutes=1),
    ),
    commands=PollerState.CONFLICT,
)
RESULTS = [
    RaiseResult(
        Attempt(NOW, "a1", Outcome.RAISED, 200, "req-1", None, "Python-разработчик"),
        NOW + timedelta(hours=4),
    ),
    RaiseResult(NotDue("b2", "Draft", NOW + timedelta(hours=1)), NOW + timedelta(hours=1)),
]


def handlers(calls: list[str]) -> ControlHandlers:
    def raise_now(resume_id: str | None) -> list[RaiseResult]:
        calls.append(f"raise {resume_id}")
        return RESULTS

    return ControlHandlers(
        status=lambda: STATUS,
        raise_now=raise_now,
        reload_settings=lambda: calls.append("settings"),
        reload_credentials=lambda: calls.append("credentials"),
    )


def test_round_trip_and_only_the_key_holder_is_served(tmp_path: Path) -> None:
    calls: list[str] = []
    control_file = tmp_path / "control.json"
    server = ControlServer(control_file, handlers(calls))
    server.start()
    try:
        assert stat.S_IMODE(control_file.stat().st_mode) == 0o600
        client = ControlClient(control_file)
        assert client.status() == STATUS
        assert client.raise_now("abc") == RESULTS
        client.reload("credentials")
        client.reload("settings")
        assert calls == ["raise abc", "credentials", "settings"]
        info = json.loads(control_file.read_text())
        url = f"http://127.0.0.1:{info['port']}"
        # the key itself is no credential any more: it never has to travel
        for headers in ({"X-HH-Raiser-Key": info["key"]}, {"X-HH-Raiser-Proof": "guess"}):
            stranger = requests.post(f"{url}/raise-now", headers=headers, timeout=5)
            assert stranger.status_code == 403
        assert calls == ["raise abc", "credentials", "settings"]
    finally:
        server.stop()
    assert not control_file.exists()


def test_stale_control_file_means_no_instance(tmp_path: Path) -> None:
    control_file = tmp_path / "control.json"
    control_file.write_text(json.dumps({"pid": 1, "port": 9, "key": "x"}))
    with pytest.raises(InstanceUnavailable):
        ControlClient(control_file).status()
    assert not ControlClient(tmp_path / "missing.json").available()


def test_status_json_is_the_documented_document() -> None:
    """``status --json`` is a public format: its shape does not follow our types."""
    document = status_to_json(STATUS)
    assert document["auth"] == {
        "state": "captcha_needed",
        "detail": "captcha required",
        "captcha_url": "https://hh.ru/account/captcha?backurl=%2F",
    }
    assert document["resumes"][0] == {
        "id": "a1",
        "title": "Python-разработчик",
        "enabled": True,
        "last_raise_at": "2026-12-01T06:00:00.123456+00:00",
        "last_outcome": "raised",
        "next_raise_at": "2026-12-01T10:00:05.123456+00:00",
        "next_publish_at": "2026-12-01T10:00:00.123456+00:00",
        "note": None,
        "hh_status": "published",
        "can_publish": False,
    }
    assert (document["paused"], document["transport"], document["web_host"]) == (
        True,
        "web",
        "spb.hh.ru",
    )
    assert document["telegram"] == {
        "state": "misconfigured",
        "reason": "chat_not_found",
        "detail": "chat not found",
        "since": "2026-12-01T10:00:00.123456+00:00",
        "pending": 2,
        "last_delivery_at": "2026-12-01T09:59:00.123456+00:00",
        "commands": "conflict",
    }
    assert json.loads(json.dumps(document)) == document


def _mac(key: str, *parts: str) -> str:
    """The protocol as documented in ``adapters/control.py``, written out again here."""
    return hmac.new(key.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def test_a_request_is_good_once_and_only_soon_after_the_hello(tmp_path: Path) -> None:
    """Someone who saw one request cannot replay it, nor use an old nonce."""
    calls: list[str] = []
    clock = FakeClock()
    control_file = tmp_path / "control.json"
    server = ControlServer(control_file, handlers(calls), clock=clock)
    server.start()
    info = json.loads(control_file.read_text())
    key, url = info["key"], f"http://127.0.0.1:{info['port']}"

    def hello() -> str:
        mine = secrets.token_hex(16)
        answer = requests.post(f"{url}/hello", json={"nonce": mine}, timeout=5).json()
        assert answer["proof"] == _mac(key, "server", mine, answer["nonce"])
        return str(answer["nonce"])

    def raise_now(nonce: str, body: bytes = b'{"resume": "a1"}') -> requests.Response:
        proof = _mac(key, "client", nonce, "POST", "/raise-now", hashlib.sha256(body).hexdigest())
        return requests.post(
            f"{url}/raise-now",
            data=body,
            headers={"X-HH-Raiser-Nonce": nonce, "X-HH-Raiser-Proof": proof},
            timeout=5,
        )

    try:
        nonce = hello()
        first = raise_now(nonce)
        assert first.status_code == 200
        # the answer is sealed for this request
        sealed = _mac(key, "reply", nonce, "200", hashlib.sha256(first.content).hexdigest())
        assert first.headers["X-HH-Raiser-Proof"] == sealed
        assert raise_now(nonce).status_code == 403  # the same request again
        stale = hello()
        clock.advance(control.NONCE_LIFETIME + 1)
        assert raise_now(stale).status_code == 403
        # a proof made for another body does not carry this one
        other = hello()
        proof = _mac(key, "client", other, "POST", "/raise-now", hashlib.sha256(b"{}").hexdigest())
        forged = requests.post(
            f"{url}/raise-now",
            data=b'{"resume": "b2"}',
            headers={"X-HH-Raiser-Nonce": other, "X-HH-Raiser-Proof": proof},
            timeout=5,
        )
        assert forged.status_code == 403
        assert calls == ["raise a1"]
    finally:
        server.stop()


class Impostor:
    """A program that took the port of a crashed instance: it answers as the instance
    answered before the handshake existed (and guesses at a hello), and keeps every
    byte it receives."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def requests(self) -> list[bytes]:
        """The request lines received."""
        return re.findall(rb"^([A-Z]+ \S+) HTTP/1\.[01]\r$", bytes(self.received), re.M)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                request = self._read(conn)
                self.received += request
                conn.sendall(self._answer(request))

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: *(\d+)", head, re.I)
        while length and len(body) < int(length.group(1)):
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    @staticmethod
    def _answer(request: bytes) -> bytes:
        path = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
        document: Any = {"ok": True}
        if path == b"/status":
            document = status_to_json(STATUS)
        elif path == b"/raise-now":
            document = {"results": [raise_result_to_json(r) for r in RESULTS]}
        elif path == b"/hello":
            document = {"nonce": "0" * 32, "proof": "0" * 64}  # without the key: a guess
        body = json.dumps(document).encode()
        head = f"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        return head.encode() + b"\r\n\r\n" + body


@pytest.fixture
def impostor() -> Iterator[Impostor]:
    fake = Impostor()
    yield fake
    fake.close()


def crashed_instance_key(tmp_path: Path) -> str:
    """The key a real instance wrote before it died (its file stays behind)."""
    control_file = tmp_path / "dead" / "control.json"
    control_file.parent.mkdir()
    server = ControlServer(control_file, handlers([]))
    server.start()
    key = str(json.loads(control_file.read_text())["key"])
    server.stop()
    return key


def key_forms(key: str) -> list[bytes]:
    """The key in every encoding that would let its holder recover it."""
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    text = key.encode()
    return [
        text,
        raw,
        raw.hex().encode(),
        text.hex().encode(),
        base64.b64encode(raw).rstrip(b"="),
        base64.b64encode(text).rstrip(b"="),
        urllib.parse.quote(key, safe="").encode(),
    ]


def assert_key_not_sent(impostor: Impostor, key: str) -> None:
    received = bytes(impostor.received)
    assert received, "the impostor saw nothing: the test would prove nothing"
    for form in key_forms(key):
        assert form not in received and form.lower() not in received.lower(), form
    # the hello and nothing after it
    assert set(impostor.requests()) == {b"POST /hello"}


def test_an_impostor_on_the_port_gets_neither_the_key_nor_a_hearing(
    tmp_path: Path, impostor: Impostor
) -> None:
    key = crashed_instance_key(tmp_path)
    control_file = tmp_path / "control.json"
    control_file.write_text(json.dumps({"pid": 1, "port": impostor.port, "key": key}))
    client = ControlClient(control_file)
    for ask in (client.status, lambda: client.raise_now("a1"), lambda: client.reload("settings")):
        with pytest.raises(NotHHRaiser) as refused:
            ask()
        assert isinstance(refused.value, InstanceUnavailable)  # callers act as without one
        assert refused.value.port == impostor.port
    assert not client.available()
    assert_key_not_sent(impostor, key)


def test_the_cli_neither_believes_nor_tells_an_impostor(
    environ: dict[str, str], keyring_backend: MemoryKeyring, tmp_path: Path, impostor: Impostor
) -> None:
    """``raise-now`` does not print the impostor's "поднято", ``status`` does not show
    its state, ``config set`` does not say the change was applied; each says why."""
    key = crashed_instance_key(tmp_path)
    paths = app_paths(environ)
    paths.control_file.parent.mkdir(parents=True, exist_ok=True)
    paths.control_file.write_text(json.dumps({"pid": 1, "port": impostor.port, "key": key}))

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(
            list(argv), Cli(environ=environ, out=out, err=err, keyring_backend=keyring_backend)
        )
        return code, out.getvalue(), err.getvalue()

    warning = f"Порт {impostor.port} из {paths.control_file} занят программой"
    code, out, err = run("raise-now")
    assert "поднято" not in out + err and "Python-разработчик" not in out + err
    assert warning in err
    code, out, err = run("status", "--json")
    assert json.loads(out)["auth"]["state"] == "not_configured"  # read here, not its "captcha"
    assert warning in err
    code, out, err = run("config", "set", "margin_seconds", "7")
    assert code == EXIT_OK and SettingsStore(paths.settings_file).load().margin_seconds == 7
    assert "применил" not in out + err and warning in err
    assert_key_not_sent(impostor, key)


def test_a_silent_connection_is_dropped(tmp_path: Path) -> None:
    control_file = tmp_path / "control.json"
    server = ControlServer(control_file, handlers([]), idle_timeout=0.3)
    server.start()
    try:
        port = json.loads(control_file.read_text())["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
            assert silent.recv(1) == b""  # closed by the server, long before our 5 s
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"GET /status HTTP/1.1\r\n")  # and then nothing
            assert slow.recv(65536) == b""
        assert ControlClient(control_file).status() == STATUS
    finally:
        server.stop()


def test_idle_connections_do_not_make_a_thread_each(tmp_path: Path) -> None:
    """400 connections that send nothing: all are dropped (at once above the cap, after
    the idle timeout below it) with a handful of threads, not 400; the instance then
    answers as before."""
    control_file = tmp_path / "control.json"
    server = ControlServer(control_file, handlers([]), idle_timeout=1.0, max_connections=8)
    server.start()
    before = threading.active_count()
    port = json.loads(control_file.read_text())["port"]
    idle = [socket.socket() for _ in range(400)]
    try:
        for number, sock in enumerate(idle, 1):  # none of them sends a byte
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            if number % 16 == 0:
                # in bursts the listen queue can take: beyond it the kernel completes
                # handshakes (SYN cookies) the server never hears of, so they would
                # stay open here without ever having been the server's
                time.sleep(0.01)
        peak, open_ = before, list(idle)
        deadline = time.monotonic() + 15
        while open_ and time.monotonic() < deadline:
            peak = max(peak, threading.active_count())
            readable, _, _ = select.select(open_, [], [], 0.01)
            for sock in readable:  # the server closed it (or refused it outright)
                with contextlib.suppress(OSError):
                    assert sock.recv(1) == b""
                open_.remove(sock)
        assert peak <= before + 8, f"{peak - before} threads for 400 silent connections"
        assert not open_, f"{len(open_)} of 400 silent connections still open after 15 s"
        wait_until(lambda: threading.active_count() <= before, timeout=5)
        assert ControlClient(control_file).status() == STATUS
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_an_answer_this_version_cannot_read_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another version on the other end: a message, not a KeyError traceback."""
    monkeypatch.setattr(
        control, "status_to_json", lambda status: {"auth": {"state": "ok"}, "resumes": []}
    )
    control_file = tmp_path / "control.json"
    server = ControlServer(control_file, handlers([]))
    server.start()
    try:
        with pytest.raises(RuntimeError, match="does not read"):
            ControlClient(control_file).status()
    finally:
        server.stop()
