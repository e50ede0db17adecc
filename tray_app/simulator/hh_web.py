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
"""

from __future__ import annotations

import email.parser
import email.policy
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
WEB_PATHS = ("/applicant/", "/account/")
GIB_COOKIES = {"gsscgib-w-hh": "x-gib-gsscgib-w-hh", "fgsscgib-w-hh": "x-gib-fgsscgib-w-hh"}
DDOS_GUARD_PAGE = (
    b"<!DOCTYPE html><html><head><title>DDoS-Guard</title>"
    b'<script src="/.well-known/ddos-guard/js-challenge/index.js"></script></head>'
    b"<body>Checking your browser before accessing hh.ru</body></html>"
)


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


@dataclass
class SimWebSession:
    hhtoken: str
    xsrf: str
    user_type: str = "applicant"  # "anonymous" for a visitor who is not logged in
    requests: int = 0
    rotations: int = 0


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
        self.home_page_loads = 0

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

    def strict_check(
        self, method: str, path: str, headers: dict[str, str], cookies: dict[str, str]
    ) -> list[str]:
        """What, in strict mode, makes this request unlike the resume list page's XHR
        (recorded in :attr:`violations`); empty when it passes."""
        if not self.config.strict or path == "/" or not path.startswith("/applicant/"):
            return []
        lowered = {k.lower(): v for k, v in headers.items()}
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
            self.home_page_loads += 1
            if session.user_type == "anonymous":
                return {}
            del self.sessions[session.hhtoken]
        fresh = self._new_session("anonymous")
        return {"hhtoken": fresh.hhtoken, "_xsrf": fresh.xsrf}

    def is_live(self, hhtoken: str) -> bool:
        """Whether the site still accepts this hhtoken (a rotation kills the old one)."""
        with self.lock:
            return hhtoken in self.sessions

    # ---- the model ----------------------------------------------------------------

    def _new_session(self, user_type: str) -> SimWebSession:
        session = SimWebSession(_new_value(), _new_value(), user_type)
        with self.lock:
            self.sessions[session.hhtoken] = session
        return session

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
