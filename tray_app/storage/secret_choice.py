"""Which secret store is in use: the one place that decides (wiring, the CLI, self-check
and the settings window all come here).

The user chooses, never this code: ``HH_RAISER_SECRET_STORE`` (``keyring``,
``encrypted-file``, ``plain-file``), else the setting ``secret_store``, else the OS
keyring. A machine without a keyring gets an error naming every option with its
command, not a silent fallback to a file.

The encrypted file's key is read from, in order: the file ``HH_RAISER_SECRETS_KEY_FILE``
names; ``$CREDENTIALS_DIRECTORY/hh-raiser-secrets-key`` (systemd's ``LoadCredential=``
or ``LoadCredentialEncrypted=``); ``/run/secrets/hh-raiser-secrets-key`` (a Docker
secret).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend

from tray_app.core.errors import ConfigError, NoKeyringError, SecretKeyMissing, SecretKeyUnusable
from tray_app.core.models import StoreKind
from tray_app.storage.file_secrets import EncryptedFileKeyring, PlainFileKeyring, read_key
from tray_app.storage.paths import AppPaths
from tray_app.storage.secrets import SecretStore
from tray_app.storage.settings import Settings

log = logging.getLogger(__name__)

STORE_ENV = "HH_RAISER_SECRET_STORE"
KEY_FILE_ENV = "HH_RAISER_SECRETS_KEY_FILE"
CREDENTIALS_DIR_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for a unit with credentials
KEY_NAME = "hh-raiser-secrets-key"  # the credential's and the Docker secret's name
DOCKER_SECRETS = Path("/run/secrets")
ENCRYPTED_FILE = "secrets.enc"
PLAIN_FILE = "secrets.json"
SUGGESTED_KEY_FILE = "secrets.key"  # in the config folder: what the messages suggest


class ChosenBy(StrEnum):
    ENVIRONMENT = "environment"
    SETTING = "setting"
    DEFAULT = "default"


class KeyFrom(StrEnum):
    KEY_FILE = "key_file"  # HH_RAISER_SECRETS_KEY_FILE
    SYSTEMD = "systemd"
    DOCKER = "docker"


@dataclass(frozen=True)
class KeySource:
    origin: KeyFrom
    path: Path


@dataclass(frozen=True)
class StoreInfo:
    """What ``secrets status`` and ``self-check`` say about the store in use."""

    kind: StoreKind
    chosen_by: ChosenBy
    where: str  # the keyring backend's name, or the file
    key: KeySource | None = None
    key_exposed: bool = False  # the key file can be read by other users

    @property
    def safe(self) -> bool:
        return self.kind != StoreKind.PLAIN_FILE and not self.key_exposed

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "chosen_by": self.chosen_by.value,
            "where": self.where,
            "key_from": self.key.origin.value if self.key else None,
            "key_file": str(self.key.path) if self.key else None,
            "key_exposed": self.key_exposed,
            "safe": self.safe,
        }


def encrypted_file(paths: AppPaths) -> Path:
    return paths.data_dir / ENCRYPTED_FILE


def plain_file(paths: AppPaths) -> Path:
    return paths.data_dir / PLAIN_FILE


def suggested_key_file(paths: AppPaths) -> Path:
    return paths.config_dir / SUGGESTED_KEY_FILE


def parse_kind(text: str, where: str) -> StoreKind:
    try:
        return StoreKind(text.strip().lower())
    except ValueError:
        raise ConfigError(
            f"{where}: expected one of: {', '.join(StoreKind)} (got {text!r})"
        ) from None


def chosen_store(environ: Mapping[str, str], settings: Settings) -> tuple[StoreKind, ChosenBy]:
    """The environment's choice, else the setting's (a non-default value), else the keyring."""
    from_env = environ.get(STORE_ENV, "").strip()
    if from_env:
        return parse_kind(from_env, STORE_ENV), ChosenBy.ENVIRONMENT
    if settings.secret_store != StoreKind.KEYRING:
        return settings.secret_store, ChosenBy.SETTING
    return StoreKind.KEYRING, ChosenBy.DEFAULT


def key_candidates(
    environ: Mapping[str, str], docker_secrets: Path = DOCKER_SECRETS
) -> list[KeySource]:
    """Where the key may be, in the order it is looked for."""
    found = []
    if environ.get(KEY_FILE_ENV):
        found.append(KeySource(KeyFrom.KEY_FILE, Path(environ[KEY_FILE_ENV]).expanduser()))
    if environ.get(CREDENTIALS_DIR_ENV):
        found.append(KeySource(KeyFrom.SYSTEMD, Path(environ[CREDENTIALS_DIR_ENV]) / KEY_NAME))
    found.append(KeySource(KeyFrom.DOCKER, docker_secrets / KEY_NAME))
    return found


def find_key(environ: Mapping[str, str], docker_secrets: Path = DOCKER_SECRETS) -> KeySource:
    """The first place that has a key file. The file the variable names is used even
    when missing (the error then names it): the user pointed at it on purpose."""
    candidates = key_candidates(environ, docker_secrets)
    if candidates[0].origin == KeyFrom.KEY_FILE:
        return candidates[0]
    for candidate in candidates:
        if candidate.path.is_file():
            return candidate
    raise SecretKeyMissing(tuple(str(c.path) for c in candidates))


def _exposed(source: KeySource, docker_secrets: Path = DOCKER_SECRETS) -> bool:
    """A key file others may read (POSIX): the encrypted file is only as private as
    it. A Docker secret is the container's alone, whatever its mode (Compose mounts
    the host's file as it is, often 0644 so the container's user can read it)."""
    if os.name != "posix" or source.path.is_relative_to(docker_secrets):
        return False
    try:
        return bool(stat.S_IMODE(source.path.stat().st_mode) & 0o077)
    except OSError:
        return False


def open_store(
    kind: StoreKind,
    paths: AppPaths,
    environ: Mapping[str, str],
    keyring_backend: KeyringBackend | None = None,
    *,
    chosen_by: ChosenBy = ChosenBy.ENVIRONMENT,
    docker_secrets: Path = DOCKER_SECRETS,
) -> tuple[SecretStore, StoreInfo]:
    """Opens the store ``kind`` and reads it once, so a missing key, a wrong one or a
    damaged file is an error now (naming the file and what to do), not mid-run.
    ``keyring_backend`` replaces the OS keyring (tests, the demo's memory keyring)."""
    service = paths.keyring_service
    if kind == StoreKind.ENCRYPTED_FILE:
        try:
            source = find_key(environ, docker_secrets)
        except SecretKeyMissing as exc:
            raise SecretKeyMissing(exc.looked, str(suggested_key_file(paths))) from None
        try:
            key = read_key(source.path)
        except SecretKeyUnusable as exc:
            if exc.problem == "missing" and source.path.is_relative_to(docker_secrets):
                # a container's read-only mount: the fix is the secret, not new-key there
                raise SecretKeyUnusable(exc.path, "docker_missing") from None
            raise
        backend = EncryptedFileKeyring(encrypted_file(paths), key)
        backend.check()
        exposed = _exposed(source, docker_secrets)
        info = StoreInfo(kind, chosen_by, str(backend.path), source, exposed)
        if info.key_exposed:
            log.warning("the key file %s can be read by other users: chmod 600 it", source.path)
        return SecretStore(backend, service), info
    if kind == StoreKind.PLAIN_FILE:
        plain = PlainFileKeyring(plain_file(paths))
        plain.check()
        log.warning(
            "secrets are kept in plain text in %s, as chosen (%s); anyone who can read "
            "it has the accounts: hh-raiser secrets migrate --to encrypted-file",
            plain.path,
            STORE_ENV if chosen_by == ChosenBy.ENVIRONMENT else "the secret_store setting",
        )
        return SecretStore(plain, service, allow_plain=True), StoreInfo(
            kind, chosen_by, str(plain.path)
        )
    try:
        secrets = SecretStore(keyring_backend, service)
    except NoKeyringError as exc:  # the message names the other stores, with these paths
        raise NoKeyringError(
            str(exc),
            key_file=str(suggested_key_file(paths)),
            plain_file=str(plain_file(paths)),
        ) from None
    return secrets, StoreInfo(kind, chosen_by, secrets.backend_name)


def open_chosen(
    paths: AppPaths,
    environ: Mapping[str, str],
    settings: Settings,
    keyring_backend: KeyringBackend | None = None,
) -> tuple[SecretStore, StoreInfo]:
    """The store the user chose (see the module's text)."""
    kind, chosen_by = chosen_store(environ, settings)
    return open_store(kind, paths, environ, keyring_backend, chosen_by=chosen_by)
