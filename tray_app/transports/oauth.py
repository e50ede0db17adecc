"""OAuth 2.0 with hh.ru: code exchange, refresh, and the token lifecycle.

A refresh token works once, and only after the access token expired; both tokens
change on every refresh. So :class:`TokenManager` refreshes one thread at a time,
never sends a refresh token the server already answered, and writes the new pair to
the keyring before anything else happens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import (
    ConnectionFailed,
    InvalidResponse,
    RefreshTooEarly,
    SignInNeeded,
    UnexpectedResponse,
)
from tray_app.core.faults import crash_point
from tray_app.core.models import TokenPair
from tray_app.core.redact import redactor
from tray_app.storage.secrets import TokenStore
from tray_app.transports.hh_errors import json_body, raise_for_api_error, request_id_of
from tray_app.transports.http import HttpClient

log = logging.getLogger(__name__)


class OAuthClient:
    """Talks to ``{API}/token``, falling back to the deprecated ``{OAUTH}/oauth/token``."""

    def __init__(self, api: HttpClient, oauth: HttpClient, server_clock: ServerClock, clock: Clock):
        self._endpoints = ((api, "/token"), (oauth, "/oauth/token"))
        self._server_clock = server_clock
        self._clock = clock

    def exchange_code(
        self, code: str, *, client_id: str, client_secret: str, redirect_uri: str
    ) -> TokenPair:
        redactor.register(code, client_secret)
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            }
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token_request(self, form: dict[str, str]) -> TokenPair:
        """Posts to the first endpoint; the fallback only when the first one certainly
        did not process the request (no connection, or no such endpoint)."""
        last_error: Exception | None = None
        for client, path in self._endpoints:
            try:
                response = client.request("POST", path, data=form)
            except ConnectionFailed as exc:
                if exc.reached_server:
                    raise
                last_error = exc
                continue
            if response.status_code in (404, 405, 501):
                last_error = UnexpectedResponse(
                    f"{path}: HTTP {response.status_code}", status=response.status_code
                )
                continue
            return self._parse(response, path)
        assert last_error is not None
        raise last_error

    def _parse(self, response: Any, path: str) -> TokenPair:
        body = json_body(response)
        request_id = request_id_of(response, body)
        if response.status_code == 200 and isinstance(body, dict):
            try:
                access, refresh = str(body["access_token"]), str(body["refresh_token"])
            except KeyError:
                raise InvalidResponse(f"{path}: token answer without tokens") from None
            redactor.register(access, refresh)
            expires_in = body.get("expires_in")
            expires_at = None
            if isinstance(expires_in, int | float):
                expires_at = self._server_clock.to_server(self._clock.now()) + timedelta(
                    seconds=float(expires_in)
                )
            return TokenPair(access, refresh, expires_at)
        if response.status_code == 400 and isinstance(body, dict) and "error" in body:
            error = str(body.get("error"))
            description = str(body.get("error_description") or "")
            log.info("%s: %s (%s) request_id=%s", path, error, description, request_id)
            if error == "invalid_grant" and "not expired" in description:
                raise RefreshTooEarly(
                    f"{path}: token not expired", status=400, request_id=request_id
                )
            raise SignInNeeded(
                f"{path}: {error}: {description}".strip(": "), status=400, request_id=request_id
            )
        raise_for_api_error(response, f"POST {path}")
        raise InvalidResponse(f"{path}: unexpected token answer", status=response.status_code)


TokenListener = Callable[[TokenPair], None]
EXPIRY_GRACE = timedelta(seconds=5)
"""Our expiry estimate can run a second ahead of hh.ru's; refreshing early is refused
("token not expired"), so the tracked expiry is trusted only this much after it passed.
Inside the grace a request with the old token gets 403 ``token_expired`` and is
refreshed then."""


class TokenManager:
    """Hands out a valid access token; refreshes it when, and only when, it expired."""

    def __init__(
        self,
        store: TokenStore,
        oauth: OAuthClient,
        server_clock: ServerClock,
        clock: Clock,
        on_refreshed: TokenListener | None = None,
    ) -> None:
        self._store = store
        self._oauth = oauth
        self._server_clock = server_clock
        self._clock = clock
        self._lock = threading.Lock()
        self._on_refreshed = on_refreshed

    def _load(self) -> TokenPair:
        pair = self._store.load()
        if pair is None:
            raise SignInNeeded("no hh.ru tokens; sign in first")
        if pair.rejected:
            raise SignInNeeded("hh.ru rejected the stored tokens; sign in again")
        return pair

    def access_token(self) -> str:
        """The stored access token, refreshed first if its tracked expiry passed."""
        pair = self._load()
        if pair.expires_at is not None:
            server_now = self._server_clock.to_server(self._clock.now())
            if server_now >= pair.expires_at + EXPIRY_GRACE:
                return self.refresh(pair.access_token)
        return pair.access_token

    def refresh(self, stale_access_token: str) -> str:
        """Replaces the pair whose access token is ``stale_access_token``.

        If another thread already replaced it, its new token is returned and nothing
        is sent: a refresh token is never sent twice.
        """
        with self._lock:
            pair = self._load()
            if pair.access_token != stale_access_token:
                return pair.access_token
            crash_point("before_refresh")
            try:
                # ---- THE UNAVOIDABLE WINDOW opens when hh.ru issues the new pair and
                # spends the old refresh token. Until store.save() returns, a crash
                # loses the only usable pair. Nothing but the save happens inside.
                new_pair = self._oauth.refresh(pair.refresh_token)
                crash_point("after_refresh_response")
                self._store.save(new_pair)
                # ---- THE WINDOW closes: the new pair is in the keyring.
            except RefreshTooEarly:
                # Our expiry estimate ran ahead of hh.ru; the current token still works.
                self._store.save(replace(pair, expires_at=None))
                return pair.access_token
            except SignInNeeded:
                self._store.save(replace(pair, rejected=True))
                raise
            crash_point("after_refresh_saved")
            log.info("OAuth tokens refreshed; new expiry %s", new_pair.expires_at)
            if self._on_refreshed is not None:
                self._on_refreshed(new_pair)
            return new_pair.access_token

    def exchange_code(
        self, code: str, *, client_id: str, client_secret: str, redirect_uri: str
    ) -> TokenPair:
        """Signs in: exchanges an authorization code and stores the pair."""
        with self._lock:
            pair = self._oauth.exchange_code(
                code, client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri
            )
            self._store.save(pair)
            return pair
