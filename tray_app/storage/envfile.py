"""Reads the original ``update_resume_hhru`` script's ``.env`` file.

Accepts what dotenv files commonly hold (comments, blank lines, ``export``, single or
double quotes) and refuses anything else with the line number, so a typo is never
imported as a token.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from tray_app.core.errors import Problem
from tray_app.i18n import invalid_text

KNOWN_KEYS = (
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "RESUME_ID",
    "TELEGRAM_TOKEN",
    "CHAT_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CONTACT_EMAIL",
)
_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class EnvFileError(ValueError):
    """``reason`` (an ``invalid.env_*`` text) says what is wrong for people, in their
    language; the message is English, for the log."""

    def __init__(self, line_number: int, reason: str, /, **values: object) -> None:
        self.line_number = line_number
        self.reason = Problem(reason, values)
        super().__init__(f"line {line_number}: {invalid_text(self.reason, 'en')}")


@dataclass(frozen=True)
class EnvFile:
    values: dict[str, str]
    unknown_keys: tuple[str, ...]
    line_of: dict[str, int]  # where each known key stands, to point at a bad value


def _unquote(raw: str, line_number: int) -> str:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        if end == -1:
            raise EnvFileError(line_number, "env_unclosed_quote")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(line_number, "env_after_quote")
        return raw[1:end]
    value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    if any(ch.isspace() for ch in value):
        raise EnvFileError(line_number, "env_spaces")
    return value


def parse_env(text: str) -> EnvFile:
    values: dict[str, str] = {}
    line_of: dict[str, int] = {}
    unknown: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if not match:
            raise EnvFileError(number, "env_key_value")
        key, value = match.group(1), _unquote(match.group(2), number)
        if key in values:
            raise EnvFileError(number, "env_twice", key=key)
        if key in KNOWN_KEYS:
            values[key] = value
            line_of[key] = number
        else:
            unknown.append(key)
    return EnvFile(values, tuple(unknown), line_of)


class NotUtf8Error(EnvFileError):
    """The file is not UTF-8 text; ``line_number`` is where the first bad byte is."""


def read_env(path: Path) -> EnvFile:
    """Raises OSError where the file cannot be read (missing, a folder: see
    ``import_env``), and EnvFileError for its content."""
    return decode_env(path.read_bytes())


def decode_env(data: bytes) -> EnvFile:
    """A ``.env`` read as bytes (a file, or standard input in a container); raises
    EnvFileError for its content."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line = len((good + "x").splitlines())  # as parse_env counts them
        raise NotUtf8Error(line, "env_not_utf8") from None
    return parse_env(text)
