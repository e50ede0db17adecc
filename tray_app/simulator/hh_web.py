"""The hh.ru website part of the simulator: sessions, the resume list pages, touch.

Our picture of hh.ru, each part with its source. public hh.ru tools' code: anonymous visitors
get an ``hhtoken`` too; a logged-in session's page state has ``userType: applicant``
and ``applicantResumes`` whose ``_attributes.status`` is a moderation word, never
``published`` (``new``, ``modified``, ``approved``; a draft is ``not_finished``); an
XHR request gets the state as JSON, a browser request gets HTML with it in the
``HH-Lux-InitialState`` template (HTML-escaped or raw); ``POST
/applicant/resumes/touch`` wants multipart ``resume`` + ``undirectable=true`` and an
``X-Xsrftoken`` equal to the ``_xsrf`` cookie, answers 409 inside the cooldown and
403 for a bad session or token; cookies rotate through Set-Cookie, and the old
``hhtoken`` stops working at once (so a client that does not keep the new one loses
its session, as it would on the real site).

Bot protection, in ``strict`` mode (the default): a request that does not look like
the resume list page's own XHR gets DDoS-Guard's challenge page, and a POST also
drops the session to anonymous (community reports). What is checked
is what public 2026 clients send (a Chrome ``User-Agent`` with its ``Sec-Ch-Ua``,
``X-Requested-With``, ``Accept: application/json``; on the touch ``Origin``, a
``Referer`` of ``/applicant/resumes?role=applicant``, ``X-Hhtmfrom``/``X-Hhtmsource``
and Group-IB's cookies echoed as ``x-gib-*``); none of it is proven required by
hh.ru, and a TLS fingerprint cannot be checked over this plain-HTTP server (the
client's own tests parse its ClientHello). Opening the home page with a logged-in
session turns it anonymous (public hh.ru tools' code).

Signing in, as a browser (or an embedded web view) does it: ``/account/login`` is a
stand-in for hh.ru's real login page, which is a multi-step script-driven page we do
not copy. What is modelled is what public scripts that log in to hh.ru show: the
form posts ``_xsrf``, ``username``, ``password`` and a back URL to ``/account/login``
(``?backurl=`` in the address), the site checks ``_xsrf`` on a POST, and a
logged-in browser holds ``hhtoken``, ``_xsrf``, ``crypted_id``, ``hhuid`` and
``hhrole``. The plain form (no script), its Russian words, the captcha step with a
fixed answer, the accounts with their passwords and ``/account/logout`` are the
simulator's own stand-ins. A browser's top-level navigation (a GET for an HTML
document, not an XHR) passes the strict checks: a real browser runs DDoS-Guard's
JavaScript challenge and gets through, whatever its User-Agent (WebKitGTK's has no
``Chrome/``).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import html
import json
import math
import secrets
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tray_app.simulator.hh import HHSimulator, SimResume

LIST_PATHS = ("/applicant/resumes", "/applicant/my_resumes")
TOUCH_PATH = "/applicant/resumes/touch"
LOGIN_PATH = "/account/login"
CAPTCHA_PATH = "/account/captcha"
LOGOUT_PATH = "/account/logout"
DEFAULT_BACKURL = "/applicant/resumes"  # where a login without ``backurl`` lands
SIM_USERNAME = "anna@example.com"  # the default applicant account (a stand-in)
SIM_PASSWORD = "correct horse"
SIM_CAPTCHA_ANSWER = "7k4mq"  # the characters of the simulator's captcha picture
LOGIN_TITLE = "Вход в личный кабинет"
LOGIN_ERROR = "Неверный e-mail или пароль"
CAPTCHA_PROMPT = "Введите символы с картинки"
CAPTCHA_ERROR = "Неверно введены символы с картинки"
LOGIN_AGAIN = "Время на ввод символов истекло, войдите ещё раз"
HTTP_ONLY_COOKIES = ("hhtoken", "crypted_id")  # _xsrf stays readable: the page echoes it
WEB_PATHS = ("/applicant/", "/account/")
GIB_COOKIES = {"gsscgib-w-hh": "x-gib-gsscgib-w-hh", "fgsscgib-w-hh": "x-gib-fgsscgib-w-hh"}
DDOS_GUARD_PAGE = (
    b"<!DOCTYPE html><html><head><title>DDoS-Guard</title>"
    b'<script src="/.well-known/ddos-guard/js-challenge/index.js"></script></head>'
    b"<body>Checking your browser before accessing hh.ru</body></html>"
)


@dataclass
class WebAccount:
    """An account the simulated site knows (a stand-in: hh.ru's accounts and their
    sign-in steps are not public)."""

    password: str
    user_type: str = "applicant"  # "applicant" | "employer"
    captcha: bool = False  # the right password leads to a captcha step first


def default_accounts() -> dict[str, WebAccount]:
    return {SIM_USERNAME: WebAccount(SIM_PASSWORD)}


@dataclass
class WebConfig:
    page_format: str = "escaped"  # "escaped" | "raw": how the template holds the JSON
    xhr_json: bool = True  # False: XHR requests get the HTML page too
    list_paths: tuple[str, ...] = LIST_PATHS  # which list pages exist (others 404)
    anonymous_list: str = "redirect"  # "redirect" to login | "page" with userType anonymous
    to_update: bool = True  # include toUpdate.value (seconds left, rounded down)
    rotate_every: int = 0  # new hhtoken every N requests of a session (0: never)
    rotate_xsrf_every: int = 0  # new _xsrf every N requests of a session
    extra_cookies: dict[str, str] = field(default_factory=dict)  # set on every answer
    strict: bool = True  # requests unlike the page's own XHR meet DDoS-Guard (see above)
    # who can sign in on /account/login, by username (compared without case)
    accounts: dict[str, WebAccount] = field(default_factory=default_accounts)


@dataclass
class SimWebSession:
    hhtoken: str
    xsrf: str
    user_type: str = "applicant"  # "anonymous" for a visitor who is not logged in
    requests: int = 0
    rotations: int = 0
    username: str | None = None  # set when the session came from the login form


@dataclass
class SignIn:
    """One POST to the login form as the site judged it (for assertions)."""

    username: str
    outcome: str  # logged_in | wrong_password | captcha_asked | captcha_wrong | step_expired
    user_type: str | None = None  # of a logged-in session


@dataclass
class PendingCaptcha:
    """A right password waiting for its captcha (the one-time step token's)."""

    username: str
    visitor: str  # the visitor's hhtoken: the step belongs to that browser
    backurl: str


@dataclass
class LoginAnswer:
    """What the site answers a login form POST: a page, or a redirect with cookies."""

    status: int
    page: bytes | None = None
    location: str | None = None
    set_cookies: dict[str, str | None] = field(default_factory=dict)  # None deletes


@dataclass
class WebTouch:
    """One touch as the site judged it (for assertions)."""

    status: int
    resume: str | None
    reason: str


def _new_value(prefix: str = "") -> str:
    return prefix + secrets.token_hex(16)


class WebSite:
    """The site's state inside :class:`HHSimulator` (its resumes are the same ones)."""

    def __init__(self, sim: HHSimulator) -> None:
        self.sim = sim
        self.config = WebConfig()
        self.lock = threading.RLock()
        self.sessions: dict[str, SimWebSession] = {}
        self.touches: list[WebTouch] = []
        self.violations: list[str] = []  # what strict mode found unlike a browser
        self.navigations: list[str] = []  # browser page loads strict mode let through
        self.home_page_loads = 0  # home page loads with a logged-in session
        self.sign_ins: list[SignIn] = []
        self.pending_captchas: dict[str, PendingCaptcha] = {}  # by step token

    # ---- controls for tests -------------------------------------------------------

    def login(self, user_type: str = "applicant") -> dict[str, str]:
        """A browser's cookie jar after logging in (analytics cookies included)."""
        session = self._new_session(user_type)
        return {
            "hhtoken": session.hhtoken,
            "hhuid": _new_value("uid"),
            "_xsrf": session.xsrf,
            "crypted_id": _new_value("C") + _new_value(),
            "hhrole": user_type,
            "regions": "1",
            "__ddg1_": _new_value()[:20],
            "gsscgib-w-hh": _new_value("G") + _new_value(),
            "fgsscgib-w-hh": _new_value("F")[:40],
            "_ga": "GA1.1." + "1" * 20,
            "_ym_uid": "1" * 19,
        }

    def anonymous(self) -> dict[str, str]:
        return {k: v for k, v in self.login("anonymous").items() if k != "crypted_id"}

    def end_sessions(self) -> None:
        """Every session is logged out (expired on the server)."""
        with self.lock:
            for session in self.sessions.values():
                session.user_type = "anonymous"

    def logged_in_sessions(self) -> list[SimWebSession]:
        """The sessions the site holds that are not anonymous."""
        with self.lock:
            return [s for s in self.sessions.values() if s.user_type != "anonymous"]

    @property
    def last_sign_in(self) -> SignIn | None:
        with self.lock:
            return self.sign_ins[-1] if self.sign_ins else None

    def strict_check(
        self, method: str, path: str, headers: dict[str, str], cookies: dict[str, str]
    ) -> list[str]:
        """What, in strict mode, makes this request unlike the resume list page's XHR
        (recorded in :attr:`violations`); empty when it passes."""
        if not self.config.strict or path == "/" or not path.startswith("/applicant/"):
            return []
        lowered = {k.lower(): v for k, v in headers.items()}
        if method == "GET" and is_navigation(lowered):
            # a real browser runs DDoS-Guard's JavaScript challenge and passes
            with self.lock:
                self.navigations.append(f"{method} {path}")
            return []
        problems = []
        if "Chrome/" not in lowered.get("user-agent", "") or "sec-ch-ua" not in lowered:
            problems.append("not Chrome (User-Agent, Sec-Ch-Ua)")
        if lowered.get("x-requested-with", "").lower() != "xmlhttprequest":
            problems.append("no X-Requested-With: XMLHttpRequest")
        if method != "HEAD" and "application/json" not in lowered.get("accept", ""):
            problems.append("no Accept: application/json")
        for cookie, header in GIB_COOKIES.items():
            if cookie in cookies and lowered.get(header) != cookies[cookie]:
                problems.append(f"{header} is not the {cookie} cookie")
        if method == "POST" and path == TOUCH_PATH:
            origin = f"http://{lowered.get('host', '')}"
            if lowered.get("origin") != origin:
                problems.append("no Origin")
            if not lowered.get("referer", "").endswith("/applicant/resumes?role=applicant"):
                problems.append("Referer is not the resume list page")
            if not lowered.get("x-hhtmsource") or "x-hhtmfrom" not in lowered:
                problems.append("no X-Hhtmsource / X-Hhtmfrom")
        if problems:
            with self.lock:
                self.violations.append(f"{method} {path}: {'; '.join(problems)}")
        return problems

    def drop_to_anonymous(self, session: SimWebSession) -> None:
        with self.lock:
            session.user_type = "anonymous"

    def cold_home_page(self, session: SimWebSession) -> dict[str, str]:
        """The home page with a logged-in session: a new, anonymous hhtoken replaces it."""
        with self.lock:
            if session.user_type == "anonymous":
                return {}
            self.home_page_loads += 1
            del self.sessions[session.hhtoken]
        fresh = self._new_session("anonymous")
        return {"hhtoken": fresh.hhtoken, "_xsrf": fresh.xsrf}

    def is_live(self, hhtoken: str) -> bool:
        """Whether the site still accepts this hhtoken (a rotation kills the old one)."""
        with self.lock:
            return hhtoken in self.sessions

    # ---- the model ----------------------------------------------------------------

    def _new_session(self, user_type: str, username: str | None = None) -> SimWebSession:
        session = SimWebSession(_new_value(), _new_value(), user_type, username=username)
        with self.lock:
            self.sessions[session.hhtoken] = session
        return session

    def login_page(self, session: SimWebSession, backurl: str, error: str | None = None) -> bytes:
        """The stand-in login page: a plain form POST, the username field focused."""
        fields = self._hidden_fields(session, backurl)
        alert = _alert(error)
        body = (
            f"<h1>{LOGIN_TITLE}</h1>{alert}"
            f'<form method="post" action="{LOGIN_PATH}" id="login-form">{fields}'
            '<label for="username">Электронная почта или телефон</label>'
            '<input type="text" name="username" id="username" autocomplete="username"'
            " autofocus>"
            '<label for="password">Пароль</label>'
            '<input type="password" name="password" id="password"'
            ' autocomplete="current-password">'
            '<button type="submit" data-qa="login-submit">Войти</button></form>'
        )
        return _document(LOGIN_TITLE, body)

    def captcha_page(
        self, session: SimWebSession, step: str, backurl: str, error: str | None = None
    ) -> bytes:
        """The stand-in captcha step: a picture of :data:`SIM_CAPTCHA_ANSWER`."""
        fields = self._hidden_fields(session, backurl)
        picture = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="50" role="img"'
            ' aria-label="captcha"><rect width="160" height="50" fill="#eee"/>'
            '<text x="20" y="34" font-size="28" font-family="monospace">'
            f"{SIM_CAPTCHA_ANSWER}</text></svg>"
        )
        body = (
            f"<h1>{LOGIN_TITLE}</h1>{_alert(error)}<p>{CAPTCHA_PROMPT}</p>{picture}"
            f'<form method="post" action="{LOGIN_PATH}" id="captcha-form">{fields}'
            f'<input type="hidden" name="captcha_step" value="{step}">'
            '<input type="text" name="captcha" id="captcha" autocomplete="off" autofocus>'
            '<button type="submit" data-qa="captcha-submit">Войти</button></form>'
        )
        return _document(LOGIN_TITLE, body)

    def _hidden_fields(self, session: SimWebSession, backurl: str) -> str:
        return (
            f'<input type="hidden" name="_xsrf" value="{html.escape(session.xsrf)}">'
            f'<input type="hidden" name="backurl" value="{html.escape(backurl)}">'
        )

    def submit_login(
        self, session: SimWebSession, cookies: dict[str, str], form: dict[str, str]
    ) -> LoginAnswer:
        """A POST of the login form (or of its captcha step) by ``session``'s visitor."""
        # public scripts that log in to hh.ru post the _xsrf cookie's value with the
        # form; the site refuses a POST without it
        if not form.get("_xsrf") or form["_xsrf"] != session.xsrf:
            return LoginAnswer(403, _document("403", "<h1>403 Forbidden</h1><p>_xsrf</p>"))
        backurl = safe_backurl(form.get("backurl") or form.get("backUrl"))
        step = form.get("captcha_step")
        if step:
            return self._captcha_answer(session, cookies, step, form.get("captcha", ""))
        username = form.get("username", "").strip().lower()
        with self.lock:
            account = self.config.accounts.get(username)
        if account is None or form.get("password", "") != account.password:
            self._record_sign_in(SignIn(username, "wrong_password"))
            return LoginAnswer(200, self.login_page(session, backurl, LOGIN_ERROR))
        if account.captcha:
            self._record_sign_in(SignIn(username, "captcha_asked"))
            return self._ask_captcha(session, username, backurl)
        return self._finish_login(session, cookies, username, account, backurl)

    def _ask_captcha(
        self, session: SimWebSession, username: str, backurl: str, error: str | None = None
    ) -> LoginAnswer:
        step = _new_value("step")
        with self.lock:
            self.pending_captchas[step] = PendingCaptcha(username, session.hhtoken, backurl)
        return LoginAnswer(200, self.captcha_page(session, step, backurl, error))

    def _captcha_answer(
        self, session: SimWebSession, cookies: dict[str, str], step: str, answer: str
    ) -> LoginAnswer:
        with self.lock:
            pending = self.pending_captchas.pop(step, None)  # one time only
            account = self.config.accounts.get(pending.username) if pending else None
        if pending is None or account is None or pending.visitor != session.hhtoken:
            self._record_sign_in(SignIn(pending.username if pending else "", "step_expired"))
            return LoginAnswer(200, self.login_page(session, DEFAULT_BACKURL, LOGIN_AGAIN))
        if answer.strip().lower() != SIM_CAPTCHA_ANSWER:
            self._record_sign_in(SignIn(pending.username, "captcha_wrong"))
            return self._ask_captcha(session, pending.username, pending.backurl, CAPTCHA_ERROR)
        return self._finish_login(session, cookies, pending.username, account, pending.backurl)

    def _finish_login(
        self,
        visitor: SimWebSession,
        cookies: dict[str, str],
        username: str,
        account: WebAccount,
        backurl: str,
    ) -> LoginAnswer:
        """The visitor's session becomes the user's: a new hhtoken (the anonymous one
        dies at once, as a rotated one does), a new _xsrf, the user's cookies."""
        with self.lock:
            self.sessions.pop(visitor.hhtoken, None)
            for step, pending in list(self.pending_captchas.items()):
                if pending.visitor == visitor.hhtoken:
                    del self.pending_captchas[step]
        session = self._new_session(account.user_type, username)
        self._record_sign_in(SignIn(username, "logged_in", account.user_type))
        set_cookies: dict[str, str | None] = {
            "hhtoken": session.hhtoken,
            "_xsrf": session.xsrf,
            "crypted_id": "C" + hashlib.sha256(username.encode()).hexdigest()[:40],
            "hhrole": account.user_type,
        }
        if "hhuid" not in cookies:
            set_cookies["hhuid"] = _new_value("uid")
        return LoginAnswer(302, location=backurl, set_cookies=set_cookies)

    def logout(self, session: SimWebSession) -> dict[str, str | None]:
        """``/account/logout`` (a stand-in): the session ends, the browser gets a new
        anonymous one and loses the user's cookies."""
        with self.lock:
            self.sessions.pop(session.hhtoken, None)
            session.user_type = "anonymous"
        fresh = self._new_session("anonymous")
        return {"hhtoken": fresh.hhtoken, "_xsrf": fresh.xsrf, "crypted_id": None, "hhrole": None}

    def _record_sign_in(self, sign_in: SignIn) -> None:
        with self.lock:
            self.sign_ins.append(sign_in)

    def visit(self, cookies: dict[str, str]) -> tuple[SimWebSession, dict[str, str]]:
        """The session a request belongs to, and the cookies to set in the answer."""
        with self.lock:
            session = self.sessions.get(cookies.get("hhtoken", ""))
            if session is None:  # anonymous visitors get a token too
                session = self._new_session("anonymous")
                return session, {"hhtoken": session.hhtoken, "_xsrf": session.xsrf}
            return session, {}

    def rotate(self, session: SimWebSession) -> dict[str, str]:
        """After a request was judged: new values the answer hands out, if it is time."""
        set_cookies: dict[str, str] = dict(self.config.extra_cookies)
        with self.lock:
            session.requests += 1
            every = self.config.rotate_every
            if every and session.requests % every == 0:
                del self.sessions[session.hhtoken]
                session.hhtoken = _new_value()
                session.rotations += 1
                self.sessions[session.hhtoken] = session
                set_cookies["hhtoken"] = session.hhtoken
            every = self.config.rotate_xsrf_every
            if every and session.requests % every == 0:
                session.xsrf = _new_value()
                set_cookies["_xsrf"] = session.xsrf
        return set_cookies

    def resume_item(self, resume: SimResume) -> dict[str, Any]:
        now = self.sim.now()
        item: dict[str, Any] = {
            "_attributes": {
                "id": int(resume.id[:8], 16),
                "hash": resume.id,
                "status": resume.site_word,  # never "published" (public hh.ru tools' code)
                "updated": int(resume.updated_at.timestamp() * 1000) if resume.updated_at else None,
            },
            "title": [{"string": resume.title}],
        }
        if self.config.to_update and resume.status == "published":
            window = resume.next_publish_at
            left = math.floor((window - now).total_seconds()) if window else 0
            item["toUpdate"] = {"value": max(0, left), "count": 1}
        return item

    def state(self, session: SimWebSession) -> dict[str, Any]:
        base: dict[str, Any] = {"userType": session.user_type, "lang": "RU"}
        if session.user_type == "anonymous":
            return base
        with self.sim.lock:
            items = [self.resume_item(r) for r in self.sim.resumes.values()]
        return {**base, "account": {"firstName": "Иван"}, "applicantResumes": items}

    def page(self, state: dict[str, Any]) -> bytes:
        text = json.dumps(state, ensure_ascii=False)
        if self.config.page_format == "escaped":
            text = html.escape(text, quote=True)
        else:
            text = text.replace("</", "<\\/")
        return (
            "<!DOCTYPE html><html><head><title>Мои резюме</title></head><body>"
            f'<div id="HH-React-Root"></div><template id="HH-Lux-InitialState">{text}</template>'
            "</body></html>"
        ).encode()

    def touch(
        self,
        session: SimWebSession,
        cookies: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        lowered = {k.lower(): v for k, v in headers.items()}

        def judged(status: int, reason: str, resume: str | None = None) -> tuple[int, Any]:
            with self.lock:
                self.touches.append(WebTouch(status, resume, reason))
            return status, {"error": reason} if status >= 400 else {}

        if session.user_type != "applicant":
            return judged(403, "not logged in")
        xsrf = lowered.get("x-xsrftoken")
        if not xsrf or xsrf != session.xsrf or cookies.get("_xsrf") != session.xsrf:
            return judged(403, "xsrf mismatch")
        form = parse_multipart(lowered.get("content-type", ""), body)
        if form is None:
            return judged(400, "not multipart/form-data")
        resume_id = form.get("resume")
        if form.get("undirectable") != "true" or not resume_id:
            return judged(400, "resume and undirectable=true are required", resume_id)
        status, _ = self.sim.publish(resume_id)
        if status == 429:
            return judged(409, "too early", resume_id)
        if status == 404:
            return judged(404, "no such resume", resume_id)
        if status == 400:
            return judged(400, "cannot be raised", resume_id)
        return judged(200, "raised", resume_id)


def is_navigation(lowered_headers: dict[str, str]) -> bool:
    """A browser's top-level page load: it asks for an HTML document, not as an XHR."""
    return (
        "text/html" in lowered_headers.get("accept", "")
        and lowered_headers.get("x-requested-with", "").lower() != "xmlhttprequest"
    )


def safe_backurl(value: str | None) -> str:
    """A path on this site to land on after the login (anything else: the default)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_BACKURL
    return value


def set_cookie_header(name: str, value: str | None, host: str) -> str:
    """One Set-Cookie value. hh.ru sets its cookies for ``.hh.ru`` over HTTPS; the
    simulator serves plain HTTP on 127.0.0.1, where a browser would drop a cookie
    for another domain or a ``Secure`` one, so those come only when the request
    named an hh.ru host. ``None`` deletes the cookie."""
    parts = [f"{name}={value or ''}", "Path=/"]
    if value is None:
        parts.append("Max-Age=0")
    hostname = host.rsplit(":", 1)[0].lower()
    if hostname == "hh.ru" or hostname.endswith(".hh.ru"):
        parts += ["Domain=.hh.ru", "Secure"]
    if name in HTTP_ONLY_COOKIES:
        parts.append("HttpOnly")
    return "; ".join(parts)


def _alert(error: str | None) -> str:
    if not error:
        return ""
    return f'<div class="error" role="alert" data-qa="login-error">{html.escape(error)}</div>'


def _document(title: str, body: str) -> bytes:
    state = html.escape(json.dumps({"userType": "anonymous", "lang": "RU"}), quote=True)
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}"
        f'<template id="HH-Lux-InitialState">{state}</template></body></html>'
    ).encode()


def parse_cookie_header(header: str | None) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:  # noqa: BLE001 - a malformed header is an anonymous visit
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def parse_multipart(content_type: str, body: bytes) -> dict[str, str] | None:
    """The fields of a ``multipart/form-data`` body, or None when it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields
