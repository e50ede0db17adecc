"""The HTTP plumbing shared by hh.ru transports.

Retries come from urllib3's :class:`Retry`: connection failures are retried for every
method (nothing reached the server), read failures and 5xx only for GET, so a publish
or a refresh token is never sent twice by the retry layer. Every response's ``Date``
feeds the :class:`ServerClock`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import ConnectionFailed, RequestTimeout
from tray_app.core.redact import redactor

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0


def default_retry(backoff_factor: float = 0.5) -> Retry:
    return Retry(
        total=4,
        connect=3,
        read=2,
        status=2,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=10,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        # urllib3 would sleep a Retry-After of any length inside the request, holding
        # the scheduler thread; the engine's own back-off handles long waits instead
        respect_retry_after_header=False,
    )


def _reached_server(exc: requests.RequestException) -> bool:
    """False only when we know the request never left (connect phase)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return not isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


class HttpClient:
    """A requests session bound to one base URL, with timeouts, retries and skew sampling."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        clock: Clock,
        server_clock: ServerClock,
        retry: Retry | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        dynamic_headers: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        """``dynamic_headers`` are computed per request (a user agent built from a
        setting that may change while the app runs)."""
        self.base_url = base_url.rstrip("/")
        self._dynamic_headers = dynamic_headers
        self._clock = clock
        self._server_clock = server_clock
        self._timeout = timeout
        self.session = requests.Session()  # honours HTTP(S)_PROXY / NO_PROXY
        self.session.headers.update(headers)
        adapter = HTTPAdapter(max_retries=retry or default_retry())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends one request; transport failures become our :class:`TransientError`s."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("allow_redirects", False)
        if self._dynamic_headers is not None:
            kwargs["headers"] = {**self._dynamic_headers(), **(kwargs.get("headers") or {})}
        sent = self._clock.now()
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            log.warning("%s %s: %s", method, path, redactor(str(exc)))
            reached = _reached_server(exc)
            if isinstance(exc, requests.Timeout) and reached:
                raise RequestTimeout(f"{method} {path}: no answer in time") from None
            raise ConnectionFailed(
                f"{method} {path}: connection failed", reached_server=reached
            ) from None
        self._server_clock.sample(response.headers.get("Date"), sent, self._clock.now())
        return response

    def close(self) -> None:
        self.session.close()
