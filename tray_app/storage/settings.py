"""Settings: everything that is not a secret, in one JSON file, validated on load.

Each key is declared once in :data:`FIELDS` with its default and a converter that
accepts both the JSON value and the text a user types in ``config set``; the same
converter validates a hand-edited file, so a bad value is reported the same way
wherever it comes from.

The file carries ``"version": 2``. A file without it was written before
``enabled_resumes`` could be ``null``: there ``[]`` meant every resume and the id
``"none"`` (which no resume has) stood for none; :meth:`SettingsStore.load` reads
such a file with that meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import filelock

from tray_app.core.errors import ConfigError, Problem
from tray_app.core.models import Language, NotifyLevel, StoreKind, TransportKind
from tray_app.i18n import invalid_text
from tray_app.storage.atomic import write_atomic

_Choice = TypeVar("_Choice", bound=StrEnum)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RESUME_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(ValueError):
    """A value a converter refuses: :attr:`problem` says why for people (in their
    language), the message says it in English for the log."""

    def __init__(self, key: str, /, **values: object) -> None:
        self.problem = Problem(key, values)
        super().__init__(invalid_text(self.problem, "en"))


def config_error(key: str, /, **values: object) -> ConfigError:
    """A ConfigError with its :class:`Problem` (``invalid.KEY``)."""
    problem = Problem(key, values)
    return ConfigError(invalid_text(problem, "en"), problem)


def parse_hhmm(text: str) -> time:
    match = _HHMM.match(text.strip())
    if not match:
        raise Invalid("hhmm")
    return time(int(match.group(1)), int(match.group(2)))


def parse_active_hours(text: str) -> tuple[time, time]:
    """Asks for the range as a whole: a bad half is not "a time" to the user."""
    parts = text.split("-")
    try:
        if len(parts) != 2:
            raise Invalid("hours")
        start, end = (parse_hhmm(p) for p in parts)
    except Invalid:
        raise Invalid("hours") from None
    if start == end:
        raise Invalid("hours_equal")
    return start, end


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool):
            raise Invalid("number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise Invalid("number") from None
        if not low <= number <= high:  # also refuses NaN
            raise Invalid("number_range", low=f"{low:g}", high=f"{high:g}")
        return number

    return convert


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise Invalid("whole")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise Invalid("whole") from None
        if not low <= number <= high:
            raise Invalid("whole_range", low=low, high=high)
        return number

    return convert


def _choice(kind: type[_Choice]) -> Callable[[Any], _Choice]:
    """One of the enum's values; the enum is the only list of options."""

    def convert(value: Any) -> _Choice:
        text = str(value).strip().lower()
        try:
            return kind(text)
        except ValueError:
            raise Invalid("one_of", choices=", ".join(kind)) from None

    return convert


