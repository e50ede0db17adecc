"""Taking the user's hh.ru website session: from pasted text, a file, or Firefox.

Shared by ``hh-raiser login --web`` and the settings window. Nothing is stored until
the site has shown, with these cookies, a logged-in job seeker and their resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tray_app.core.errors import (
    AnonymousSession,
    CaptchaRequired,
    HHRaiserError,
    NotApplicant,
    RemoteError,
    SessionExpired,
    SessionImportError,
    SignInWindowClosed,
)
from tray_app.core.models import Resume, TransportKind
from tray_app.i18n import t
from tray_app.i18n.text import error_text
from tray_app.storage import firefox
from tray_app.storage.cookie_sources import cookies_for_host, session_cookies
from tray_app.storage.web_session import HeldSession, WebSession
from tray_app.wiring import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebLogin:
    host: str
    resumes: list[Resume]
    cookie_count: int


def cookies_from_text(text: str, host: str, runtime: Runtime) -> dict[str, str]:
    return session_cookies(text, host, runtime.clock.now())


def cookies_from_firefox(
    host: str,
    runtime: Runtime,
    profile: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], Path]:
    """The first profile (the one in use first) that has current cookies for ``host``."""
    profiles = [profile] if profile else firefox.find_profiles(environ)
    if not profiles:
        raise SessionImportError("no Firefox profile with a cookie database was found")
    for candidate in profiles:
        cookies = cookies_for_host(firefox.read_cookies(candidate, host), host, runtime.clock.now())
        if cookies:
            return cookies, candidate
    names = ", ".join(p.name for p in profiles)
    raise SessionImportError(f"Firefox has no cookies for {host} (profiles: {names})")


def sign_in_with_cookies(
    runtime: Runtime, cookies: Mapping[str, str], host: str, source: str
) -> WebLogin:
    """Checks the session on the site, then stores it and switches to the website.

    Raises what the check found (AnonymousSession, SessionExpired, CaptchaRequired,
    a TransientError) with nothing written.
    """
    held = HeldSession(WebSession(host, dict(cookies)))
    transport = runtime.make_web_transport(host, held)
    try:
        resumes = transport.list_resumes()
    finally:
        transport.close()
    runtime.web_sessions(host).save(held.session, runtime.clock.now())
    runtime.settings.update(transport=TransportKind.WEB, web_host=host)
    log.info("website session for %s stored from %s: %d resumes", host, source, len(resumes))
    return WebLogin(host, resumes, len(held.session.cookies))


def done_text(login: WebLogin, backend: str, language: str) -> str:
    titles = ", ".join(f"«{r.title}»" for r in login.resumes) or t("web.no_resumes", language)
    return t(
        "web.done",
        language,
        host=login.host,
        backend=backend,
        count=login.cookie_count,
        resumes=titles,
    )


def problem_text(exc: HHRaiserError, host: str, language: str) -> str:
    """Why the session was not taken, and what the user can do; nothing was saved."""
    if isinstance(exc, SignInWindowClosed):
        return t("window.closed", language)
    if isinstance(exc, SessionImportError):
        return t("web.bad_source", language, detail=exc)
    if isinstance(exc, NotApplicant):
        return t("web.not_applicant", language, kind=exc.account_type, host=host)
    if isinstance(exc, AnonymousSession):
        return t("web.anonymous", language, detail=exc, host=host)
    if isinstance(exc, SessionExpired):
        return t("web.expired", language, detail=exc, host=host)
    if isinstance(exc, CaptchaRequired):
        return t("web.captcha", language, url=exc.captcha_url or f"https://{host}")
    if isinstance(exc, RemoteError):
        return t("web.unreachable", language, detail=exc)
    return error_text(exc, language)
