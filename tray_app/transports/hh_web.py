"""Raises resumes through the hh.ru website with the user's own logged-in session.

Since December 2025 hh.ru refuses applicant API calls from third-party applications
(community reports; hh's documentation dropped the applicant resume sections), so this
is how most users raise in 2026. The contract is known only from public tools' code, so
every request and answer is logged (never a cookie value): a user's log tells us what
hh.ru said.

- every request goes through :class:`~tray_app.transports.browser.BrowserClient`
  (Chrome's TLS and HTTP/2 fingerprint) with the header set of 2026 clients: an XHR
  from the resume list page, ``Referer`` with ``?role=applicant``, Group-IB's
  cookies echoed as ``x-gib-*`` headers; the home page is never loaded (with an
  imported session it may rotate ``hhtoken`` into an anonymous one);
- list: ``GET /applicant/resumes`` (else ``/applicant/my_resumes``) as an XHR, which
  answers with the page state as JSON, else the HTML's ``HH-Lux-InitialState``;
- raise: ``POST /applicant/resumes/touch``, multipart ``resume=<hash>`` and
  ``undirectable=true``, ``X-Xsrftoken`` from the ``_xsrf`` cookie; never redirected;
- cookies the site sets are kept (analytics ones aside) and saved at once, so the
  stored session stays the one hh.ru knows; a ``redirect_host`` cookie sends the
  requests to the user's regional host;
- a bot-protection page or a connection dropped unanswered is a
  :class:`~tray_app.core.errors.BotCheck`, never "session expired".
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlparse

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import (
    BotCheck,
    CaptchaRequired,
    ConnectionDropped,
    InvalidResponse,
    NotPublishable,
    RateLimited,
    RemoteError,
    ResumeNotFound,
    SecretStoreError,
    ServerError,
    SessionExpired,
    TooEarly,
    UnexpectedResponse,
)
from tray_app.core.models import PublishReceipt, Resume
from tray_app.core.redact import redactor
from tray_app.storage.cookie_sources import is_tracking
from tray_app.storage.web_session import HeldSession, WebSession, WebSessionStore
from tray_app.transports.browser import BrowserClient, WebResponse
from tray_app.transports.exchanges import Exchanges
from tray_app.transports.hh_errors import request_id_of
from tray_app.transports.hh_web_page import (
    SITE_EXCLUDED,
    SITE_LIVE_WORDS,
    PageState,
    parse_resumes,
    require_applicant,
    state_from_html,
    state_from_json,
    user_type,
)
from tray_app.transports.protection import fingerprint, is_ddos_guard_page

log = logging.getLogger(__name__)

LIST_PATHS = ("/applicant/resumes", "/applicant/my_resumes")
TOUCH_PATH = "/applicant/resumes/touch"
LOGIN_PATHS = ("/account/login", "/login", "/account/signup")
PAGE_QUERY = "?role=applicant"  # the resume list page as 2026 clients refer to it
XHR_HEADERS: dict[str, str | None] = {
    "Accept": "application/json",
    "X-Requested-With": "XMLHttpRequest",
    "Accept-Language": "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7",
    # a fetch() from the page, not a navigation: Chrome's navigation-only headers go
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-User": None,
    "Upgrade-Insecure-Requests": None,
    "Cache-Control": None,
}
TOUCH_HEADERS = {"X-Hhtmfrom": "negotiation_list", "X-Hhtmsource": "resume_list"}
"""hh's analytics headers on the touch, as two public 2026 raisers (Go, Dart) send them."""
GIB_HEADERS = {"gsscgib-w-hh": "x-gib-gsscgib-w-hh", "fgsscgib-w-hh": "x-gib-fgsscgib-w-hh"}
"""Group-IB cookies the page's script echoes as headers (public hh.ru tools' code)."""
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def regional_host(host: str, cookies: Mapping[str, str]) -> str:
    """The host to send requests to: the ``redirect_host`` cookie's (``spb.hh.ru``)
    when it is a host of the same site as ``host``, whose cookies it shares."""
    named = cookies.get("redirect_host", "").strip().lower()
    site = ".".join(host.split(".")[-2:])
    if named and _HOSTNAME.match(named) and (named == site or named.endswith("." + site)):
        return named
    return host