def _optional(check: Callable[[str], object]) -> Callable[[Any], str]:
    """Empty means unset; anything else must pass ``check`` and is kept as typed."""

    def convert(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if text:
            check(text)
        return text

    return convert


def _required(check: Callable[[str], object]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not text:
            raise Invalid("empty")
        check(text)
        return text

    return convert


ALL_RESUMES = "all"
NO_RESUMES = "none"


def _resume_ids(value: Any) -> tuple[str, ...] | None:
    """None (JSON ``null``, typed ``all`` or nothing) is every resume; an empty
    tuple (JSON ``[]``, typed ``none``) is none; else ids, typed with commas."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(item).strip() for item in value]
    else:
        text = str(value).strip()
        if text.lower() == NO_RESUMES:
            return ()
        items = [item.strip() for item in text.split(",")]
        if not any(items) or text.lower() == ALL_RESUMES:
            return None
    ids = [item for item in items if item]
    for resume_id in ids:
        if not _RESUME_ID.match(resume_id):
            raise Invalid("resume_id", id=_brief(resume_id))
    return tuple(dict.fromkeys(ids))


def _email(text: str) -> None:
    if not _EMAIL.match(text):
        raise Invalid("email")


def _chat_id(text: str) -> None:
    if not re.fullmatch(r"-?\d{1,20}", text):
        raise Invalid("chat_id")


def _user_id(text: str) -> None:
    """A Telegram user id (Bot API ``User.id``: a positive integer of up to 52 bits)."""
    if not re.fullmatch(r"[1-9][0-9]{0,19}", text):
        raise Invalid("user_id")


def _http_url(text: str) -> None:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Invalid("http_url")


def _proxy_url(text: str) -> None:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.hostname:
        raise Invalid("proxy_url")
    if "@" in parsed.netloc:
        raise Invalid("proxy_auth")


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _web_host(value: Any) -> str:
    """A bare host name: each hh.ru domain (hh.ru, spb.hh.ru, hh.kz, rabota.by) has
    its own session, so the host is part of what the user chooses. A pasted
    ``https://spb.hh.ru/`` is accepted as ``spb.hh.ru``."""
    text = "" if value is None else str(value).strip().lower()
    host = urlparse(text).hostname if "://" in text else text.rstrip("/")
    labels = (host or "").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        raise Invalid("host")
    return ".".join(labels)


def _plain(text: str) -> None:
    if any(ch.isspace() for ch in text):
        raise Invalid("spaces")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Invalid("boolean")


@dataclass(frozen=True)
class Settings:
    """The validated settings; see :data:`FIELDS` for what each key accepts."""

    enabled_resumes: tuple[str, ...] | None = None  # None: all, also those added later
    margin_seconds: float = 5.0
    jitter_seconds: float = 0.0
    anchor_time: str = ""
    active_hours: str = ""
    notify_level: NotifyLevel = NotifyLevel.ALL
    language: Language = Language.RU
    contact_email: str = ""
    client_id: str = ""
    redirect_port: int = 8765
    telegram_chat_id: str = ""
    # who confirmed ``telegram setup`` and alone may command; empty in a private chat
    # set up before it existed (there the chat's id is its user's id)
    telegram_user_id: str = ""
    refresh_minutes: int = 30
    paused: bool = False
    transport: TransportKind = TransportKind.API
    telegram_api_url: str = "https://api.telegram.org"
    telegram_proxy: str = ""
    telegram_commands: bool = True
    digest_time: str = ""
    web_host: str = "hh.ru"
    # where secrets are kept; HH_RAISER_SECRET_STORE overrides it (secret_choice.py)
    secret_store: StoreKind = StoreKind.KEYRING
    # once a day, ask GitHub for the project's latest release (core/updates.py)
    check_for_updates: bool = True

    def is_enabled(self, resume_id: str) -> bool:
        return self.enabled_resumes is None or resume_id in self.enabled_resumes

    @property
    def anchor(self) -> time | None:
        return parse_hhmm(self.anchor_time) if self.anchor_time else None

    @property
    def active_window(self) -> tuple[time, time] | None:
        return parse_active_hours(self.active_hours) if self.active_hours else None


FIELDS: dict[str, Callable[[Any], Any]] = {
    "enabled_resumes": _resume_ids,
    "margin_seconds": _number(0, 3600),
    "jitter_seconds": _number(0, 3600),
    "anchor_time": _optional(parse_hhmm),
    "active_hours": _optional(parse_active_hours),
    "notify_level": _choice(NotifyLevel),
    "language": _choice(Language),
    "contact_email": _optional(_email),
    "client_id": _optional(_plain),
    "redirect_port": _integer(1024, 65535),
    "telegram_chat_id": _optional(_chat_id),
    "telegram_user_id": _optional(_user_id),
    "refresh_minutes": _integer(5, 1440),
    "paused": _boolean,
    "transport": _choice(TransportKind),
    "telegram_api_url": _required(_http_url),
    "telegram_proxy": _optional(_proxy_url),
    "telegram_commands": _boolean,
    "digest_time": _optional(parse_hhmm),
    "web_host": _web_host,
    "secret_store": _choice(StoreKind),
    "check_for_updates": _boolean,
}
assert set(FIELDS) == {f.name for f in fields(Settings)}

DEFAULTS = Settings()
VERSION = 2  # of the file; 1 is a file without "version" (see the module's text)
LOCK_TIMEOUT = 10.0  # s a write waits for another process's; a write takes milliseconds


# Longest text each setting accepts, so a pasted file or a runaway script cannot put
# megabytes into a header or a URL. contact_email goes out in every HH-User-Agent:
# an address is at most 254 characters (RFC 5321's 256-octet path less its "<>").
# A host name is at most 253 (RFC 1035); URLs get 2048 (what browsers and proxies
# commonly accept); anything else 1000.
MAX_LENGTH = {
    "contact_email": 254,
    "web_host": 253,
    "client_id": 256,
    "telegram_api_url": 2048,
    "telegram_proxy": 2048,
}
MAX_TEXT = 1000
MAX_RESUMES = 1000  # ids in enabled_resumes; hh.ru gives a job seeker a few dozen at most
MAX_FILE_BYTES = 1_000_000  # a settings file is under 1 KB; more is not one


def _brief(value: Any, limit: int = 60) -> str | Problem:
    """``repr`` of a value for an error message, cut so a huge one stays readable."""
    text = repr(value)
    return (
        text if len(text) <= limit else Problem("cut", {"start": text[:limit], "length": len(text)})
    )


def _check_size(key: str, value: Any) -> None:
    if isinstance(value, str):
        limit = MAX_LENGTH.get(key, MAX_TEXT)
        if key == "enabled_resumes":
            limit = MAX_RESUMES * 65  # ids of up to 64 characters and their commas
        if len(value) > limit:
            raise Invalid("too_long", length=len(value), limit=limit)
    elif isinstance(value, list | tuple) and len(value) > MAX_RESUMES:
        raise Invalid("too_many", count=len(value), limit=MAX_RESUMES)


def validate(key: str, value: Any) -> Any:
    """Converts a JSON or typed-in value for ``key``; :class:`ConfigError` says why not."""
    if key not in FIELDS:
        raise config_error("unknown_key", key=_brief(key), known=", ".join(FIELDS))
    try:
        _check_size(key, value)
        return FIELDS[key](value)
    except Invalid as exc:
        raise config_error("setting", key=key, reason=exc.problem, got=_brief(value)) from None
    except ValueError as exc:  # a converter's own words (none is known to give any)
        raise config_error("setting", key=key, reason=str(exc), got=_brief(value)) from None
    except RecursionError:  # str() of a list nested a thousand deep
        raise config_error(
            "setting", key=key, reason=Problem("nested"), got=type(value).__name__
        ) from None


def to_text(value: Any) -> str:
    """How ``config get`` shows a value (None and a tuple are ``enabled_resumes``)."""
    if value is None:
        return ALL_RESUMES
    if isinstance(value, tuple):
        return ",".join(value) or NO_RESUMES
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_VERSION_1_NO_RESUME = "none"


def _from_version_1(raw: dict[str, Any]) -> dict[str, Any]:
    """A file without "version": ``enabled_resumes`` ``[]`` meant every resume, and
    ``"none"`` was an id no resume has (the tray stored ``["none"]`` for none)."""
    resumes = raw.get("enabled_resumes")
    if isinstance(resumes, list):
        kept = [item for item in resumes if item != _VERSION_1_NO_RESUME]
        raw = {**raw, "enabled_resumes": kept if resumes else None}
    return raw


class SettingsStore:
    """Loads :class:`Settings` at one path and writes them there with :meth:`update`.

    Several processes write the file: the running instance (a Telegram ``/pause``,
    the tray), ``config set``, the settings window. Each write holds an OS file lock
    on ``settings.json.lock`` and reads the file again inside it, so no writer puts
    back what another has just changed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def load(self) -> Settings:
        """The settings in the file, or the defaults where there is none. A file that
        is not valid, is over :data:`MAX_FILE_BYTES` or is nested too deeply for the
        JSON parser is a ConfigError, never another exception."""
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return DEFAULTS
        except OSError as exc:
            raise config_error("unreadable", path=self.path, detail=exc) from None
        if len(data) > MAX_FILE_BYTES:
            raise config_error("file_too_large", path=self.path, mb=MAX_FILE_BYTES // 1_000_000)
        try:
            raw = json.loads(data.decode("utf-8"))
        except ValueError as exc:  # also not UTF-8, and a number of 5000 digits
            raise config_error("not_settings", path=self.path, detail=exc) from None
        except RecursionError:
            raise config_error("not_settings", path=self.path, detail=Problem("nested")) from None
        if not isinstance(raw, dict):
            raise config_error("not_object", path=self.path)
        version = raw.pop("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise config_error("bad_version", path=self.path, got=_brief(version))
        if version > VERSION:
            raise config_error("newer_version", path=self.path, version=version, known=VERSION)
        if version == 1:
            raw = _from_version_1(raw)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            try:
                values[key] = validate(key, value)
            except ConfigError as exc:
                raise config_error("in_file", path=self.path, reason=exc.problem) from None
        return replace(DEFAULTS, **values)

    def update(self, **changes: Any) -> Settings:
        """The one way settings are written: validates every change (a ConfigError
        names the key, and nothing is written), then writes the file once, atomically,
        with the changes applied to the file as it is then. Returns the new settings."""
        values = {key: validate(key, value) for key, value in changes.items()}
        return self._write(lambda _current: values)

    def modify(self, change: Callable[[Settings], Mapping[str, Any]]) -> Settings:
        """Like :meth:`update`, for a change that depends on the current settings
        (switch one resume in the list): ``change`` gets them as they are inside the
        lock, so a change another process made meanwhile is not undone."""
        return self._write(
            lambda current: {key: validate(key, value) for key, value in change(current).items()}
        )

    def _write(self, values_of: Callable[[Settings], dict[str, Any]]) -> Settings:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.lock_path), mode=0o600)
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except filelock.Timeout:
            raise config_error(
                "locked", path=self.path, lock=self.lock_path.name, timeout=f"{LOCK_TIMEOUT:g}"
            ) from None
        try:
            current = self.load()
            updated = replace(current, **values_of(current))
            data = {
                "version": VERSION,
                **{f.name: getattr(updated, f.name) for f in fields(Settings)},
            }
            write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            return updated
        finally:
            lock.release()

    def mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None
