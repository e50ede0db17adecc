"""The Telegram proxy: its address is a setting, its ``user:password`` a secret.

A proxy URL may carry credentials; they go to the keyring like every other secret,
so ``settings.json`` only ever holds ``scheme://host:port``.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from tray_app.storage.secrets import TELEGRAM_PROXY_AUTH, SecretStore
from tray_app.storage.settings import Settings, SettingsStore, validate


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without ``user:password@``, ``user:password`` as typed, or None)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), userinfo


def with_credentials(url: str, userinfo: str | None) -> str:
    if not url or not userinfo:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def store_proxy_credentials(url: str, secrets: SecretStore) -> str:
    """Validates the address; its credentials replace (or, when absent, remove) the
    stored ones. Returns the address, the ``telegram_proxy`` setting to write."""
    address, userinfo = split_credentials(url.strip())
    validate("telegram_proxy", address)  # nothing is written for a bad address
    if userinfo:
        secrets.set(TELEGRAM_PROXY_AUTH, userinfo)
    else:
        secrets.delete(TELEGRAM_PROXY_AUTH)
    return address


def save_telegram_proxy(url: str, store: SettingsStore, secrets: SecretStore) -> Settings:
    """Validates and saves the address, the credentials to the keyring."""
    return store.update(telegram_proxy=store_proxy_credentials(url, secrets))
