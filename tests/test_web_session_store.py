"""The website session in the keyring: the Windows 2560-byte limit per secret, parts
that switch in one write, and nothing lost or torn when a save fails halfway."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import keyring
import pytest
from keyring.errors import KeyringError

from tray_app.core.errors import SecretStoreError, SecretTooLarge
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import MAX_SECRET_BYTES, SecretStore, secret_size
from tray_app.storage.web_session import WebSession, WebSessionStore

from .conftest import in_ci

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class WindowsLikeKeyring(MemoryKeyring):
    """Refuses what Windows Credential Manager refuses (CRED_MAX_CREDENTIAL_BLOB_SIZE),
    and can be told to fail after some writes (a crash or a full keyring)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_after: int | None = None

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) > 2560:
            raise KeyringError("(1783, 'CredWrite', 'The stub received bad data.')")
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise KeyringError("simulated failure")
            self.fail_after -= 1
        super().set_password(service, username, password)

    def names(self) -> set[str]:
        return {name for (_service, name) in self._values}


def big_session(size: int = 6000) -> WebSession:
    """A browser jar of ``size`` characters: tokens plus many site cookies."""
    cookies = {"hhtoken": secrets.token_hex(16), "_xsrf": secrets.token_hex(16)}
    number = 0
    while len("; ".join(f"{k}={v}" for k, v in cookies.items())) < size:
        cookies[f"site_pref_{number}"] = secrets.token_urlsafe(60)
        number += 1
    return WebSession("hh.ru", cookies)


def test_the_secret_store_refuses_what_windows_would() -> None:
    store = SecretStore(MemoryKeyring())
    store.set("fits", "x" * (MAX_SECRET_BYTES // 2))
    with pytest.raises(SecretTooLarge, match="2562 bytes, more than the 2560"):
        store.set("too_big", "x" * (MAX_SECRET_BYTES // 2 + 1))
    assert secret_size("ж") == 2  # UTF-16: Cyrillic is one unit too


def test_a_small_session_is_one_entry() -> None:
    backend = WindowsLikeKeyring()
    store = WebSessionStore(SecretStore(backend), "hh.ru")
    session = WebSession("hh.ru", {"hhtoken": "T" * 32, "_xsrf": "X" * 32})
    store.save(session, NOW)
    assert backend.names() == {"web_session:hh.ru"}
    loaded = WebSessionStore(SecretStore(backend), "hh.ru").load()
    assert loaded is not None and dict(loaded.cookies) == dict(session.cookies)
    assert loaded.saved_at == NOW


def test_a_large_session_is_split_under_the_windows_limit_and_read_back() -> None:
    backend = WindowsLikeKeyring()
    session = big_session(6000)
    store = WebSessionStore(SecretStore(backend), "hh.ru")
    store.save(session, NOW)
    parts = sorted(n for n in backend.names() if n != "web_session:hh.ru")
    assert len(parts) >= 5, parts
    assert all(secret_size(v) <= MAX_SECRET_BYTES for v in backend._values.values())
    loaded = WebSessionStore(SecretStore(backend), "hh.ru").load()
    assert loaded is not None and dict(loaded.cookies) == dict(session.cookies)
    assert list(loaded.cookies) == list(session.cookies)  # the browser's order is kept


def _slots(names: set[str]) -> set[str]:
    """``a``/``b`` of the part entries (``web_session:hh.ru:a0``)."""
    return {n.rsplit(":", 1)[1][0] for n in names if n.count(":") == 2}


def test_saving_again_switches_slots_and_leaves_no_old_parts() -> None:
    backend = WindowsLikeKeyring()
    store = WebSessionStore(SecretStore(backend), "hh.ru")
    store.save(big_session(6000), NOW)
    assert _slots(backend.names()) == {"a"}
    store.save(big_session(3000), NOW)
    assert _slots(backend.names()) == {"b"}
    store.save(WebSession("hh.ru", {"hhtoken": "small"}), NOW)  # back to one entry
    assert backend.names() == {"web_session:hh.ru"}


def test_a_save_that_fails_halfway_keeps_the_previous_session() -> None:
    backend = WindowsLikeKeyring()
    old = big_session(6000)
    WebSessionStore(SecretStore(backend), "hh.ru").save(old, NOW)
    backend.fail_after = 2  # two parts of the new session are written, then the failure
    with pytest.raises(SecretStoreError, match="simulated failure"):
        WebSessionStore(SecretStore(backend), "hh.ru").save(big_session(6000), NOW)
    loaded = WebSessionStore(SecretStore(backend), "hh.ru").load()
    assert loaded is not None and dict(loaded.cookies) == dict(old.cookies)
    backend.fail_after = None
    newest = big_session(4000)
    WebSessionStore(SecretStore(backend), "hh.ru").save(newest, NOW)
    loaded = WebSessionStore(SecretStore(backend), "hh.ru").load()
    assert loaded is not None and dict(loaded.cookies) == dict(newest.cookies)


def test_a_torn_or_damaged_session_is_reported_not_used() -> None:
    backend = WindowsLikeKeyring()
    store = WebSessionStore(SecretStore(backend), "hh.ru")
    store.save(big_session(6000), NOW)
    part = next(n for n in backend.names() if n.endswith("a1"))
    backend.set_password("hh-raiser", part, "x" * 100)
    with pytest.raises(SecretStoreError, match="unreadable; import it again"):
        WebSessionStore(SecretStore(backend), "hh.ru").load()


def test_too_large_a_session_is_refused_with_its_size() -> None:
    store = WebSessionStore(SecretStore(WindowsLikeKeyring()), "hh.ru")
    with pytest.raises(SecretTooLarge, match="at most 14400 can be stored"):
        store.save(big_session(20_000), NOW)


def test_sessions_of_two_hosts_are_separate_and_delete_removes_every_part() -> None:
    backend = WindowsLikeKeyring()
    moscow = WebSessionStore(SecretStore(backend), "hh.ru")
    kazakhstan = WebSessionStore(SecretStore(backend), "hh.kz")
    moscow.save(big_session(6000), NOW)
    kazakhstan.save(WebSession("hh.kz", {"hhtoken": "KZTOKEN"}), NOW)
    moscow.delete()
    assert moscow.load() is None
    assert backend.names() == {"web_session:hh.kz"}


def test_repr_shows_names_never_values() -> None:
    session = WebSession("hh.ru", {"hhtoken": "SECRETVALUE123456"})
    assert "SECRETVALUE" not in repr(session) and "hhtoken" in repr(session)


def test_a_large_session_in_the_real_secret_service() -> None:
    """gnome-keyring under dbus-run-session (scripts/test): parts, switch, read back."""
    backend = keyring.get_keyring()
    if "SecretService" not in type(backend).__module__:
        if in_ci():
            pytest.fail("needs a Secret Service keyring; run scripts/test")
        pytest.skip("needs a Secret Service keyring; run scripts/test")
    service = f"hh-raiser-test-{secrets.token_hex(4)}"
    store = WebSessionStore(SecretStore(backend, service=service), "hh.ru")
    try:
        for size in (6000, 3000):
            session = big_session(size)
            store.save(session, NOW)
            loaded = WebSessionStore(SecretStore(backend, service=service), "hh.ru").load()
            assert loaded is not None and dict(loaded.cookies) == dict(session.cookies)
    finally:
        store.delete()
    assert WebSessionStore(SecretStore(backend, service=service), "hh.ru").load() is None
