"""Keeps secrets out of every text the app writes: logs, history, exception messages.

Two nets: every secret value the app loads or stores is registered and replaced
wherever it appears, and patterns catch secrets the app never saw as values (a token
in a server's error page, a bot token inside a URL).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"),
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|client_secret|code|token|password|_xsrf|"
        r"hhtoken|crypted_id|hhuid)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"
    ),
    re.compile(r"(/bot)\d+:[\w-]+"),  # Telegram bot token in a Bot API URL
    re.compile(r"(://[^/\s:@]+:)[^/\s@]+(?=@)"),  # the password in scheme://user:password@host
    re.compile(r"(?i)(cookie:\s*)[^\r\n]+"),
)


class Redactor:
    """Replaces registered secret values and secret-looking patterns with ``***``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_SECRET_LENGTH:
                    self._secrets.add(value)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        return text


redactor = Redactor()
"""The process-wide redactor: storage registers secrets, logging applies it."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def redact_report(text: str) -> str:
    """For text meant to leave the machine in a bug report (``doctor``, a page's
    fingerprint): secrets masked as everywhere, and e-mail addresses too."""
    return _EMAIL.sub("<e-mail>", redactor(text))
