"""The keyring layer: refuses insecure backends, stores the pair as one entry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from keyring.backends import fail, null

from tray_app.core.errors import NoKeyringError, SecretStoreError
from tray_app.core.models import TokenPair
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import TOKENS, SecretStore, TokenStore, check_backend


def test_no_backend_and_null_backend_are_refused() -> None:
    with pytest.raises(NoKeyringError):
        check_backend(fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(NoKeyringError):
        check_backend(null.Keyring())  # type: ignore[no-untyped-call]


def test_plaintext_backends_are_refused() -> None:
    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    with pytest.raises(NoKeyringError):
        check_backend(PlaintextKeyring())


def test_token_pair_is_one_atomic_entry() -> None:
    backend = MemoryKeyring()
    store = TokenStore(SecretStore(backend, service="svc"))
    pair = TokenPair("AT1", "RT1", datetime(2026, 12, 11, tzinfo=UTC))
    store.save(pair)
    assert backend.writes == 1
    assert backend.get_password("svc", TOKENS) is not None
    assert store.load() == pair


def test_unreadable_pair_is_a_clear_error() -> None:
    backend = MemoryKeyring()
    backend.set_password("svc", TOKENS, "{garbage")
    with pytest.raises(SecretStoreError):
        TokenStore(SecretStore(backend, service="svc")).load()


def test_keyring_never_picks_a_backend_of_ours_by_itself() -> None:
    """On a machine without a keyring, keyring takes the highest-priority backend it can
    build among all loaded ones; ties go by the order of a set of classes, which shifts
    with the process's memory layout. Our in-memory backend (loaded by every command)
    tied with keyring's "fail" one and sometimes won: secrets "stored" were gone at
    exit. The environment's size moves the layout, so several runs try several."""
    probe = (
        "import tray_app.storage.memory_keyring, tray_app.storage.file_secrets, keyring;"
        "print(type(keyring.get_keyring()).__module__)"
    )
    bare = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
    }
    chosen = set()
    for padding in range(0, 3000, 150):
        found = subprocess.run(
            [sys.executable, "-c", probe],
            env={**bare, "PADDING": "x" * padding},
            capture_output=True,
            text=True,
            timeout=60,
        )
        chosen.add(found.stdout.strip() or found.stderr[-300:])
    assert chosen == {"keyring.backends.fail"}
