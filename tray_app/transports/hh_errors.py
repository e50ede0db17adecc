"""Turns hh.ru API answers into the typed errors of :mod:`tray_app.core.errors`.

Decisions follow ``errors[].type`` / ``errors[].value`` as hh's API documentation and
OpenAPI specification (api.hh.ru/openapi/redoc) describe them; the legacy
``oauth_error`` field is only a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode, urlparse

import requests

from tray_app.core.errors import (
    ApplicantApiClosed,
    BadUserAgent,
    BotCheck,
    CaptchaRequired,
    InvalidResponse,
    NotPublishable,
    RateLimited,
    ResumeNotFound,
    ServerError,
    SignInNeeded,
    TokenExpired,
    TooEarly,
    UnexpectedResponse,
)
from tray_app.transports.protection import fingerprint, is_ddos_guard_page

log = logging.getLogger(__name__)

_LEGACY_OAUTH = {
    "token-expired": "token_expired",
    "token-revoked": "token_revoked",
    "bad-auth-type": "bad_authorization",
    "client-id-deleted": "application_not_found",
}
CAPTCHA_BACKURL = "https://hh.ru/applicant/resumes"


def json_body(response: requests.Response) -> Any:
    """The parsed body, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class _Answer(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


def request_id_of(response: _Answer, body: Any = None) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        return str(body["request_id"])
    return response.headers.get("X-Request-ID") or response.headers.get("X-Request-Id")


def _errors(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def with_backurl(captcha_url: str | None) -> str | None:
    """hh.ru asks applications to add ``backurl`` to a captcha link."""
    if not captcha_url or "backurl=" in captcha_url:
        return captcha_url
    separator = "&" if urlparse(captcha_url).query else "?"
    return captcha_url + separator + urlencode({"backurl": CAPTCHA_BACKURL})


def raise_for_api_error(response: requests.Response, what: str) -> Any:
    """Returns the JSON body of a 2xx answer; raises the matching error otherwise."""
    body = json_body(response)
    status = response.status_code
    request_id = request_id_of(response, body)
    kw: dict[str, Any] = {"status": status, "request_id": request_id}
    if 200 <= status < 300:
        return body
    log.info(
        "%s: HTTP %s request_id=%s errors=%s",
        what,
        status,
        request_id,
        _errors(body),
        extra={"event": "hh_error", "request_id": request_id, "http_status": status},
    )
    if body is None and is_ddos_guard_page(response.content):
        raise BotCheck(
            f"{what}: DDoS-Guard's bot protection answered instead of hh.ru (HTTP {status})",
            fingerprint=fingerprint(status, response.headers, response.content),
            **kw,
        )
    if status >= 500:
        raise ServerError(f"{what}: hh.ru server error {status}", **kw)
    if body is None and status not in (404, 429):
        raise InvalidResponse(f"{what}: HTTP {status} with a non-JSON body", **kw)
    errors = _errors(body)
    types = {str(e.get("type")) for e in errors}
    values = {str(e.get("value")) for e in errors}
    if isinstance(body, dict) and not errors and body.get("oauth_error") in _LEGACY_OAUTH:
        types, values = {"oauth"}, {_LEGACY_OAUTH[body["oauth_error"]]}
    if status == 400 and "bad_user_agent" in types:
        raise BadUserAgent(f"{what}: HH-User-Agent {', '.join(sorted(values))}", **kw)
    if status == 403 or "captcha_required" in types:
        captcha = next((e for e in errors if e.get("type") == "captcha_required"), None)
        if captcha is not None:
            url = captcha.get("captcha_url") or captcha.get("fallback_url")
            raise CaptchaRequired(f"{what}: captcha required", captcha_url=with_backurl(url), **kw)
        if "oauth" in types:
            if "token_expired" in values:
                raise TokenExpired(f"{what}: access token expired", **kw)
            raise SignInNeeded(f"{what}: {', '.join(sorted(values)) or 'oauth error'}", **kw)
        raise ApplicantApiClosed(f"{what}: forbidden ({', '.join(sorted(types))})", **kw)
    if status == 400:
        raise NotPublishable(f"{what}: hh.ru refused ({', '.join(sorted(types))})", **kw)
    if status == 404:
        raise ResumeNotFound(f"{what}: not found", **kw)
    if status == 429:
        if "touch_limit_exceeded" in values:
            raise TooEarly(f"{what}: too early (touch_limit_exceeded)", **kw)
        raise RateLimited(f"{what}: rate limited", **kw)
    raise UnexpectedResponse(f"{what}: unexpected HTTP {status}", **kw)
