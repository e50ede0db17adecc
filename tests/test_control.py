"""The control channel: only the key holder is served; a stale file means no instance."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import requests

from tray_app.adapters.control import (
    KEY_HEADER,
    ControlClient,
    ControlHandlers,
    ControlServer,
    InstanceUnavailable,
)


def handlers(calls: list[str]) -> ControlHandlers:
    def raise_now(resume_id: str | None) -> list[dict[str, Any]]:
        calls.append(f"raise {resume_id}")
        return [{"resume_id": resume_id, "outcome": "raised"}]

    return ControlHandlers(
        status=lambda: {"auth": {"state": "ok"}, "resumes": []},
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
        assert client.status()["auth"]["state"] == "ok"
        assert client.raise_now("abc") == [{"resume_id": "abc", "outcome": "raised"}]
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
