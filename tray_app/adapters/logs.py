"""Logging: a rotating file in the log folder, and stderr when there is one.

Every line goes through the redactor after formatting, so secrets are masked in
messages, arguments, URLs and tracebacks alike.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from tray_app.core.redact import redactor

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redactor(super().format(record))


def setup_logging(log_file: Path, *, verbose: bool = False, console: bool = True) -> None:
    """Idempotent: replaces handlers it installed before."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_hh_raiser", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = RedactingFormatter(FORMAT)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if console and sys.stderr is not None:  # None in a windowed PyInstaller build
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(stream)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._hh_raiser = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.WARNING)
