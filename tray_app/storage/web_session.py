"""The hh.ru website session (cookies) in the keyring, one per site host.

A browser's cookie jar for hh.ru can exceed what Windows keeps in one secret (2560
bytes), so a large session is split over numbered entries. Saving must survive a
crash halfway, because hh.ru rotates cookies and the jar is saved again and again:
the parts go to the slot *not* in use, then one write of the index switches to
them, then the old slot's parts are deleted. The index always names a complete set,
and a checksum catches a torn read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tray_app.core.errors import SecretStoreError, SecretTooLarge
from tray_app.core.redact import redactor
from tray_app.storage.secrets import MAX_SECRET_BYTES, SecretStore, secret_size

log = logging.getLogger(__name__)

PART_CHARS = 1200  # ASCII JSON: 2400 bytes as UTF-16, under the 2560-byte limit
MAX_PARTS = 12
SLOTS = ("a", "b")
KNOWN_HOSTS = ("hh.ru", "spb.hh.ru", "hh.kz", "rabota.by")
"""hh.ru's sites whose sessions ``secrets migrate`` looks for in a keyring, which
cannot list its entries (besides the ``web_host`` setting's)."""
INDEX_PREFIX = "web_session:"
REDACT_MIN = 12  # shorter cookie values ("applicant", "113") are not secrets


@dataclass(frozen=True)
class WebSession:
    """The cookies to send to ``host``; names keep the order the browser gave."""

    host: str
    cookies: Mapping[str, str] = field(default_factory=dict)
    saved_at: datetime | None = None

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    @property
    def xsrf(self) -> str | None:
        return self.cookies.get("_xsrf")

    def with_cookies(self, changes: Mapping[str, str | None]) -> WebSession:
        """A copy with cookies set (or deleted, for None), as Set-Cookie asks."""
        cookies = dict(self.cookies)
        for name, value in changes.items():
            if value is None:
                cookies.pop(name, None)
            else:
                cookies[name] = value
        return WebSession(self.host, cookies, self.saved_at)

    def __repr__(self) -> str:  # never the values
        return f"WebSession(host={self.host!r}, cookies={sorted(self.cookies)})"


def register_secrets(cookies: Mapping[str, str]) -> None:
    """Every cookie value long enough to be a token is masked in logs and errors."""
    redactor.register(*(v for v in cookies.values() if len(v) >= REDACT_MIN))


class HeldSession:
    """A session not stored yet: checked against the site first (rotations it
    brings are kept here), saved to the keyring only if it works."""

    def __init__(self, session: WebSession) -> None:
        self.host = session.host
        self.session = session

    def load(self) -> WebSession:
        return self.session

    def save(self, session: WebSession, now: datetime) -> None:
        self.session = session


class WebSessionStore:
    """Loads and saves the session of one host (``web_session:<host>``)."""

    def __init__(self, secrets: SecretStore, host: str) -> None:
        self._secrets = secrets
        self.host = host
        self.index_name = f"{INDEX_PREFIX}{host}"
        self._index: dict[str, Any] | None = None  # as last read or written

    def _part_name(self, slot: str, number: int) -> str:
        return f"{self.index_name}:{slot}{number}"

    def load(self) -> WebSession | None:
        raw = self._secrets.get(self.index_name)
        if not raw:
            return None
        try:
            index = json.loads(raw)
            if "cookies" in index:
                payload = json.dumps(index["cookies"])
            else:
                payload = "".join(
                    self._secrets.get(self._part_name(index["slot"], n)) or ""
                    for n in range(int(index["parts"]))
                )
                if hashlib.sha256(payload.encode()).hexdigest()[:16] != index["sha256"]:
                    raise ValueError("checksum mismatch")
            cookies = json.loads(payload)
            saved = datetime.fromisoformat(index["saved_at"]) if index.get("saved_at") else None
            session = WebSession(self.host, {str(k): str(v) for k, v in cookies.items()}, saved)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SecretStoreError(
                f"the stored hh.ru session for {self.host} is unreadable; import it again"
            ) from None
        self._index = index
        register_secrets(session.cookies)
        return session

    def save(self, session: WebSession, now: datetime) -> None:
        """Writes the session; the previous one stays readable until the switch."""
        register_secrets(session.cookies)
        payload = json.dumps(dict(session.cookies), ensure_ascii=True, separators=(",", ":"))
        base: dict[str, Any] = {"v": 1, "saved_at": now.isoformat()}
        inline_index = {**base, "cookies": dict(session.cookies)}
        inline = json.dumps(inline_index, ensure_ascii=True)
        previous = self._index if self._index is not None else self._read_index()
        if secret_size(inline) <= MAX_SECRET_BYTES:
            self._secrets.set(self.index_name, inline)
            self._index = inline_index
        else:
            parts = [payload[i : i + PART_CHARS] for i in range(0, len(payload), PART_CHARS)]
            if len(parts) > MAX_PARTS:
                raise SecretTooLarge(
                    f"the hh.ru session for {self.host} is {len(payload)} characters; "
                    f"at most {MAX_PARTS * PART_CHARS} can be stored"
                )
            slot = SLOTS[1] if previous and previous.get("slot") == SLOTS[0] else SLOTS[0]
            for number, part in enumerate(parts):
                self._secrets.set(self._part_name(slot, number), part)
            index = {
                **base,
                "slot": slot,
                "parts": len(parts),
                "sha256": hashlib.sha256(payload.encode()).hexdigest()[:16],
            }
            self._secrets.set(self.index_name, json.dumps(index))
            self._index = index
        if previous and previous.get("slot") and previous.get("slot") != self._index.get("slot"):
            self._delete_parts(str(previous["slot"]), int(previous.get("parts", 0)))
        log.info(
            "hh.ru session for %s saved: %d cookies, %d characters",
            self.host,
            len(session.cookies),
            len(payload),
        )

    def delete(self) -> None:
        """Forgets the session, every part of both slots included."""
        self.remove()

    def remove(self) -> bool:
        """:meth:`delete`, saying whether anything of the session was stored: parts
        a crash left without their index count too."""
        names = [self.index_name]
        names += [self._part_name(slot, n) for slot in SLOTS for n in range(MAX_PARTS)]
        found = [self._secrets.remove(name) for name in names]
        self._index = None
        return any(found)

    def _read_index(self) -> dict[str, Any] | None:
        try:
            raw = self._secrets.get(self.index_name)
            index = json.loads(raw) if raw else None
        except ValueError:
            return None
        return index if isinstance(index, dict) else None

    def _delete_parts(self, slot: str, count: int) -> None:
        for number in range(count):
            self._secrets.delete(self._part_name(slot, number))
