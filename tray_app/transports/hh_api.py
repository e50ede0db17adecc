"""The official hh.ru API transport: ``/me``, ``/resumes/mine``, ``/resumes/{id}/publish``."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import requests

from tray_app import APP_NAME, __version__
from tray_app.core.clock import parse_hh_datetime
from tray_app.core.errors import InvalidResponse, TokenExpired
from tray_app.core.models import PublishReceipt, Resume, Standing
from tray_app.transports.exchanges import Exchanges
from tray_app.transports.hh_errors import raise_for_api_error, request_id_of
from tray_app.transports.http import HttpClient
from tray_app.transports.oauth import TokenManager

log = logging.getLogger(__name__)

PER_PAGE = 100
MAX_PAGES = 20


def hh_user_agent(contact_email: str) -> str:
    """``HH-User-Agent: <AppName>/<version> (<contact e-mail>)`` as hh.ru requires."""
    contact = contact_email or "no-contact-set"
    return f"{APP_NAME.replace(' ', '')}/{__version__} ({contact})"


def _optional_time(value: Any) -> Any:
    return parse_hh_datetime(value) if isinstance(value, str) and value else None


def api_standing(status: str, blocked: bool) -> Standing:
    """By exclusion: ``not_published`` is a draft, ``blocked`` is blocked; every
    other status (``published``, ``on_moderation``, one we have never seen) may be
    raised, and a ``400`` from publish says otherwise (hh's API docs, api.hh.ru/openapi/redoc).

    ``can_publish_or_update`` plays no part: it means "now" and is false through
    every cooldown (hh's field table and the OpenAPI examples, api.hh.ru/openapi/redoc)."""
    if blocked or status == "blocked":
        return Standing.BLOCKED
    if status == "not_published":
        return Standing.DRAFT
    return Standing.LIVE


RAW_FIELDS = ("status", "blocked", "can_publish_or_update", "next_publish_at", "updated_at")


def _raw(item: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The fields our reading rests on, as hh.ru wrote them (``doctor`` shows them)."""
    raw = [(key, json.dumps(item.get(key), ensure_ascii=False)) for key in RAW_FIELDS]
    access = item.get("access")
    if isinstance(access, dict) and isinstance(access.get("type"), dict):
        raw.append(("access.type.id", str(access["type"].get("id"))))
    services = [s.get("id") for s in item.get("paid_services") or [] if isinstance(s, dict)]
    raw.append(("paid_services", ", ".join(map(str, services)) or "-"))
    return tuple(raw)


def parse_resume(item: dict[str, Any]) -> Resume:
    """One ``/resumes/mine`` item; a missing id or a bad date is an InvalidResponse."""
    try:
        raw_status = item.get("status") or {}
        status = str(raw_status.get("id") if isinstance(raw_status, dict) else raw_status)
        blocked = bool(item.get("blocked", False))
        return Resume(
            id=str(item["id"]),
            title=str(item.get("title") or "").strip() or str(item["id"]),
            status=status,
            blocked=blocked,
            can_publish=item.get("can_publish_or_update"),
            next_publish_at=_optional_time(item.get("next_publish_at")),
            updated_at=_optional_time(item.get("updated_at")),
            standing=api_standing(status, blocked),
            raw=_raw(item),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidResponse(f"/resumes/mine: unreadable resume item ({exc})") from None


class ApiTransport:
    """Raises resumes through api.hh.ru with the user's OAuth tokens."""

    def __init__(self, http: HttpClient, tokens: TokenManager) -> None:
        self._http = http
        self.tokens = tokens
        self.exchanges = Exchanges()

    def _authorized(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends with the current access token; on ``token_expired`` refreshes once and
        resends (the first request was refused, so resending cannot raise twice)."""
        token = self.tokens.access_token()
        for attempt in range(2):
            started = time.monotonic()
            response = self._http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            self.exchanges.record(
                method,
                path,
                response.status_code,
                time.monotonic() - started,
                response.headers,
                (),
                response.content,
            )
            request_id = request_id_of(response)
            log.info(
                "%s %s -> %s request_id=%s",
                method,
                path,
                response.status_code,
                request_id,
                extra={
                    "event": "http",
                    "request_id": request_id,
                    "http_status": response.status_code,
                },
            )
            if response.status_code != 403 or attempt == 1:
                return response
            try:
                raise_for_api_error(response, f"{method} {path}")
            except TokenExpired:
                token = self.tokens.refresh(token)
        return response

    def me(self) -> dict[str, Any]:
        body = raise_for_api_error(self._authorized("GET", "/me"), "GET /me")
        if not isinstance(body, dict):
            raise InvalidResponse("GET /me: expected a JSON object")
        return body

    def list_resumes(self) -> list[Resume]:
        """Every page of ``/resumes/mine``."""
        resumes: list[Resume] = []
        page, pages = 0, 1
        while page < min(pages, MAX_PAGES):
            params = {"page": page, "per_page": PER_PAGE}
            body = raise_for_api_error(
                self._authorized("GET", "/resumes/mine", params=params), "GET /resumes/mine"
            )
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise InvalidResponse("GET /resumes/mine: no items list")
            resumes.extend(parse_resume(item) for item in body["items"])
            pages = int(body.get("pages") or 1)
            page += 1
        log.info("api: %d resumes: %s", len(resumes), "; ".join(r.describe() for r in resumes))
        return resumes

    def publish(self, resume_id: str) -> PublishReceipt:
        path = f"/resumes/{resume_id}/publish"
        response = self._authorized("POST", path)
        raise_for_api_error(response, f"POST {path}")
        return PublishReceipt(response.status_code, request_id_of(response))

    def ping(self) -> None:
        """A cheap authorized request; used to sample hh.ru's clock."""
        self.me()

    def credentials_changed(self) -> None:
        """Nothing cached: the token manager reads the keyring for every request."""
