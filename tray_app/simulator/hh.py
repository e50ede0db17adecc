"""An hh.ru API simulator: a real HTTP server on 127.0.0.1 for tests and the demo.

Our picture of hh.ru, not hh.ru: each behaviour names its source. Modelled on hh's
OpenAPI specification (api.hh.ru/openapi/redoc): ``+0300`` dates, pagination, the
``HH-User-Agent`` check, access tokens that expire (403 ``oauth/token_expired``),
refresh tokens that work once and only after expiry, ``can_publish_or_update`` that is
false through every cooldown and true once ``next_publish_at`` has passed (hh's field
table: "can it be updated", set only for published resumes), 429
``touch_limit_exceeded``, captcha, the December 2025 ``forbidden``, and injected faults
(5xx, HTML, garbage, timeouts, dropped connections, DDoS-Guard's challenge page), also
at random (``SimConfig.fault_rate``). Every request is recorded for assertions.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from requests.structures import CaseInsensitiveDict

from tray_app.core.clock import format_hh_datetime
from tray_app.simulator.hh_web import (
    CAPTCHA_PATH,
    DDOS_GUARD_PAGE,
    LOGIN_PATH,
    LOGOUT_PATH,
    TOUCH_PATH,
    WEB_PATHS,
    WebSite,
    parse_cookie_header,
    safe_backurl,
    set_cookie_header,
)
from tray_app.simulator.server import LocalServer, SimHandler

FOUR_HOURS = 4 * 3600.0
TWO_WEEKS = 14 * 24 * 3600.0
MAX_RECORDED = 20_000
BLACKLISTED_AGENTS = ("python-requests", "MyApp/1.0 (my-app-feedback@example.com)")
DDOS_GUARD_HEADERS = {"Server": "ddos-guard"}


@dataclass
class SimResume:
    id: str
    title: str
    status: str = "published"  # the API's word: published | not_published | blocked
    blocked: bool = False
    refuses_publish: bool = False  # hh.ru answers 400 (mandatory fields, moderation)
    updated_at: datetime | None = None
    next_publish_at: datetime | None = None
    site_status: str | None = None  # the website's word; None: from ``status``

    @property
    def site_word(self) -> str:
        """The site's moderation words are not the API's (public hh.ru tools' code): a live resume
        is ``new``/``modified``/``approved``, never ``published``; a draft is
        ``not_finished``."""
        if self.site_status:
            return self.site_status
        return {"published": "approved", "not_published": "not_finished"}.get(
            self.status, self.status
        )


@dataclass
class SimToken:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_used: bool = False
    revoked: bool = False


@dataclass
class Fault:
    kind: str  # 500 503 502_html 404 garbage timeout drop captcha forbidden 429 noop_publish
    # hold ddos_guard; for the website also: login_redirect captcha_redirect 401 403
    # page_no_list page_bad_item
    path: str  # prefix of the request path it applies to ("" for all)
    method: str | None = None
    times: int = 1
    seconds: float = 0.0  # for timeout/hold


@dataclass
class RecordedRequest:
    at: datetime  # server clock
    real_at: float  # time.time() when it arrived
    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]  # as sent; names compared without case, as HTTP does
    form: dict[str, list[str]]
    status: int = 0
    answered_at: float = 0.0  # time.time() once the answer was written (crash soak)
    set_cookies: tuple[str, ...] = ()  # names of the cookies the answer set


@dataclass
class Publish:
    """One publish call as the server judged it."""

    resume_id: str
    at: datetime  # server clock
    real_at: float
    window: datetime | None  # next_publish_at at the moment of the call
    accepted: bool


@dataclass
class SimConfig:
    cooldown: float = FOUR_HOURS
    token_lifetime: float = TWO_WEEKS
    client_id: str = "SIMCLIENTID"
    client_secret: str = "SIMCLIENTSECRET"
    max_per_page: int = 100
    clock_offset: float = 0.0  # server clock minus real clock, seconds
    api_closed: bool = False  # the December 2025 behaviour
    fault_rate: float = 0.0  # this share of requests gets ``fault_kind`` (benchmarks)
    fault_kind: str = "502_html"
    fault_seed: int = 1


def _ceil_second(moment: datetime) -> datetime:
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


class HHSimulator(LocalServer):
    """State and controls; :meth:`start` serves it on an ephemeral port."""

    def __init__(self, config: SimConfig | None = None, resumes: list[SimResume] | None = None):
        super().__init__()
        self.config = config or SimConfig()
        self.lock = threading.RLock()
        self.resumes: dict[str, SimResume] = {}
        self.tokens: dict[str, SimToken] = {}  # by access token
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.faults: list[Fault] = []
        self._random_faults = random.Random(self.config.fault_seed)
        # bounded, so a long demo does not grow without end
        self.requests: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED)
        self.random_faults = 0
        self.publishes: deque[Publish] = deque(maxlen=MAX_RECORDED)
        for resume in resumes if resumes is not None else default_resumes(self.now(), self.config):
            self.resumes[resume.id] = resume
        self.web = WebSite(self)

    # ---- clock and lifecycle ------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.config.clock_offset, UTC)

    # ---- controls for tests -------------------------------------------------------

    def issue_tokens(self, lifetime: float | None = None) -> SimToken:
        with self.lock:
            token = SimToken(
                access_token="AT" + secrets.token_hex(16),
                refresh_token="RT" + secrets.token_hex(16),
                expires_at=self.now() + timedelta(seconds=lifetime or self.config.token_lifetime),
            )
            self.tokens[token.access_token] = token
            return token

    def expire_all_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = self.now() - timedelta(seconds=1)

    def revoke_all_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.revoked = True

    def inject(
        self,
        kind: str,
        path: str = "",
        *,
        method: str | None = None,
        times: int = 1,
        seconds: float = 0.0,
    ) -> None:
        with self.lock:
            self.faults.append(Fault(kind, path, method, times, seconds))

    def open_window(self, resume_id: str, in_seconds: float = -1.0) -> None:
        """Moves a resume's window (e.g. to make it due now in a test)."""
        with self.lock:
            resume = self.resumes[resume_id]
            resume.next_publish_at = _ceil_second(self.now() + timedelta(seconds=in_seconds))

    def make_due(self, resume_id: str) -> None:
        """Last raised five hours ago: due by the API's ``next_publish_at`` and by the
        site's "last raise + 4 h" alike."""
        with self.lock:
            self.resumes[resume_id].updated_at = self.now() - timedelta(hours=5)
        self.open_window(resume_id, in_seconds=-2)

    def calls(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    def premature_publishes(self) -> list[Publish]:
        with self.lock:
            return [p for p in self.publishes if not p.accepted]

    # ---- the model ----------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path) and fault.method in (None, method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
            if self.config.fault_rate and self._random_faults.random() < self.config.fault_rate:
                self.random_faults += 1
                return Fault(self.config.fault_kind, path)
        return None

    def can_publish_now(self, resume: SimResume) -> bool | None:
        """``can_publish_or_update``: null unless published; false through the
        cooldown, true once ``next_publish_at`` has passed (hh's field table,
        api.hh.ru/openapi/redoc)."""
        if resume.status != "published":
            return None
        window = resume.next_publish_at
        due = window is None or self.now() >= window
        return due and not resume.blocked and not resume.refuses_publish

    def resume_json(self, resume: SimResume) -> dict[str, Any]:
        published = resume.status == "published"
        return {
            "id": resume.id,
            "title": resume.title,
            "status": {"id": resume.status, "name": resume.status},
            "blocked": resume.blocked,
            "finished": True,
            "can_publish_or_update": self.can_publish_now(resume),
            "next_publish_at": (
                format_hh_datetime(resume.next_publish_at)
                if resume.next_publish_at and published
                else None
            ),
            "updated_at": format_hh_datetime(resume.updated_at) if resume.updated_at else None,
            "created_at": format_hh_datetime(resume.updated_at or self.now()),
            "access": {"type": {"id": "everyone", "name": "everyone"}},
            "paid_services": [],
            "alternate_url": f"https://hh.ru/resume/{resume.id}",
            "url": f"{self.url}/resumes/{resume.id}",
            "total_views": 0,
            "new_views": 0,
        }

    def publish(self, resume_id: str) -> tuple[int, dict[str, Any] | None]:
        with self.lock:
            now = self.now()
            resume = self.resumes.get(resume_id)
            if resume is None:
                return 404, {"errors": [{"type": "not_found"}]}
            window = resume.next_publish_at
            if resume.blocked or resume.status != "published" or resume.refuses_publish:
                self.publishes.append(Publish(resume_id, now, time.time(), window, False))
                return 400, {
                    "description": "Резюме не может быть опубликовано",
                    "errors": [{"type": "bad_request"}],
                }
            if window is not None and now < window:
                self.publishes.append(Publish(resume_id, now, time.time(), window, False))
                return 429, {
                    "description": "Too many requests",
                    "errors": [{"type": "resumes", "value": "touch_limit_exceeded"}],
                }
            self.publishes.append(Publish(resume_id, now, time.time(), window, True))
            resume.updated_at = now
            resume.next_publish_at = _ceil_second(now + timedelta(seconds=self.config.cooldown))
            return 204, None

    def authorize(self, header: str | None) -> tuple[int, dict[str, Any]] | None:
        """None when the bearer token is good; else the 403 answer."""

        def oauth(value: str) -> tuple[int, dict[str, Any]]:
            return 403, {
                "description": "Forbidden",
                "oauth_error": value.replace("_", "-"),
                "errors": [{"type": "oauth", "value": value}],
            }

        if not header or not header.startswith("Bearer "):
            return oauth("bad_authorization")
        with self.lock:
            token = self.tokens.get(header[len("Bearer ") :])
            if token is None:
                return oauth("bad_authorization")
            if token.revoked:
                return oauth("token_revoked")
            if self.now() >= token.expires_at:
                return oauth("token_expired")
        return None

    def token_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def invalid(error: str, description: str) -> tuple[int, dict[str, Any]]:
            return 400, {"error": error, "error_description": description}

        grant = form.get("grant_type")
        with self.lock:
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                owner = next((t for t in self.tokens.values() if t.refresh_token == refresh), None)
                if owner is None:
                    return invalid("invalid_grant", "token is invalid")
                if owner.revoked:
                    return invalid("invalid_grant", "token deactivated")
                if owner.refresh_used:
                    return invalid("invalid_grant", "token has already been refreshed")
                if self.now() < owner.expires_at:
                    return invalid("invalid_grant", "token not expired")
                owner.refresh_used = True
                del self.tokens[owner.access_token]
            elif grant == "authorization_code":
                if (form.get("client_id"), form.get("client_secret")) != (
                    self.config.client_id,
                    self.config.client_secret,
                ):
                    return invalid("invalid_client", "client_id or client_secret not found")
                redirect = self.codes.pop(form.get("code", ""), None)
                if redirect is None:
                    return invalid("invalid_grant", "code not found")
                if redirect != form.get("redirect_uri"):
                    return invalid("invalid_grant", "redirect_uri mismatch")
            else:
                return invalid("unsupported_grant_type", str(grant))
            new = self.issue_tokens()
        return 200, {
            "access_token": new.access_token,
            "token_type": "bearer",
            "expires_in": int(self.config.token_lifetime),
            "refresh_token": new.refresh_token,
        }

    def new_code(self, redirect_uri: str) -> str:
        code = "CODE" + secrets.token_hex(8)
        with self.lock:
            self.codes[code] = redirect_uri
        return code


def _ready(now: datetime, config: SimConfig, seconds: float) -> dict[str, Any]:
    """A resume whose window opens ``seconds`` from now."""
    return {
        "updated_at": now - timedelta(seconds=config.cooldown - seconds),
        "next_publish_at": _ceil_second(now + timedelta(seconds=seconds)),
    }


def demo_resumes(now: datetime, config: SimConfig) -> list[SimResume]:
    """Three raisable resumes whose windows open within ten seconds (the demo)."""
    return [
        SimResume(
            "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "Python-разработчик",
            **_ready(now, config, 2),
        ),
        SimResume(
            "b2c3d4e5f60718293a4b5c6d7e8f901234567890",
            "Инженер данных",
            site_status="modified",
            **_ready(now, config, 5),
        ),
        SimResume(
            "e5f60718293a4b5c6d7e8f90123456789012345a",
            "Тимлид",
            site_status="new",
            **_ready(now, config, 9),
        ),
    ]


def default_resumes(now: datetime, config: SimConfig) -> list[SimResume]:
    """Two raisable resumes, one unpublished, one blocked; windows open soon."""

    def ready(seconds: float) -> dict[str, Any]:
        return _ready(now, config, seconds)

    return [
        SimResume("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Python-разработчик", **ready(2)),
        SimResume(
            "b2c3d4e5f60718293a4b5c6d7e8f901234567890",
            "Инженер данных",
            site_status="modified",
            **ready(4),
        ),
        SimResume(
            "c3d4e5f60718293a4b5c6d7e8f90123456789012",
            "Тимлид (черновик)",
            status="not_published",
            updated_at=now - timedelta(days=3),
        ),
        SimResume(
            "d4e5f60718293a4b5c6d7e8f9012345678901234",
            "Аналитик (заблокировано)",
            status="blocked",
            blocked=True,
            updated_at=now - timedelta(days=10),
            next_publish_at=now - timedelta(days=9),
        ),
    ]


class _Handler(SimHandler):
    server_version = "hh-sim/1.0"
    protocol_version = "HTTP/1.1"

    sim: HHSimulator

    def version_string(self) -> str:
        return getattr(self, "_server_header", None) or super().version_string()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` in the simulated server's clock, whole seconds like a real server."""
        return formatdate(self.sim.now().timestamp(), usegmt=True)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    # ---- plumbing -----------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: Any = None,
        *,
        raw: bytes | None = None,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
        set_cookies: Mapping[str, str | None] | None = None,
    ) -> None:
        request_id = secrets.token_hex(8)
        headers = dict(headers or {})
        self._server_header = headers.pop("Server", None)  # DDoS-Guard answers as itself
        if raw is None and body is not None:
            if isinstance(body, dict) and status >= 400:
                body = {**body, "request_id": request_id}
            raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("X-Request-ID", request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        host = self.headers.get("Host") or ""
        for name, cookie in (set_cookies or {}).items():
            self.send_header("Set-Cookie", set_cookie_header(name, cookie, host))
        self._record.set_cookies = tuple(set_cookies or ())
        if self.command == "HEAD":
            self.send_header("Content-Length", "0")
            self.end_headers()
            self._record.status, self._record.answered_at = status, time.time()
            return
        if raw:
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(raw or b"")))
        self.end_headers()
        if raw:
            self.wfile.write(raw)
        self._record.status, self._record.answered_at = status, time.time()

    def _handle(self, method: str) -> None:
        sim = self.sim
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        self._raw_body = raw_body
        self._content_fault: str | None = None
        form = parse_qs(raw_body.decode("utf-8", "replace")) if raw_body else {}
        self._record = RecordedRequest(
            sim.now(),
            time.time(),
            method,
            parsed.path,
            parse_qs(parsed.query),
            CaseInsensitiveDict(self.headers.items()),
            form,
        )
        with sim.lock:
            sim.requests.append(self._record)
        fault = sim._take_fault(method, parsed.path)
        if fault is not None and self._apply_fault(fault):
            return
        with contextlib.suppress(BrokenPipeError):
            self._route(
                method,
                parsed.path,
                {k: v[0] for k, v in parse_qs(parsed.query).items()},
                {k: v[0] for k, v in form.items()},
            )

    def _apply_fault(self, fault: Fault) -> bool:
        """Returns True when the fault replaced the answer."""
        kind = fault.kind
        if kind == "hold":
            time.sleep(fault.seconds)
            return False
        if kind.startswith("page_"):
            self._content_fault = kind
            return False
        if self._no_answer(kind, fault.seconds):
            return True
        if kind in ("500", "503"):
            self._send(int(kind))
        elif kind == "502_html":
            self._send(
                502, raw=b"<html><body>Bad Gateway (ddos-guard)</body></html>", ctype="text/html"
            )
        elif kind == "ddos_guard":  # DDoS-Guard's challenge (FlareSolverr, scrapers)
            self._send(403, raw=DDOS_GUARD_PAGE, ctype="text/html", headers=DDOS_GUARD_HEADERS)
        elif kind == "404":
            self._send(404, raw=b"<html>no such page</html>", ctype="text/html")
        elif kind == "noop_publish":  # accepted, but the resume does not change
            self._send(204)
        elif kind == "garbage":
            self._send(200, raw=b"<html>not json</html>", ctype="text/html")
        elif kind == "captcha":
            self._send(
                403,
                {
                    "errors": [
                        {
                            "type": "captcha_required",
                            "value": "captcha_required",
                            "captcha_url": "https://hh.ru/account/captcha?state=sim",
                        }
                    ]
                },
            )
        elif kind == "forbidden":
            self._send(403, {"description": "Forbidden", "errors": [{"type": "forbidden"}]})
        elif kind == "429":
            self._send(429, {"errors": [{"type": "resumes", "value": "touch_limit_exceeded"}]})
        elif kind in ("login_redirect", "captcha_redirect"):
            target = LOGIN_PATH if kind == "login_redirect" else CAPTCHA_PATH
            self._send(302, headers={"Location": f"{target}?backurl=%2Fapplicant%2Fresumes"})
        elif kind in ("401", "403"):
            self._send(int(kind), raw=b"<html>Forbidden</html>", ctype="text/html")
        else:
            raise ValueError(f"unknown fault {kind!r}")
        return True

    def _check_agent(self) -> bool:
        agent = self.headers.get("HH-User-Agent")
        if not agent:
            self._send(400, {"errors": [{"type": "bad_user_agent", "value": "unset"}]})
            return False
        if agent in BLACKLISTED_AGENTS or "(" not in agent:
            self._send(400, {"errors": [{"type": "bad_user_agent", "value": "blacklisted"}]})
            return False
        return True

    def _route(self, method: str, path: str, query: dict[str, str], form: dict[str, str]) -> None:
        sim = self.sim
        if path.startswith(WEB_PATHS) or path == "/":
            self._web_route(method, path, query, form)
            return
        if method == "GET" and path == "/oauth/authorize":
            self._authorize_page(query)
            return
        if method == "POST" and path in ("/token", "/oauth/token"):
            if path == "/token" and not self._check_agent():
                return
            status, body = sim.token_grant(form)
            self._send(status, body)
            return
        if not self._check_agent():
            return
        denied = sim.authorize(self.headers.get("Authorization"))
        if denied is not None:
            self._send(*denied)
            return
        if sim.config.api_closed and path.startswith("/resumes"):
            self._send(403, {"description": "Forbidden", "errors": [{"type": "forbidden"}]})
            return
        if method == "GET" and path == "/me":
            self._send(
                200,
                {
                    "id": "1",
                    "first_name": "Иван",
                    "last_name": "Тестов",
                    "auth_type": "applicant",
                    "is_applicant": True,
                    "email": "ivan@example.com",
                },
            )
        elif method == "GET" and path == "/resumes/mine":
            self._resumes_page(query)
        elif method == "GET" and path.startswith("/resumes/") and path.count("/") == 2:
            resume = sim.resumes.get(path.split("/")[2])
            if resume is None:
                self._send(404, {"errors": [{"type": "not_found"}]})
            else:
                self._send(200, sim.resume_json(resume))
        elif method == "POST" and path.startswith("/resumes/") and path.endswith("/publish"):
            status, answer = sim.publish(path.split("/")[2])
            self._send(status, answer)
        else:
            self._send(404, {"errors": [{"type": "not_found"}]})

    def _web_route(
        self, method: str, path: str, query: dict[str, str], form: dict[str, str]
    ) -> None:
        """The website: what a browser (or our web transport) gets from hh.ru."""
        site = self.sim.web
        cookies = parse_cookie_header(self.headers.get("Cookie"))
        session, new_visitor = site.visit(cookies)
        xhr = (self.headers.get("X-Requested-With") or "").lower() == "xmlhttprequest"

        def answer(status: int, body: Any = None, **kw: Any) -> None:
            # the request was judged with the cookies it came with; rotate after that
            set_cookies = new_visitor or site.rotate(session)
            self._send(status, body, set_cookies=set_cookies, **kw)

        html_page = "text/html"
        unlike_a_browser = site.strict_check(method, path, dict(self.headers), cookies)
        if unlike_a_browser:
            # public hh.ru tools' code: a non-browser replay gets DDoS-Guard's page, and a POST
            # drops the session to anonymous
            if method == "POST":
                site.drop_to_anonymous(session)
            answer(403, raw=DDOS_GUARD_PAGE, ctype=html_page, headers=DDOS_GUARD_HEADERS)
            return
        if method == "GET" and path == "/":
            # public hh.ru tools' code: the home page opened "cold" with imported cookies can rotate
            # hhtoken into an anonymous one
            self._send(
                200,
                raw=site.page({"userType": "anonymous"}),
                ctype=html_page,
                set_cookies=site.cold_home_page(session),
            )
            return
        if method in ("GET", "HEAD") and path in site.config.list_paths:
            if session.user_type == "anonymous" and site.config.anonymous_list == "redirect":
                answer(302, headers={"Location": f"{LOGIN_PATH}?backurl={path}"})
                return
            state = site.state(session)
            if self._content_fault == "page_no_list":
                state.pop("applicantResumes", None)
            elif self._content_fault == "page_bad_item" and state.get("applicantResumes"):
                state["applicantResumes"][0]["_attributes"].pop("hash")
            if xhr and site.config.xhr_json:
                answer(200, state)
            else:
                answer(200, raw=site.page(state), ctype=html_page)
        elif method == "POST" and path == TOUCH_PATH:
            answer(*site.touch(session, cookies, dict(self.headers), self._raw_body))
        elif method == "GET" and path == LOGIN_PATH:
            backurl = safe_backurl(query.get("backurl") or query.get("backUrl"))
            if session.user_type != "anonymous":  # already signed in: straight on
                answer(302, headers={"Location": backurl})
                return
            # the page holds the session's _xsrf: rotate first, then draw it
            set_cookies = new_visitor or site.rotate(session)
            page = site.login_page(session, backurl)
            self._send(200, raw=page, ctype=html_page, set_cookies=set_cookies)
        elif method == "POST" and path == LOGIN_PATH:
            login = site.submit_login(session, cookies, form)
            headers = {"Location": login.location} if login.location else None
            self._send(
                login.status,
                raw=login.page,
                ctype=html_page,
                headers=headers,
                set_cookies={**new_visitor, **site.config.extra_cookies, **login.set_cookies},
            )
        elif method == "GET" and path == LOGOUT_PATH:
            self._send(302, headers={"Location": "/"}, set_cookies=site.logout(session))
        elif method == "GET" and path == CAPTCHA_PATH:
            text = "<html>Подтвердите, что вы не робот</html>"
            answer(200, raw=text.encode(), ctype=html_page)
        else:
            answer(404, raw=b"<html>no such page</html>", ctype=html_page)

    def _resumes_page(self, query: dict[str, str]) -> None:
        sim = self.sim
        try:
            page = int(query.get("page", 0))
            per_page = min(int(query.get("per_page", 20)), sim.config.max_per_page)
        except ValueError:
            self._send(400, {"errors": [{"type": "bad_argument", "value": "page"}]})
            return
        with sim.lock:
            items = [sim.resume_json(r) for r in sim.resumes.values()]
        pages = max(1, math.ceil(len(items) / per_page))
        self._send(
            200,
            {
                "found": len(items),
                "page": page,
                "pages": pages,
                "per_page": per_page,
                "items": items[page * per_page : (page + 1) * per_page],
            },
        )

    def _authorize_page(self, query: dict[str, str]) -> None:
        """The user approves at once: redirect back with a code (or access_denied)."""
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.sim.config.client_id or not redirect:
            self._send(400, raw=b"bad client_id or redirect_uri", ctype="text/plain")
            return
        params = {"code": self.sim.new_code(redirect)}
        if "state" in query:
            params["state"] = query["state"]
        self._send(302, headers={"Location": f"{redirect}?{urlencode(params)}"})


HHSimulator.handler = _Handler
