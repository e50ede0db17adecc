"""``run --headless --log-format json``: every line the process writes is one JSON
object (time, level, logger, message, and for a raise: resume, outcome, request id,
HTTP status), through the same redactor as the human log."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tray_app.adapters.logs import JsonFormatter, setup_logging
from tray_app.core.redact import redactor
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.paths import app_paths

from .conftest import CHAT, wait_until
from .test_cli_integration import (
    A,
    env,
    hh,
    import_tokens,
    require_secret_service,
    stored_pair,
)

__all__ = ["env"]  # a fixture shared with the command's own tests


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("tray_app.core.engine", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_fields_and_masks_secrets_inside_quotes_and_escapes() -> None:
    secret = 'tok"en\\with-quote-0123456789'  # characters JSON escapes
    redactor.register(secret)
    line = JsonFormatter().format(
        record(
            "resume %s: %s, token=%s with %s",
            A,
            "raised",
            "abcdef123456",
            secret,
            event="attempt",
            resume=A,
            outcome="raised",
            request_id="req-1",
            http_status=204,
        )
    )
    parsed = json.loads(line)
    assert "\n" not in line and secret not in parsed["message"] and "abcdef123456" not in line
    assert parsed["message"] == f"resume {A}: raised, token=*** with ***"
    assert {k: parsed[k] for k in ("event", "resume", "outcome", "request_id", "http_status")} == {
        "event": "attempt",
        "resume": A,
        "outcome": "raised",
        "request_id": "req-1",
        "http_status": 204,
    }
    assert (parsed["level"], parsed["logger"]) == ("INFO", "tray_app.core.engine")
    when = datetime.fromisoformat(parsed["time"])
    assert when.utcoffset() == timedelta(0)


def test_a_traceback_is_one_field_of_one_line() -> None:
    try:
        raise ValueError("refresh_token=abcdef1234567890 was refused")
    except ValueError:
        failed = record("job failed")
        failed.exc_info = sys.exc_info()
    line = JsonFormatter().format(failed)
    assert "\n" not in line
    parsed = json.loads(line)
    assert "ValueError" in parsed["exception"] and "abcdef1234567890" not in parsed["exception"]
    assert "resume" not in parsed  # no field a call did not give


def lines_of(text: str) -> list[dict[str, Any]]:
    parsed = []
    for line in text.splitlines():
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


@pytest.mark.integration
def test_run_headless_with_json_logs_raises_and_every_line_is_json(
    env: dict[str, str], sim: HHSimulator, tg: TelegramSimulator, tmp_path: Path
) -> None:
    require_secret_service()
    token = import_tokens(env, sim, tmp_path, telegram_token=tg.token, chat_id=CHAT)
    for resume_id in sim.resumes:
        sim.open_window(resume_id, in_seconds=3600)
    sim.config.cooldown = 3600
    sim.make_due(A)
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "run", "--headless", "--log-format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: any(p.accepted for p in sim.publishes), 20)
        wait_until(app_paths(env).history_file.exists, 10)
        sim.expire_all_tokens()  # a refresh: new tokens to keep out of the output
        assert hh(env, "raise-now").returncode in (0, 3)  # through the instance
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out == ""  # what would be printed is a log line on stderr
    lines = lines_of(err)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    attempts = [line for line in lines if line.get("event") == "attempt"]
    history = [json.loads(line) for line in app_paths(env).history_file.read_text().splitlines()]
    assert attempts, err
    assert attempts[0]["resume"] == A and attempts[0]["outcome"] == "raised"
    assert attempts[0]["http_status"] == 204 and attempts[0]["request_id"]
    assert attempts[0]["request_id"] == history[0]["request_id"]  # hh.ru's X-Request-ID
    assert any(line.get("event") == "raising" and line["resume"] == A for line in lines)
    assert any(line.get("event") == "console" for line in lines)  # "HH Raiser … started"
    new = stored_pair(env)
    assert new.access_token != token.access_token  # the refresh happened
    for secret in (
        token.access_token,
        token.refresh_token,
        new.access_token,
        new.refresh_token,
        tg.token.split(":", 1)[1],
    ):
        assert secret not in err
    # the shared file stays in the human format
    text = app_paths(env).log_file.read_text()
    assert f"resume {A}: raised (HTTP 204" in text and not text.startswith("{")


@pytest.fixture
def our_logging() -> Iterator[None]:
    """The logging a test sets up is taken down after it."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_hh_raiser", False)]:
        root.removeHandler(handler)
        handler.close()


def log_through_stderr(
    path: Path, monkeypatch: pytest.MonkeyPatch, log_format: str = "text"
) -> list[str]:
    """Sets logging up with ``path`` as stderr (a real file: it has a device and an
    inode), logs three lines, returns what stderr got. (pytest swaps ``sys.stderr``
    between a fixture and the test: hence here, in the test.)"""
    with path.open("w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        setup_logging(path.parent / "logs" / "hh-raiser.log", log_format=log_format)
        log = logging.getLogger("tray_app.test")
        log.warning("hh.ru is slow")
        log.error("token=abcdef1234567 refused")
        log.info("raised")  # on stderr only with json (text shows warnings and up)
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_into_the_journal_each_line_carries_its_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_format: str, our_logging: None
) -> None:
    stderr = tmp_path / "stderr"
    stderr.touch()
    info = os.stat(stderr)
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
    lines = log_through_stderr(stderr, monkeypatch, log_format)
    priorities = [line[:3] for line in lines]
    assert priorities == (["<4>", "<3>", "<6>"] if log_format == "json" else ["<4>", "<3>"])
    if log_format == "json":
        assert json.loads(lines[1][3:])["message"] == "token=*** refused"
    else:
        assert lines[0] == "<4>WARNING tray_app.test [MainThread] hh.ru is slow"  # no time
        assert lines[1].endswith("token=*** refused")


def test_not_the_journal_no_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, our_logging: None
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # a parent's journal stream, not this stderr
    lines = log_through_stderr(tmp_path / "stderr", monkeypatch)
    assert len(lines) == 2 and not lines[0].startswith("<")
    assert lines[0].endswith(" WARNING tray_app.test [MainThread] hh.ru is slow")
