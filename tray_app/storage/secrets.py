"""Secrets in the OS keyring (service ``hh-raiser``), never in a plain file unless
the user chose one (:mod:`tray_app.storage.secret_choice` picks the backend).

The OAuth pair is stored as ONE keyring entry so that saving a rotated pair is a
single atomic write: a crash leaves the old pair or the new one, never a mix.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.compat import properties

from tray_app import APP_ID
from tray_app.core.errors import NoKeyringError, SecretStoreError, SecretTooLarge
from tray_app.core.models import TokenPair
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)

TOKENS = "oauth_tokens"
CLIENT_SECRET = "client_secret"
TELEGRAM_BOT_TOKEN = "telegram_bot_token"
TELEGRAM_PROXY_AUTH = "telegram_proxy_auth"  # user:password of telegram_proxy
MAX_SECRET_BYTES = 2560
"""Windows Credential Manager keeps at most 2560 bytes (UTF-16) per secret. Enforced
on every OS, so a value that would fail on Windows fails in tests here too."""


def secret_size(value: str) -> int:
    """Bytes the value takes in the smallest keyring (Windows stores UTF-16)."""
    return len(value.encode("utf-16-le"))


def check_backend(backend: KeyringBackend, *, allow_plain: bool = False) -> KeyringBackend:
    """Refuses backends that store nothing or store plain text. ``allow_plain`` lets
    HH Raiser's own plain file through, and only when the user chose it."""
    module = type(backend).__module__
    name = f"{module}.{type(backend).__name__}"
    if module.startswith("keyrings.alt") or "Plaintext" in name:
        raise NoKeyringError(f"refusing the plain-text keyring backend {name}")
    if getattr(backend, "plain_text", False) and not allow_plain:
        raise NoKeyringError(
            f"refusing the plain-text backend {name}: it is used only when chosen "
            "(HH_RAISER_SECRET_STORE=plain-file)"
        )
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        raise NoKeyringError(f"no usable keyring backend ({name})")
    inner = getattr(backend, "backends", None)
    if inner is not None and not inner:
        raise NoKeyringError("no usable keyring backend (empty chain)")
    return backend


class ExplicitKeyring(KeyringBackend):
    """A backend of ours that keyring must never pick by itself. keyring considers every
    loaded subclass it can build without arguments whose ``priority`` can be read, and
    takes the highest: on a machine without a keyring an in-memory one would win and
    every secret "stored" would be gone at exit. A priority that cannot be read makes a
    class not viable; ours are only ever passed explicitly."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("chosen only explicitly, never by keyring itself")


class MissingKeyring(ExplicitKeyring):
    """Stands in for a keyring that is missing, where nothing was ever set up (a fresh
    install): every read finds nothing, as an empty keyring would, so a command can say
    "not set up yet" rather than fail on the keyring; every write fails with the
    missing keyring's own error, so nothing is stored (and lost) anywhere else."""

    def __init__(self, missing: NoKeyringError) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.missing = missing

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        missing = self.missing  # the same words, the other stores' paths too
        raise NoKeyringError(str(missing), key_file=missing.key_file, plain_file=missing.plain_file)

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError(username)


class SecretStore:
    """Named secrets of this app in one keyring service."""

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        service: str = APP_ID,
        *,
        allow_plain: bool = False,
    ) -> None:
        self._backend = check_backend(backend or keyring.get_keyring(), allow_plain=allow_plain)
        self.service = service

    @property
    def backend(self) -> KeyringBackend:
        return self._backend

    def names(self) -> list[str] | None:
        """Every name stored, where the backend can list them (a secrets file); None
        for the OS keyrings, whose API cannot."""
        lister = getattr(self._backend, "names", None)
        return list(lister(self.service)) if callable(lister) else None

    @property
    def backend_name(self) -> str:
        return f"{type(self._backend).__module__}.{type(self._backend).__name__}"

    @property
    def missing(self) -> NoKeyringError | None:
        """Why there is no keyring, when an empty :class:`MissingKeyring` answers instead."""
        return self._backend.missing if isinstance(self._backend, MissingKeyring) else None

    def get(self, name: str) -> str | None:
        try:
            value = self._backend.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"keyring read of {name!r} failed: {exc}") from None
        redactor.register(value)
        return value

    def set(self, name: str, value: str) -> None:
        redactor.register(value)
        if secret_size(value) > MAX_SECRET_BYTES:
            raise SecretTooLarge(
                f"keyring write of {name!r} refused: {secret_size(value)} bytes, "
                f"more than the {MAX_SECRET_BYTES} bytes Windows allows"
            )
        try:
            self._backend.set_password(self.service, name, value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"keyring write of {name!r} failed: {exc}") from None

    def delete(self, name: str) -> None:
        self.remove(name)

    def remove(self, name: str) -> bool:
        """Deletes ``name``; whether it was there (``reset`` says what it removed)."""
        try:
            self._backend.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"keyring delete of {name!r} failed: {exc}") from None
        return True


class TokenStore:
    """The OAuth pair, with its expiry and whether hh.ru rejected it."""

    def __init__(self, secrets: SecretStore) -> None:
        self._secrets = secrets

    def load(self) -> TokenPair | None:
        raw = self._secrets.get(TOKENS)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            expires = data.get("expires_at")
            pair = TokenPair(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=datetime.fromisoformat(expires) if expires else None,
                rejected=bool(data.get("rejected", False)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SecretStoreError(
                "the stored OAuth tokens are unreadable; sign in again"
            ) from None
        redactor.register(pair.access_token, pair.refresh_token)
        return pair

    def save(self, pair: TokenPair) -> None:
        data = {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_at": pair.expires_at.isoformat() if pair.expires_at else None,
            "rejected": pair.rejected,
        }
        self._secrets.set(TOKENS, json.dumps(data))
