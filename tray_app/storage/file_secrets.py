"""Secrets in a file, for machines without an OS keyring (a server, a container).

Two ``keyring`` backends, so :class:`~tray_app.storage.secrets.SecretStore`, the
token and website-session stores work on them unchanged:

- :class:`EncryptedFileKeyring`: ``secrets.enc``, AES-256-GCM with a 32-byte random
  key kept elsewhere (a file only the user reads, a systemd credential, a Docker
  secret). The key is random, not a password, so no key derivation is needed: a
  read costs microseconds, which matters as the tokens are read for every request.
- :class:`PlainFileKeyring`: ``secrets.json``, plain text, only when the user chose
  it (``check_backend`` refuses it otherwise).

Both are written whole, atomically (a crash leaves the old file or the new one),
under an OS file lock, re-reading the file inside it, so two processes (the running
instance rotating tokens, ``import-env``) never undo each other's write. A file that
cannot be read (a wrong key, damage, a newer format) is an error naming the file and
is never overwritten: a write reads the file first and stops there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from keyring.errors import PasswordDeleteError

from tray_app.core.errors import SecretFileUnreadable, SecretKeyUnusable, SecretStoreError
from tray_app.storage.atomic import write_atomic
from tray_app.storage.privacy import OWNER_ONLY
from tray_app.storage.secrets import ExplicitKeyring

FORMAT = "hh-raiser-secrets"
VERSION = 1
CIPHER = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12  # GCM's standard nonce; random per write (2^-32 collision bound
# after 2^32 writes with one key: far beyond a token rotated every two weeks)
MAX_FILE_BYTES = 10_000_000  # a store holds a few KB (a website session is at most ~15 KB)
MAX_KEY_FILE_BYTES = 4096
LOCK_TIMEOUT = 10.0  # s a write waits for another process's; a write takes milliseconds

Entries = dict[str, dict[str, str]]
"""service -> name -> secret."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_key_text() -> str:
    """A fresh key as base64 text (44 characters): it can be kept in a password
    manager or passed as a Docker or systemd secret."""
    return base64.b64encode(new_key()).decode("ascii")


