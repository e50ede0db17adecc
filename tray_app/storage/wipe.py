"""Removing everything HH Raiser keeps for a user (``hh-raiser reset``, which the
Windows uninstaller runs): the secrets, then the app's own folders.

The secrets go first and the folders only if every secret went: the settings name
the account and the store, so a secret left in a locked keyring is never orphaned
silently. The OS keyrings cannot list their entries, so what HH Raiser stores is
enumerated, as ``secrets migrate`` does; a secrets file lists itself.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tray_app.core.errors import SecretStoreError
from tray_app.storage.paths import AppPaths
from tray_app.storage.secret_migration import NAMED_SECRETS
from tray_app.storage.secrets import SecretStore
from tray_app.storage.web_session import INDEX_PREFIX, KNOWN_HOSTS, WebSessionStore

log = logging.getLogger(__name__)


@dataclass
class SecretsRemoved:
    """What was removed (names and the hosts whose website session was), and the
    failure that stopped it, if one did (nothing after it was tried: a locked keyring
    would ask, or fail, once for every entry)."""

    names: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    failed: SecretStoreError | None = None


def remove_secrets(store: SecretStore, hosts: Iterable[str]) -> SecretsRemoved:
    """Every secret HH Raiser stores in ``store``: the named ones, the website
    session of ``hosts`` and of hh.ru's other sites, and whatever a listable store
    holds besides."""
    listed = store.names() or []
    listed_hosts = [
        n[len(INDEX_PREFIX) :]
        for n in listed
        if n.startswith(INDEX_PREFIX) and ":" not in n[len(INDEX_PREFIX) :]
    ]
    names = dict.fromkeys((*NAMED_SECRETS, *(n for n in listed if not n.startswith(INDEX_PREFIX))))
    all_hosts = dict.fromkeys((*hosts, *KNOWN_HOSTS, *listed_hosts))
    removed = SecretsRemoved()
    try:
        for name in names:
            if store.remove(name):
                removed.names.append(name)
        for host in all_hosts:
            if WebSessionStore(store, host).remove():
                removed.hosts.append(host)
        for name in store.names() or []:  # a part a crash left of a session
            store.remove(name)
    except SecretStoreError as exc:
        log.info("reset: a secret could not be removed: %s", exc)
        removed.failed = exc
    return removed


@dataclass
class FoldersRemoved:
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    """Files left on purpose (a key file the user keeps there, the held lock)."""
    failed: list[tuple[Path, str]] = field(default_factory=list)


def remove_folders(paths: AppPaths, keep: Iterable[Path] = ()) -> FoldersRemoved:
    """The app's own folders (:attr:`AppPaths.private_dirs`, never their parents),
    all but the files in ``keep`` and the folders that hold them. Symbolic links
    are removed, never followed."""
    kept = {Path(os.path.abspath(p)) for p in keep}
    result = FoldersRemoved()
    for folder in paths.private_dirs:
        folder = Path(os.path.abspath(folder))
        if not os.path.lexists(folder):
            continue
        inside = [p for p in kept if p.is_relative_to(folder)]
        try:
            if os.path.islink(folder) or not folder.is_dir():
                folder.unlink()
            elif not inside:
                shutil.rmtree(folder)
            else:
                _remove_all_but(folder, inside)
                result.kept.extend(p for p in inside if p.exists())
                if any(p.exists() for p in inside):
                    continue
        except OSError as exc:
            result.failed.append((folder, exc.strerror or str(exc)))
            continue
        result.removed.append(folder)
    return result


def _remove_all_but(folder: Path, keep: list[Path]) -> None:
    """Everything under ``folder`` except ``keep`` and the folders on their way."""
    for entry in list(folder.iterdir()):
        if entry in keep:
            continue
        if any(p.is_relative_to(entry) for p in keep) and entry.is_dir() and not entry.is_symlink():
            _remove_all_but(entry, keep)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
