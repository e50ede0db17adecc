"""Logging: one file in the log folder, and stderr when there is one.

Every line goes through the redactor after formatting, so secrets are masked in
messages, arguments, URLs and tracebacks alike.

Every process of the app (the running instance, each command, the settings and
sign-in windows) appends to the same file; only the running instance rotates it
(:func:`rotate_log`). A command that renamed the file would leave the instance
writing into ``hh-raiser.log.1`` (on Windows, fail to rename a file held open), and
two rotating processes each rename the other's backups.

``run --log-format json`` writes stderr (the journal under systemd, ``docker logs``)
as one JSON object a line for log collectors; the file stays in the human format,
since every command of the app appends to it too. When stderr is systemd's journal,
each line starts with its syslog priority (``<4>``), which journald keeps as the
entry's priority (``journalctl -p warning``) and strips from the text.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tray_app.core.redact import redactor
from tray_app.storage.privacy import OWNER_ONLY

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
MAX_BYTES = 1_000_000
BACKUPS = 5


JOURNAL_FORMAT = "%(levelname)s %(name)s [%(threadName)s] %(message)s"  # journald adds the time
SYSLOG_PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6}
LOG_FORMATS = ("text", "json")
STRUCTURED_FIELDS = ("event", "resume", "outcome", "request_id", "http_status")
"""What a log call may pass in ``extra=`` to become fields of its JSON line."""


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redactor(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, thread, message,
    the structured fields a call passed, and a traceback if any.

    Each text is redacted before it is encoded: redacting the encoded line could
    cut an escaped quote in half and break the JSON, and would miss a secret whose
    characters JSON escapes."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": redactor(record.getMessage()),
        }
        for key in STRUCTURED_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                line[key] = redactor(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redactor(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = redactor(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class LogFile(logging.handlers.RotatingFileHandler):
    """Appends to the log; renames it (rotates) only once :attr:`rotates` is set,
    by the process that holds the instance lock. The handler stays the same across
    that switch, so no line is lost or written twice."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        self.rotates = False

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        return self.rotates and bool(super().shouldRollover(record))


class JournalPriority(logging.Formatter):
    """Puts the syslog priority in front of what ``inner`` formats (sd-daemon(3))."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITIES.get(record.levelno, 7)
        return f"<{priority}>{self.inner.format(record)}"


def writes_to_journal(stream: object) -> bool:
    """Whether ``stream`` is connected to the journal: systemd names that connection's
    device and inode in ``$JOURNAL_STREAM`` (a child's own stderr would differ)."""
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return os.environ.get("JOURNAL_STREAM") == f"{info.st_dev}:{info.st_ino}"


def setup_logging(
    log_file: Path, *, verbose: bool = False, console: bool = True, log_format: str = "text"
) -> None:
    """Idempotent: replaces handlers it installed before. The file is only appended
    to until :func:`rotate_log`. ``log_format`` "json": stderr is the operator's log,
    every INFO line included, in JSON."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_hh_raiser", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = RedactingFormatter(FORMAT)
    log_file.parent.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [LogFile(log_file)]
    if console and sys.stderr is not None:  # None in a windowed PyInstaller build
        stream = logging.StreamHandler(sys.stderr)
        journal = writes_to_journal(sys.stderr)
        inner: logging.Formatter
        if log_format == "json":
            stream.setLevel(logging.DEBUG if verbose else logging.INFO)
            inner = JsonFormatter()
        else:
            stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
            inner = RedactingFormatter(JOURNAL_FORMAT if journal else FORMAT)
        stream.setFormatter(JournalPriority(inner) if journal else inner)
        handlers.append(stream)
    for handler in handlers:
        if handler.formatter is None:
            handler.setFormatter(formatter)
        handler._hh_raiser = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.WARNING)


def rotate_log() -> None:
    """This process is the running instance (it holds the instance lock of the home
    whose log it writes): from now on it keeps the log to ``MAX_BYTES`` and
    ``BACKUPS`` old files. Every other process only appends."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogFile):
            handler.rotates = True


def close_log_file() -> None:
    """Stops writing the log file (``reset`` is about to delete it: Windows cannot
    delete a file held open); what is logged after goes to stderr alone."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
            handler.close()
