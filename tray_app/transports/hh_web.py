"""Raises resumes through the hh.ru website with the user's own logged-in session.

Since December 2025 hh.ru refuses applicant API calls from third-party applications
(FACTS.md §1), so this is how most users raise in 2026. The contract (FACTS.md §2) is
known only from public tools, so every request and answer is logged (never a cookie
value): a user's log tells us what hh.ru said.

- list: ``GET /applicant/resumes`` (else ``/applicant/my_resumes``) as an XHR, which
  answers with the page state as JSON, else the HTML's ``HH-Lux-InitialState``;
- raise: ``POST /applicant/resumes/touch``, multipart ``resume=<hash>`` and
  ``undirectable=true``, ``X-Xsrftoken`` from the ``_xsrf`` cookie; never redirected;
- cookies the site rotates with ``Set-Cookie`` are saved at once, so the stored
  session stays the one hh.ru knows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from tray_app.core.clock import Clock, ServerClock
from tray_app.core.errors import (
    CaptchaRequired,
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
from tray_app.storage.web_session import HeldSession, WebSession, WebSessionStore
from tray_app.transports.hh_errors import request_id_of
from tray_app.transports.hh_web_page import (
    PageState,
    parse_resumes,
    require_applicant,
    state_from_html,
    state_from_json,
)
from tray_app.transports.http import HttpClient

log = logging.getLogger(__name__)

LIST_PATHS = ("/applicant/resumes", "/applicant/my_resumes")
TOUCH_PATH = "/applicant/resumes/touch"
LOGIN_PATHS = ("/account/login", "/login", "/account/signup")
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
XHR_HEADERS = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}


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


def _set_cookies(response: requests.Response) -> list[str]:
    headers = getattr(response.raw, "headers", None)
    if headers is not None and hasattr(headers, "getlist"):
        return list(headers.getlist("Set-Cookie"))
    single = response.headers.get("Set-Cookie")
    return [single] if single else []


class WebTransport:
    """The :class:`~tray_app.core.ports.Transport` over the website session of one host."""

    def __init__(
        self,
        http: HttpClient,
        store: WebSessionStore | HeldSession,
        server_clock: ServerClock,
        clock: Clock,
    ) -> None:
        self._http = http
        # our Cookie header is the whole truth: requests' own jar would replace it
        # with cookies it picked up, so it is told to keep none
        http.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._store = store
        self._server_clock = server_clock
        self._clock = clock
        self._lock = threading.RLock()  # the session is read and rotated as one
        self._session: WebSession | None = None
        self._list_path = LIST_PATHS[0]
        self._known: dict[str, Resume] = {}
        self._unsaved = False

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def host(self) -> str:
        return self._store.host

    def close(self) -> None:
        self._http.close()

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

    def _take_rotation(self, response: requests.Response) -> None:
        """Applies Set-Cookie to the session and saves it when anything changed."""
        now = self._clock.now()
        changes: dict[str, str | None] = {}
        for header in _set_cookies(response):
            parsed = parse_set_cookie(header, now)
            if parsed is not None:
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
        self, method: str, path: str, headers: Mapping[str, str], **kwargs: Any
    ) -> requests.Response:
        session = self.session()
        all_headers = {
            "User-Agent": BROWSER_USER_AGENT,
            "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8",
            **headers,
            "Cookie": session.cookie_header(),
        }
        response = self._http.request(method, path, headers=all_headers, **kwargs)
        location = response.headers.get("Location")
        log.info(
            "web %s %s -> %s %s%s request_id=%s",
            method,
            path,
            response.status_code,
            response.headers.get("Content-Type", "-").split(";")[0],
            f" Location={redactor(location)}" if location else "",
            request_id_of(response),
        )
        self._take_rotation(response)
        return response

    def _redirect_error(self, response: requests.Response, what: str) -> RemoteError:
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

    def _status_error(self, response: requests.Response, what: str) -> RemoteError:
        status = response.status_code
        kw: dict[str, Any] = {
            "status": status,
            "request_id": request_id_of(response),
        }
        snippet = redactor(response.text[:200].replace("\n", " ")) if response.content else ""
        log.info("%s: HTTP %s body=%r", what, status, snippet)
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
            response = self._send("GET", path, XHR_HEADERS)
            if response.status_code == 404:
                continue
            if response.status_code != 200:
                raise self._status_error(response, f"GET {path}")
            self._list_path = path
            kind = response.headers.get("Content-Type", "")
            body = response.text
            if "json" in kind or body.lstrip().startswith("{"):
                state = state_from_json(body)
            else:
                state = state_from_html(body)
            log.info("web page state of %s read from %s", path, state.source)
            return state
        raise UnexpectedResponse(
            f"none of the resume list pages exists ({', '.join(LIST_PATHS)}: HTTP 404)",
            status=404,
        )

    def list_resumes(self) -> list[Resume]:
        state = self._read_state()
        require_applicant(state.data)
        server_now = self._server_clock.to_server(self._clock.now())
        resumes = parse_resumes(
            state.data, server_now=server_now, base_url=self.base_url, previous=self._known
        )
        self._known = {r.id: r for r in resumes}
        log.info(
            "web: %d resumes: %s",
            len(resumes),
            "; ".join(
                f"{r.id[:8]} {r.status} updated={r.updated_at:%H:%M:%SZ} "
                f"next={r.next_publish_at:%H:%M:%SZ}"
                if r.updated_at and r.next_publish_at
                else f"{r.id[:8]} {r.status}"
                for r in resumes
            ),
        )
        return resumes

    def _touch(self, resume_id: str, xsrf: str) -> requests.Response:
        return self._send(
            "POST",
            TOUCH_PATH,
            {
                **XHR_HEADERS,
                "X-Xsrftoken": xsrf,
                "Origin": self.base_url,
                "Referer": f"{self.base_url}{LIST_PATHS[0]}",
            },
            files={"resume": (None, resume_id), "undirectable": (None, "true")},
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
        self._send("HEAD", self._list_path, XHR_HEADERS)
