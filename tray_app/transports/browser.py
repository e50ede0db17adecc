"""An HTTP client for the hh.ru website that looks like Chrome down to TLS and HTTP/2.

hh.ru sits behind DDoS-Guard and Group-IB (public hh.ru tools' code): a client whose TLS handshake
is Python's gets interstitial pages or dropped connections however browser-like its
headers are. curl_cffi (libcurl-impersonate) sends Chrome's ClientHello, HTTP/2
settings and default headers instead. The official API keeps
:class:`~tray_app.transports.http.HttpClient`; this client mirrors its behaviour:

- timeouts, and our own small retries: GET and HEAD on a failure or a 5xx, any
  method only when the request certainly never left this machine; other methods go
  on a new connection, since libcurl itself resends a request whose reused
  connection died unanswered: a raise is never sent twice;
- transport failures become :mod:`tray_app.core.errors` classes, named by method and
  path only (never the query, never a cookie);
- every ``Date`` header feeds the :class:`ServerClock`;
- proxies from the environment exactly as ``requests`` reads them;
- no cookie engine: the caller sends its whole jar as ``Cookie`` and reads
  :attr:`WebResponse.set_cookies` itself, so the stored session stays the only truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final, cast
from urllib.parse import urlsplit

import requests.utils
from curl_cffi import CurlECode, CurlInfo, CurlMime, CurlOpt
from curl_cffi import requests as curl_requests
from curl_cffi.__version__ import __version__ as curl_cffi_version
from curl_cffi.requests.exceptions import ImpersonateError, ProxyError, RequestException
from curl_cffi.requests.impersonate import REAL_TARGET_MAP
from requests.structures import CaseInsensitiveDict

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import ConnectionDropped, ConnectionFailed, RequestTimeout
from tray_app.core.redact import redactor
from tray_app.transports.http import CONNECT_TIMEOUT, READ_TIMEOUT

log = logging.getLogger(__name__)

IMPERSONATE: Final = "chrome"  # curl_cffi's alias for the newest Chrome it knows
RETRY_DELAYS: Final = (0.5, 1.0)  # seconds before the 2nd and the 3rd attempt
RETRY_STATUSES: Final = frozenset({500, 502, 503, 504})
IDEMPOTENT: Final = frozenset({"GET", "HEAD"})

# libcurl errors after which the request certainly never left this machine
_NEVER_SENT: Final = frozenset(
    {
        CurlECode.COULDNT_RESOLVE_PROXY,
        CurlECode.COULDNT_RESOLVE_HOST,
        CurlECode.COULDNT_CONNECT,
    }
)
# a connection was made, then closed or reset with no HTTP answer (public hh.ru tools' code:
# DDoS-Guard does this); 16 and 92 are the same over HTTP/2, which hh.ru speaks
_DROPPED: Final = frozenset(
    {
        CurlECode.HTTP2,
        CurlECode.PARTIAL_FILE,
        CurlECode.SSL_CONNECT_ERROR,
        CurlECode.GOT_NOTHING,
        CurlECode.SEND_ERROR,
        CurlECode.RECV_ERROR,
        CurlECode.HTTP2_STREAM,
    }
)
# how libcurl words a timeout before the request was sent (resolving, TCP, proxy,
# TLS); a timeout on a reused connection reads "Operation timed out"
_CONNECT_PHASE_TIMEOUTS: Final = ("Connection timed out", "Resolving timed out")


@dataclass(frozen=True)
class WebResponse:
    """One HTTP answer, detached from curl (the handle is reused for the next one)."""

    status_code: int
    headers: Mapping[str, str]
    set_cookies: tuple[str, ...]
    content: bytes
    url: str

    @property
    def text(self) -> str:
        """The body decoded with the ``Content-Type`` charset, else UTF-8; never raises."""
        message = Message()
        message["Content-Type"] = self.headers.get("Content-Type", "")
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")


class BrowserClient:
    """One Chrome-like curl_cffi session: keep-alive, no cookie engine, no redirects.

    One curl handle serves every thread under a lock (a handle is not thread-safe),
    so there is one connection pool, as in one browser tab, and :meth:`close` frees
    it whatever thread calls it.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        server_clock: ServerClock,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        impersonate: str = IMPERSONATE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``timeout`` is (connect, read); libcurl has no per-read timeout, so the whole
        exchange gets connect + read seconds."""
        self._clock = clock
        self._server_clock = server_clock
        self._sleep = sleep
        self._impersonate = impersonate
        self._lock = threading.Lock()
        self._session: curl_requests.Session[curl_requests.Response] = curl_requests.Session(
            impersonate=impersonate,
            timeout=timeout,
            allow_redirects=False,
            trust_env=False,  # proxies come from _proxy_for, read as requests reads them
            discard_cookies=True,
            use_thread_local_curl=False,
            curl_infos=[CurlInfo.REQUEST_SIZE],
        )

    @property
    def description(self) -> str:
        """What the website sees us as, for logs and the self-check."""
        target = REAL_TARGET_MAP.get(self._impersonate)
        alias = f" ({target})" if target and target != self._impersonate else ""
        return f"curl_cffi {curl_cffi_version}, impersonating {self._impersonate}{alias}"

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str | None],
        multipart: Mapping[str, str] | None = None,
    ) -> WebResponse:
        """Sends ``method url`` with exactly ``headers`` on top of Chrome's defaults (None
        removes a default); ``multipart`` fields go as multipart/form-data.

        Raises :class:`ConnectionFailed` (``reached_server`` False when nothing was
        sent), :class:`ConnectionDropped` or :class:`RequestTimeout`.
        """
        method = method.upper()
        path = urlsplit(url).path or "/"
        delays = iter(RETRY_DELAYS)
        attempt = 1
        while True:
            try:
                response = self._send(method, url, path, headers, multipart)
            except (ConnectionFailed, RequestTimeout) as exc:
                never_sent = isinstance(exc, ConnectionFailed) and not exc.reached_server
                delay = next(delays, None) if method in IDEMPOTENT or never_sent else None
                if delay is None:
                    raise
                log.info("%s %s: retrying in %.1f s (attempt %d)", method, path, delay, attempt + 1)
            else:
                if method not in IDEMPOTENT or response.status_code not in RETRY_STATUSES:
                    return response
                delay = next(delays, None)
                if delay is None:
                    return response
                log.info(
                    "%s %s: HTTP %d, retrying in %.1f s (attempt %d)",
                    method,
                    path,
                    response.status_code,
                    delay,
                    attempt + 1,
                )
            self._sleep(delay)
            attempt += 1

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str | None],
        multipart: Mapping[str, str] | None,
    ) -> WebResponse:
        """One attempt; the session's jar is emptied before and after, since curl_cffi
        would otherwise send cookies it picked up next to (or instead of) ours."""
        mime = _mime(multipart) if multipart is not None else None
        try:
            with self._lock:
                self._session.cookies.clear()
                # libcurl silently resends a request whose reused connection died with
                # no answer, a POST too; a new connection is never resent
                idempotent = method in IDEMPOTENT
                self._session.curl_options = {} if idempotent else {CurlOpt.FRESH_CONNECT: 1}
                sent = self._clock.now()
                try:
                    raw = self._session.request(
                        cast(Any, method),
                        url,
                        headers=dict(headers),
                        proxy=_proxy_for(url),
                        multipart=mime,
                    )
                except ImpersonateError:
                    raise  # a wrong ``impersonate``: a bug to see, not a network failure
                except RequestException as exc:
                    log.warning("%s %s: %s", method, path, redactor(str(exc)))
                    raise _translate(exc, method, path) from None
                finally:
                    self._session.cookies.clear()
                received = self._clock.now()
        finally:
            if mime is not None:
                mime.close()
        response = _detach(raw, url)
        self._server_clock.sample(response.headers.get("Date"), sent, received)
        return response

    def close(self) -> None:
        """Closes the connection; safe to call twice."""
        with self._lock:
            self._session.close()


def _proxy_for(url: str) -> str | None:
    """The proxy ``requests`` would use for ``url`` (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY
    in either case); libcurl alone ignores an upper-case HTTP_PROXY."""
    return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))


def _mime(fields: Mapping[str, str]) -> CurlMime:
    mime = CurlMime()
    for name, value in fields.items():
        mime.addpart(name=name, data=value.encode())
    return mime


def _translate(exc: RequestException, method: str, path: str) -> ConnectionFailed | RequestTimeout:
    """Our error for a libcurl failure; ``reached_server`` is False only when the
    request certainly never left this machine (then any method may be resent)."""
    code = int(exc.code)
    if code in _NEVER_SENT or isinstance(exc, ProxyError) or _timed_out_connecting(exc):
        return ConnectionFailed(f"{method} {path}: connection failed", reached_server=False)
    if code == CurlECode.OPERATION_TIMEDOUT:
        return RequestTimeout(f"{method} {path}: no answer in time")
    if code in _DROPPED:
        return ConnectionDropped(f"{method} {path}: connection dropped without an answer")
    return ConnectionFailed(f"{method} {path}: connection failed", reached_server=True)


def _timed_out_connecting(exc: RequestException) -> bool:
    """A timeout before any byte of the request was sent: libcurl says it timed out
    connecting *and* counted no request bytes (both, so a doubt means "sent")."""
    if exc.code != CurlECode.OPERATION_TIMEDOUT:
        return False
    if not any(words in str(exc) for words in _CONNECT_PHASE_TIMEOUTS):
        return False
    infos = getattr(exc.response, "infos", None) or {}
    return infos.get(CurlInfo.REQUEST_SIZE) == 0


def _detach(raw: curl_requests.Response, url: str) -> WebResponse:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    set_cookies: list[str] = []
    for name, value in raw.headers.multi_items():
        if value is None:
            continue
        if name.lower() == "set-cookie":
            set_cookies.append(value)
        previous = headers.get(name)
        headers[name] = value if previous is None else f"{previous}, {value}"
    return WebResponse(
        status_code=raw.status_code,
        headers=headers,
        set_cookies=tuple(set_cookies),
        content=raw.content,
        url=url,
    )
