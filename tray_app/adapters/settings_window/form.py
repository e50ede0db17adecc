"""What the settings window edits, checks and saves, without any widget.

Every field is validated by the same converters as ``config set`` before anything
is written; secrets go to the keyring (an empty secret field keeps the stored
value), settings to the settings file, and the running instance is told at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from tray_app.adapters.usecases import InstanceReply, tell_instance
from tray_app.core.errors import ConfigError
from tray_app.core.models import TokenPair
from tray_app.i18n import DEFAULT_LANGUAGE, t
from tray_app.i18n.text import config_error_text
from tray_app.storage.paths import AppPaths
from tray_app.storage.proxy import split_credentials, store_proxy_credentials
from tray_app.storage.secrets import CLIENT_SECRET, TELEGRAM_BOT_TOKEN, SecretStore, TokenStore
from tray_app.storage.settings import SettingsStore, to_text, validate

log = logging.getLogger(__name__)

SETTING_FIELDS = (
    "transport",
    "web_host",
    "client_id",
    "contact_email",
    "telegram_chat_id",
    "telegram_proxy",
    "telegram_commands",
    "notify_level",
    "digest_time",
    "margin_seconds",
    "jitter_seconds",
    "anchor_time",
    "active_hours",
    "language",
    "check_for_updates",
)
SECRET_FIELDS = {
    "client_secret": CLIENT_SECRET,
    "telegram_bot_token": TELEGRAM_BOT_TOKEN,
}
TOKEN_FIELDS = ("access_token", "refresh_token")


@dataclass(frozen=True)
class Saved:
    settings_changed: bool
    credentials_changed: bool
    instance_told: bool


class SettingsForm:
    def __init__(self, paths: AppPaths, secrets: SecretStore) -> None:
        self.paths = paths
        self.secrets = secrets
        self.store = SettingsStore(paths.settings_file)
        # (chat, user) that sent the setup code in this window ("Find my chat"); the
        # user is no field of its own: it is saved with the chat, see telegram_user
        self.confirmed: tuple[str, str] | None = None
        self._shown: dict[str, str] | None = None  # what initial() gave the window

    def initial(self) -> dict[str, str]:
        """Current values as text; secret fields start empty (empty keeps them)."""
        settings = self.store.load()
        values = {key: to_text(getattr(settings, key)) for key in SETTING_FIELDS}
        values.update(dict.fromkeys((*SECRET_FIELDS, *TOKEN_FIELDS), ""))
        self._shown = dict(values)
        return values

    def stored_secrets(self) -> dict[str, bool]:
        """Which secrets exist, so the window can say "saved" instead of showing them."""
        present = {field: bool(self.secrets.get(name)) for field, name in SECRET_FIELDS.items()}
        present["tokens"] = TokenStore(self.secrets).load() is not None
        return present

    def validate(
        self, values: Mapping[str, str], language: str = DEFAULT_LANGUAGE
    ) -> dict[str, str]:
        """Field -> what is wrong with it, in ``language``; empty when everything can
        be saved."""
        errors: dict[str, str] = {}
        for key in SETTING_FIELDS:
            value = values.get(key, "")
            if key == "telegram_proxy":
                value = split_credentials(value.strip())[0]
            try:
                validate(key, value)
            except ConfigError as exc:
                errors[key] = config_error_text(exc, language)
        access, refresh = (values.get(k, "").strip() for k in TOKEN_FIELDS)
        if bool(access) != bool(refresh):
            errors["refresh_token" if access else "access_token"] = t(
                "invalid.both_tokens", language
            )
        for key in (*SECRET_FIELDS, *TOKEN_FIELDS):
            if any(ch.isspace() for ch in values.get(key, "").strip()):
                errors[key] = t("invalid.spaces", language)
        return errors

    def telegram_user(self, chat_id: str) -> str:
        """Who may command the chat about to be saved (``telegram_user_id``): the user
        who confirmed that chat in this window; for a group typed in, that user or the
        one who confirmed the stored setup (the owner of this computer chose the
        group); the stored user while the chat stays; else nobody (a private chat's
        own user is implied)."""
        chat_id = chat_id.strip()
        stored = self.store.load()
        if self.confirmed is not None and self.confirmed[0] == chat_id:
            return self.confirmed[1]
        if chat_id == stored.telegram_chat_id:
            return stored.telegram_user_id
        if chat_id.startswith("-"):
            return self.confirmed[1] if self.confirmed is not None else stored.telegram_user_id
        return ""

    def save(self, values: Mapping[str, str]) -> Saved:
        """Validates (ConfigError names the first bad field), writes, tells the instance."""
        errors = self.validate(values, "en")  # the window has shown them in the user's words
        if errors:
            key, problem = next(iter(errors.items()))
            raise ConfigError(f"{key}: {problem}")
        # What the user changed is what differs from what the window showed, not from
        # the file now: a setting another process changed meanwhile (config set, a
        # Telegram /pause) and the user left alone is not written back.
        current = self._shown if self._shown is not None else self.initial()
        changes: dict[str, str] = {}
        for key in SETTING_FIELDS:
            value = values.get(key, "").strip()
            if key == "telegram_proxy":
                if value != current[key] or split_credentials(value)[1]:
                    changes[key] = store_proxy_credentials(value, self.secrets)
            elif value != current[key]:
                changes[key] = value
        user = self.telegram_user(values.get("telegram_chat_id", ""))
        if user != self.store.load().telegram_user_id:
            changes["telegram_user_id"] = user
        if changes:
            written = self.store.update(**changes)
            shown = {key: to_text(getattr(written, key)) for key in changes}
            self._shown = {**current, **shown}
        settings_changed = bool(changes)
        credentials_changed = False
        for field, name in SECRET_FIELDS.items():
            secret = values.get(field, "").strip()
            if secret:
                self.secrets.set(name, secret)
                credentials_changed = True
        access, refresh = (values.get(k, "").strip() for k in TOKEN_FIELDS)
        if access and refresh:
            TokenStore(self.secrets).save(TokenPair(access, refresh))
            credentials_changed = True
        told = self._tell_instance(settings_changed, credentials_changed)
        return Saved(settings_changed, credentials_changed, told)

    def _tell_instance(self, settings_changed: bool, credentials_changed: bool) -> bool:
        """Whether a running instance applied the change at once."""
        wanted = [("settings", settings_changed), ("credentials", credentials_changed)]
        for what in (what for what, changed in wanted if changed):
            told = tell_instance(self.paths, what)
            if told.reply == InstanceReply.FAILED:
                log.error("saved, but the running instance could not be told: %s", told.detail)
            if told.reply != InstanceReply.APPLIED:
                return False
        return settings_changed or credentials_changed