def parse_set_cookie(header: str, now: datetime) -> tuple[str, str | None] | None:
    """``(name, value)`` from one Set-Cookie header; value None when it deletes the
    cookie (``Max-Age<=0`` or an ``Expires`` in the past)."""
    pair, *attributes = header.split(";")
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        return None
    for attribute in attributes:
        key, _, raw = attribute.strip().partition("=")
        key = key.lower()
        try:
            if key == "max-age" and int(raw) <= 0:
                return name.strip(), None
            if key == "expires" and parsedate_to_datetime(raw) <= now:
                return name.strip(), None
        except (ValueError, TypeError):
            continue
    return name.strip(), value.strip().strip('"')


@dataclass(frozen=True)
class PageSeen:
    """How the last resume list was read (for ``doctor``): no values, only shapes."""

    path: str
    source: str  # xhr-json | template | template-escaped
    user_type: str
    keys: tuple[str, ...]  # the page state's top-level keys


class WebTransport:
    """The :class:`~tray_app.core.ports.Transport` over the website session of one host
    (``host``, the session's key); ``site_url`` gives the base URL of a host."""

    def __init__(
        self,
        client: BrowserClient,
        store: WebSessionStore | HeldSession,
        server_clock: ServerClock,
        clock: Clock,
        site_url: Callable[[str], str],
    ) -> None:
        self._client = client
        self._site_url = site_url
        self._regional_told: str | None = None
        self._store = store
        self._server_clock = server_clock
        self._clock = clock
        self._lock = threading.RLock()  # the session is read and rotated as one
        self._session: WebSession | None = None
        self._list_path = LIST_PATHS[0]
        self._known: dict[str, Resume] = {}
        self._new_words: set[str] = set()  # unknown status words, each logged once
        self.exchanges = Exchanges()
        self.last_page: PageSeen | None = None
        self._unsaved = False

    @property
    def host(self) -> str:
        """The site the session belongs to (the ``web_host`` setting)."""
        return self._store.host

    @property
    def request_host(self) -> str:
        """Where requests go: ``host``, or the regional host its ``redirect_host``
        cookie names."""
        with self._lock:
            session = self._session
        return regional_host(self.host, session.cookies) if session else self.host

    @property
    def base_url(self) -> str:
        return self._site_url(self.request_host).rstrip("/")

    @property
    def client_description(self) -> str:
        return self._client.description

    def close(self) -> None:
        self._client.close()

    # ---- the session --------------------------------------------------------------

    def session(self) -> WebSession:
        with self._lock:
            if self._session is None:
                try:
                    self._session = self._store.load()
                except SecretStoreError as exc:
                    raise SessionExpired(str(exc)) from None
            if self._session is None or not self._session.cookies:
                raise SessionExpired(
                    f"no hh.ru session is stored for {self._store.host}; import one "
                    "(hh-raiser login --web)"
                )
            return self._session

    def credentials_changed(self) -> None:
        """The stored session was replaced (a new import): read it again."""
        with self._lock:
            self._session = None
            self._known.clear()

    def _take_rotation(self, response: WebResponse) -> None:
        """Applies Set-Cookie to the session (every cookie but analytics ones) and
        saves it when anything changed."""
        now = self._clock.now()
        changes: dict[str, str | None] = {}
        for header in response.set_cookies:
            parsed = parse_set_cookie(header, now)
            if parsed is not None and not is_tracking(parsed[0]):
                changes[parsed[0]] = parsed[1]
        with self._lock:
            session = self._session
            if session is None:
                return
            current = dict(session.cookies)
            changed = {
                name
                for name, value in changes.items()
                if current.get(name) != value and not (value is None and name not in current)
            }
            if not changed and not self._unsaved:
                return
            if changed:
                log.info("hh.ru rotated cookies: %s", ", ".join(sorted(changed)))
                session = session.with_cookies({n: changes[n] for n in changed})
                self._session = session
            try:
                self._store.save(session, now)
                self._unsaved = False
            except SecretStoreError as exc:
                # kept in memory and saved with the next answer: nothing is lost
                self._unsaved = True
                log.error("could not save the rotated hh.ru session: %s", exc)

    # ---- HTTP ---------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str | None],
        multipart: Mapping[str, str] | None = None,
    ) -> WebResponse:
        """One request as the resume list page would send it, with the whole jar."""
        session = self.session()
        base = self.base_url
        if self.request_host != self.host and self._regional_told != self.request_host:
            self._regional_told = self.request_host
            log.info("web: the redirect_host cookie sends requests to %s", self.request_host)
        all_headers: dict[str, str | None] = {
            **XHR_HEADERS,
            "Referer": f"{base}{LIST_PATHS[0]}{PAGE_QUERY}",
            **headers,
            **{
                header: session.cookies[cookie]
                for cookie, header in GIB_HEADERS.items()
                if session.cookies.get(cookie)
            },
            "Cookie": session.cookie_header(),
        }
        started = time.monotonic()
        try:
            response = self._client.request(
                method, f"{base}{path}", headers=all_headers, multipart=multipart
            )
        except ConnectionDropped as exc:
            raise BotCheck(
                f"{method} {path}: hh.ru dropped the connection without an answer, as its "
                "bot protection does",
                fingerprint=f"no HTTP answer ({exc})",
            ) from None
        self.exchanges.record(
            method,
            path,
            response.status_code,
            time.monotonic() - started,
            response.headers,
            response.set_cookies,
            response.content,
        )
        location = response.headers.get("Location")
        request_id = request_id_of(response)
        log.info(
            "web %s %s -> %s %s%s request_id=%s",
            method,
            path,
            response.status_code,
            response.headers.get("Content-Type", "-").split(";")[0],
            f" Location={redactor(location)}" if location else "",
            request_id,
            extra={"event": "http", "request_id": request_id, "http_status": response.status_code},
        )
        self._take_rotation(response)
        return response

    def _bot_check(self, response: WebResponse, what: str) -> BotCheck | None:
        """A BotCheck when DDoS-Guard's page came instead of hh.ru's answer."""
        if not is_ddos_guard_page(response.content):
            return None
        status = response.status_code
        return BotCheck(
            f"{what}: DDoS-Guard's bot protection answered instead of hh.ru (HTTP {status})",
            fingerprint=fingerprint(status, response.headers, response.content),
            status=status,
            request_id=request_id_of(response),
        )

    def _redirect_error(self, response: WebResponse, what: str) -> RemoteError:
        """A 3xx: to the login page the session is gone; anywhere else (a captcha,
        a VPN or bot check) a human must look at it in the browser."""
        target = urljoin(self.base_url + "/", response.headers.get("Location") or "/")
        kw: dict[str, Any] = {"status": response.status_code}
        if urlparse(target).path.rstrip("/").startswith(LOGIN_PATHS):
            return SessionExpired(f"{what}: hh.ru redirected to its login page", **kw)
        return CaptchaRequired(
            f"{what}: hh.ru redirected to {redactor(target)}; open it in the browser",
            captcha_url=target,
            **kw,
        )

    def _status_error(self, response: WebResponse, what: str) -> RemoteError:
        status = response.status_code
        kw: dict[str, Any] = {
            "status": status,
            "request_id": request_id_of(response),
        }
        snippet = redactor(response.text[:200].replace("\n", " ")) if response.content else ""
        log.info("%s: HTTP %s body=%r", what, status, snippet)
        bot_check = self._bot_check(response, what)
        if bot_check is not None:
            return bot_check
        if 300 <= status < 400:
            return self._redirect_error(response, what)
        if status in (401, 403):
            return SessionExpired(f"{what}: hh.ru refused the session (HTTP {status})", **kw)
        if status == 429:
            return RateLimited(f"{what}: hh.ru asks to slow down (HTTP 429)", **kw)
        if status >= 500:
            return ServerError(f"{what}: hh.ru server error {status}", **kw)
        if status == 404:
            return ResumeNotFound(f"{what}: not found (HTTP 404)", **kw)
        if status == 400:
            return NotPublishable(f"{what}: hh.ru refused (HTTP 400)", **kw)
        return UnexpectedResponse(f"{what}: unexpected HTTP {status}", **kw)

    # ---- Transport ----------------------------------------------------------------

    def _read_state(self) -> PageState:
        paths = [self._list_path, *(p for p in LIST_PATHS if p != self._list_path)]
        for path in paths:
            response = self._send("GET", path, {})
            if response.status_code == 404:
                continue
            if response.status_code != 200:
                raise self._status_error(response, f"GET {path}")
            self._list_path = path
            kind = response.headers.get("Content-Type", "")
            body = response.text
            try:
                if "json" in kind or body.lstrip().startswith("{"):
                    state = state_from_json(body)
                else:
                    state = state_from_html(body)
            except InvalidResponse:
                bot_check = self._bot_check(response, f"GET {path}")
                if bot_check is not None:
                    raise bot_check from None
                raise
            log.info("web page state of %s read from %s", path, state.source)
            self.last_page = PageSeen(path, state.source, user_type(state.data), tuple(state.data))
            return state
        raise UnexpectedResponse(
            f"none of the resume list pages exists ({', '.join(LIST_PATHS)}: HTTP 404)",
            status=404,
        )

    def list_resumes(self) -> list[Resume]:
        state = self._read_state()
        require_applicant(state.data)
        server_now = self._server_clock.to_server(self._clock.now())
        resumes = parse_resumes(state.data, server_now=server_now, previous=self._known)
        self._known = {r.id: r for r in resumes}
        log.info("web: %d resumes: %s", len(resumes), "; ".join(r.describe() for r in resumes))
        for word in {r.status for r in resumes} - SITE_LIVE_WORDS - set(SITE_EXCLUDED):
            if word not in self._new_words:
                self._new_words.add(word)
                log.warning("hh.ru shows a resume status word new to us: %r; read as live", word)
        return resumes

    def _touch(self, resume_id: str, xsrf: str) -> WebResponse:
        return self._send(
            "POST",
            TOUCH_PATH,
            {**TOUCH_HEADERS, "X-Xsrftoken": xsrf, "Origin": self.base_url},
            multipart={"resume": resume_id, "undirectable": "true"},
        )

    def publish(self, resume_id: str) -> PublishReceipt:
        """One touch. A 403 may be a rotated ``_xsrf``: the list is read again (which
        shows whether the session is still logged in and brings the current cookie)
        and, if the token changed, the touch is sent once more — the first one was
        refused, so this cannot raise twice."""
        what = f"POST {TOUCH_PATH}"
        xsrf = self.session().xsrf
        if not xsrf:
            self._read_state()  # the site sets _xsrf on a page load
            xsrf = self.session().xsrf
        if not xsrf:
            raise SessionExpired(f"{what}: the session has no _xsrf cookie; import it again")
        response = self._touch(resume_id, xsrf)
        if response.status_code == 403:
            require_applicant(self._read_state().data)
            fresh = self.session().xsrf
            if fresh and fresh != xsrf:
                log.info("%s: refused with a stale _xsrf; sending again with the new one", what)
                response = self._touch(resume_id, fresh)
        status = response.status_code
        if 200 <= status < 300:
            return PublishReceipt(status, request_id_of(response))
        if status == 409:
            raise TooEarly(f"{what}: too early (HTTP 409)", status=409)
        raise self._status_error(response, what)

    def ping(self) -> None:
        """A cheap request whose ``Date`` samples the site's clock."""
        self._send("HEAD", self._list_path, {})
