"""The control channel: only the key holder is served; a stale file means no instance;
typed answers travel as JSON and arrive as the same types."""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tray_app.adapters.control import (
    KEY_HEADER,
    ControlClient,
    ControlHandlers,
    ControlServer,
    InstanceUnavailable,
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


def test_round_trip_and_key_check(tmp_path: Path) -> None:
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
        port = json.loads(control_file.read_text())["port"]
        stranger = requests.get(
            f"http://127.0.0.1:{port}/status", headers={KEY_HEADER: "guess"}, timeout=5
        )
        assert stranger.status_code == 403
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


def test_an_answer_this_version_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    """Another version on the other end: a message, not a KeyError traceback."""

    class OldInstance(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            body = json.dumps({"auth": {"state": "ok"}, "resumes": []}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), OldInstance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    control_file = tmp_path / "control.json"
    control_file.write_text(json.dumps({"port": server.server_address[1], "key": "k"}))
    try:
        with pytest.raises(RuntimeError, match="does not read"):
            ControlClient(control_file).status()
    finally:
        server.shutdown()
        server.server_close()