def write_new_key(path: Path) -> None:
    """A fresh key in a new file, 0600. Never overwrites: a key replaced is every
    secret encrypted with it lost."""
    path.parent.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_key_text() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_key(path: Path) -> bytes:
    """The key in ``path``: base64 text as :func:`write_new_key` writes it, or the 32
    raw bytes (``head -c 32 /dev/urandom``)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SecretKeyUnusable(str(path), "missing") from None
    except OSError as exc:
        raise SecretKeyUnusable(str(path), "os", exc.strerror or str(exc)) from None
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretKeyUnusable(
            str(path), "format", f"{len(data)} bytes, not {KEY_BYTES} random bytes in base64"
        )
    return key


def key_id(key: bytes) -> str:
    """Names a key in the file's header, so a wrong key is told apart from damage;
    a hash of a 256-bit random key says nothing about it."""
    return hashlib.sha256(b"hh-raiser secrets key id\0" + key).hexdigest()[:16]


class _FileKeyring(ExplicitKeyring):
    """The file, its lock, and the keyring API over a dict of entries; chosen only with
    HH_RAISER_SECRET_STORE or secret_store."""

    plain_text = False
    kind = ""  # what the file is called in messages

    def __init__(self, path: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    # ---- the keyring API ----------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        return self.read().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            entries = self.read()
            entries.setdefault(service, {})[username] = password
            self._write(entries)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            entries = self.read()
            names = entries.get(service, {})
            if username not in names:
                raise PasswordDeleteError(username)
            del names[username]
            if not names:
                del entries[service]
            self._write(entries)

    def names(self, service: str) -> list[str]:
        """Every name stored for ``service`` (the OS keyrings cannot list; a file can)."""
        return sorted(self.read().get(service, {}))

    # ---- the file ------------------------------------------------------------------

    def check(self) -> None:
        """Reads the file once: a wrong key or damage is said at start, not mid-run."""
        self.read()

    def read(self) -> Entries:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretFileUnreadable(str(self.path), "os", exc.strerror or str(exc)) from None
        if len(data) > MAX_FILE_BYTES:
            raise self._damaged(f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
        try:
            header = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            raise self._damaged("not JSON") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self._damaged(f"not an HH Raiser {self.kind} secrets file")
        version = header.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise SecretFileUnreadable(
                str(self.path), "newer", f"format version {version}; this HH Raiser reads {VERSION}"
            )
        if version != VERSION:
            raise self._damaged(f"format version {version!r}")
        return _entries(self._decode(header), self)

    def _write(self, entries: Entries) -> None:
        write_atomic(self.path, json.dumps(self._encode(entries), indent=1) + "\n")

    def _decode(self, header: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _encode(self, entries: Entries) -> dict[str, Any]:
        raise NotImplementedError

    def _damaged(self, why: str) -> SecretFileUnreadable:
        return SecretFileUnreadable(str(self.path), "damaged", why)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.lock_path), mode=0o600)
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except filelock.Timeout:
            raise SecretStoreError(
                f"{self.path}: another process has held {self.lock_path.name} for "
                f"{LOCK_TIMEOUT:g} s; nothing was written, try again"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def _entries(value: Any, backend: _FileKeyring) -> Entries:
    """The decoded content, checked to be service -> name -> text."""
    if not isinstance(value, dict) or not all(
        isinstance(names, dict) and all(isinstance(v, str) for v in names.values())
        for names in value.values()
    ):
        raise backend._damaged("unexpected content")
    return {str(service): dict(names) for service, names in value.items()}


class EncryptedFileKeyring(_FileKeyring):
    """``secrets.enc``: a JSON header (format, version, cipher, key id) and the
    entries as AES-256-GCM ciphertext, the header bound to it as associated data, a
    new random nonce for every write."""

    kind = "encrypted"

    def __init__(self, path: Path, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the key must be {KEY_BYTES} bytes")
        super().__init__(path)
        self._aead = AESGCM(key)
        self.key_id = key_id(key)

    def _header(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "cipher": CIPHER, "key_id": self.key_id}

    def _decode(self, header: dict[str, Any]) -> Any:
        if header.get("cipher") != CIPHER:
            raise self._damaged(f"cipher {header.get('cipher')!r}")
        if header.get("key_id") != self.key_id:
            raise SecretFileUnreadable(
                str(self.path),
                "wrong_key",
                f"encrypted with key {header.get('key_id')!r}, this key is {self.key_id!r}",
            )
        try:
            nonce = base64.b64decode(str(header["nonce"]), validate=True)
            sealed = base64.b64decode(str(header["data"]), validate=True)
            plain = self._aead.decrypt(nonce, sealed, _associated(self._header()))
            return json.loads(plain.decode("utf-8"))
        except (KeyError, binascii.Error, ValueError, RecursionError):
            raise self._damaged("unreadable content") from None
        except InvalidTag:
            raise self._damaged("it fails its integrity check: changed or cut short") from None

    def _encode(self, entries: Entries) -> dict[str, Any]:
        header = self._header()
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sealed = self._aead.encrypt(nonce, plain, _associated(header))
        return {
            **header,
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "data": base64.b64encode(sealed).decode("ascii"),
        }


def _associated(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


class PlainFileKeyring(_FileKeyring):
    """``secrets.json``, 0600, plain text: what the user opted into, said in the file too."""

    plain_text = True
    kind = "plain-text"

    def _decode(self, header: dict[str, Any]) -> Any:
        return header.get("secrets")

    def _encode(self, entries: Entries) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "warning": "plain text, chosen with HH_RAISER_SECRET_STORE=plain-file "
            "or the secret_store setting; anyone who can read this file has the accounts",
            "secrets": entries,
        }
