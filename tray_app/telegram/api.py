"""A small Telegram Bot API client: ``getMe``, ``getUpdates``, ``sendMessage``.

Errors are classified on ``error_code`` and ``parameters``, never on the description
text (the Bot API reference, core.telegram.org/bots/api). The bot token is part of every
URL, so no URL, and no exception text of ``requests`` (which quotes URLs), ever leaves
this module unredacted: our errors carry the method name only, and are raised ``from
None``.

There is deliberately no retry layer here: the notifier and the command poller each
decide when to try again, honouring ``retry_after``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from tray_app.core.clock import parse_http_date
from tray_app.core.errors import (
    BotBlocked,
    BotTokenInvalid,
    ChatNotFound,
    ConfigError,
    TelegramConflict,
    TelegramError,
    TelegramRejected,
    TelegramRetryAfter,
    TelegramUnavailable,
)
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MESSAGE_LIMIT = 4096  # characters after entity parsing; we count the raw HTML


@dataclass(frozen=True)
class BotConfig:
    """Where and how to reach the bot. ``proxy`` empty means the system's proxies."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    proxy: str = field(default="", repr=False)  # may hold user:password


@dataclass(frozen=True)
class UpdateBatch:
    """What one ``getUpdates`` returned, and when by Telegram's clock (the answer's
    ``Date`` header; None if it had none): the "now" that says how old a message is,
    whatever the local clock says."""

    updates: list[dict[str, Any]]
    server_time: datetime | None


def _classify(method: str, status: int, payload: dict[str, Any]) -> TelegramError:
    code = payload.get("error_code", status)
    description = str(payload.get("description", ""))[:200]
    parameters = payload.get("parameters") or {}
    text = f"Telegram {method}: {code} {description}".strip()
    if code == 429 or "retry_after" in parameters:
        try:
            retry_after = float(parameters.get("retry_after", 1))
        except (TypeError, ValueError):
            retry_after = 1.0
        return TelegramRetryAfter(text, retry_after=max(retry_after, 0.0))
    if code in (401, 404):  # 404: a malformed token makes every method "Not Found"
        return BotTokenInvalid(text, error_code=code)
    if code == 403:
        return BotBlocked(text, error_code=code)
    if code == 409:
        return TelegramConflict(text, error_code=code)
    if isinstance(code, int) and code >= 500:
        return TelegramUnavailable(text, error_code=code)
    # 400 means both "chat not found" and "this message is malformed"; the caller
    # tells them apart with getChat (see BotApi.explain_rejection), not by wording
    return TelegramRejected(text, error_code=code if isinstance(code, int) else status)


class BotApi:
    """One bot, one HTTP session. Thread-safe enough for one caller per instance."""

    def __init__(
        self,
        config: BotConfig,
        *,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        redactor.register(config.token)
        self.config = config
        self._timeout = timeout
        self._session = requests.Session()  # honours HTTP(S)_PROXY unless a proxy is set
        base = config.api_url.rstrip("/")
        self._base = f"{base}/bot{config.token}"

    def call(
        self, method: str, params: dict[str, Any], *, read_timeout: float | None = None
    ) -> Any:
        """The ``result`` of a successful call; a :class:`TelegramError` otherwise."""
        return self._call(method, params, read_timeout)[0]

    def _call(
        self, method: str, params: dict[str, Any], read_timeout: float | None
    ) -> tuple[Any, datetime | None]:
        """:meth:`call`, with Telegram's time from the answer's ``Date`` header."""
        timeout = (self._timeout[0], read_timeout or self._timeout[1])
        proxies = (
            {"http": self.config.proxy, "https": self.config.proxy} if self.config.proxy else None
        )
        try:
            response = self._session.post(
                f"{self._base}/{method}", json=params, timeout=timeout, proxies=proxies
            )
        except requests.exceptions.InvalidSchema as exc:  # socks without PySocks
            raise ConfigError(f"telegram_proxy: {redactor(str(exc))}") from None
        except requests.Timeout:
            raise TelegramUnavailable(f"Telegram {method}: no answer in time") from None
        except requests.RequestException as exc:
            log.debug("Telegram %s: %s", method, redactor(str(exc)))
            raise TelegramUnavailable(f"Telegram {method}: {_network_reason(exc)}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise TelegramUnavailable(
                f"Telegram {method}: HTTP {response.status_code}, not a Bot API answer",
                error_code=response.status_code,
            )
        if payload.get("ok") is True:
            return payload.get("result"), parse_http_date(response.headers.get("Date"))
        raise _classify(method, response.status_code, payload)

    def get_me(self) -> dict[str, Any]:
        result = self.call("getMe", {})
        if not isinstance(result, dict):
            raise TelegramUnavailable("Telegram getMe: unexpected answer")
        return result

    def get_updates(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        """Long polling: waits up to ``timeout`` seconds for updates from ``offset``."""
        return self.poll(offset, timeout).updates

    def poll(self, offset: int | None, timeout: float) -> UpdateBatch:
        """:meth:`get_updates` with the time Telegram handed them over."""
        params: dict[str, Any] = {"timeout": int(timeout), "allowed_updates": ["message"]}
        if offset is not None:
            params["offset"] = offset
        result, server_time = self._call("getUpdates", params, timeout + self._timeout[1])
        if not isinstance(result, list):
            raise TelegramUnavailable("Telegram getUpdates: unexpected answer")
        updates = [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        return UpdateBatch(updates, server_time)

    def send_message(self, chat_id: str, html: str, *, silent: bool = False) -> None:
        self.call(
            "sendMessage",
            {
                "chat_id": int(chat_id),
                "text": html,
                "parse_mode": "HTML",
                "disable_notification": silent,
                "link_preview_options": {"is_disabled": True},
            },
        )

    def get_chat(self, chat_id: str) -> dict[str, Any]:
        result = self.call("getChat", {"chat_id": int(chat_id)})
        if not isinstance(result, dict):
            raise TelegramUnavailable("Telegram getChat: unexpected answer")
        return result

    def explain_rejection(self, chat_id: str, rejection: TelegramRejected) -> TelegramError:
        """After a 400 on sendMessage: ChatNotFound if the chat is the problem, else the
        rejection itself (the message was at fault, the chat is fine)."""
        try:
            self.get_chat(chat_id)
        except TelegramRejected as exc:
            return ChatNotFound(str(exc), error_code=exc.error_code)
        return rejection

    def close(self) -> None:
        self._session.close()


def _network_reason(exc: requests.RequestException) -> str:
    """A short, URL-free reason: the exception's class says enough."""
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    return type(exc).__name__


class BotApiCache:
    """One :class:`BotApi` per worker thread, replaced when the configuration changes
    (a requests session is not shared between threads)."""

    def __init__(self) -> None:
        self._api: BotApi | None = None

    def get(self, config: BotConfig) -> BotApi:
        if self._api is None or self._api.config != config:
            self.close()
            self._api = BotApi(config)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
