"""The project's latest release, from GitHub's REST API.

Sources: GitHub REST API docs, "Get the latest release"
(``GET /repos/{owner}/{repo}/releases/latest``: the most recent non-draft,
non-pre-release release, by date; 404 when the repository has none; fields
``tag_name``, ``html_url``, ``name``, ``published_at``, ``draft``, ``prerelease``)
and "Rate limits for the REST API" (403 or 429; ``retry-after`` seconds, or
``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset`` in UTC epoch seconds), and
"Getting started with the REST API" (send ``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28`` and a ``User-Agent``; a request without a
User-Agent is refused).

Nothing but those headers is sent: no account, no token, nothing about the user.
One request, no retries: a failed check is tried again at the next daily one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import requests

from tray_app import APP_ID, PROJECT_REPOSITORY, __version__
from tray_app.core.clock import Clock
from tray_app.core.redact import redactor
from tray_app.core.updates import CheckFailed, Release
from tray_app.transports.http import CONNECT_TIMEOUT, READ_TIMEOUT

log = logging.getLogger(__name__)

DEFAULT_RELEASES_URL = "https://api.github.com"
HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": f"{APP_ID}/{__version__}",
}
MAX_BODY = 1_000_000  # a release's JSON is a few KB (its notes included)


def latest_path(repository: str = PROJECT_REPOSITORY) -> str:
    return f"/repos/{repository}/releases/latest"


class GitHubReleases:
    """A :class:`~tray_app.core.updates.ReleaseSource` over GitHub (or a stand-in at
    ``base_url``: ``HH_RAISER_RELEASES_URL``)."""

    def __init__(
        self,
        base_url: str,
        clock: Clock,
        *,
        repository: str = PROJECT_REPOSITORY,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self.url = base_url.rstrip("/") + latest_path(repository)
        self._clock = clock
        self._timeout = timeout
        self._session = requests.Session()  # honours HTTP(S)_PROXY / NO_PROXY
        self._session.headers.update(HEADERS)

    def latest(self) -> Release:
        try:
            response = self._session.get(self.url, timeout=self._timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise CheckFailed(f"no answer from {self.url} ({redactor(str(exc))})") from None
        if response.status_code == 404:
            raise CheckFailed("the project has published no release yet")
        if response.status_code in (403, 429):
            retry_at = self._retry_at(response)
            if retry_at is not None:
                raise CheckFailed("GitHub's limit of requests is reached", retry_at=retry_at)
            raise CheckFailed(f"GitHub refused the request (HTTP {response.status_code})")
        if response.status_code != 200:
            raise CheckFailed(f"GitHub answered HTTP {response.status_code}")
        return _release(response)

    def _retry_at(self, response: requests.Response) -> datetime | None:
        """When the rate limit lets us ask again, if the answer says (it is one)."""
        headers = response.headers
        retry_after = headers.get("retry-after", "").strip()
        if retry_after.isdigit():
            return self._clock.now() + timedelta(seconds=int(retry_after))
        reset = headers.get("x-ratelimit-reset", "").strip()
        if headers.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
            try:
                return datetime.fromtimestamp(int(reset), UTC)
            except (OverflowError, OSError, ValueError):
                return None
        return None

    def close(self) -> None:
        self._session.close()


def _web_page(url: str) -> bool:
    """Only a web page is ever handed to the browser (never ``file:`` or a program)."""
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _release(response: requests.Response) -> Release:
    if len(response.content) > MAX_BODY:
        raise CheckFailed("the answer is too large to be a release")
    try:
        data: Any = response.json()
    except ValueError:
        raise CheckFailed("the answer is not JSON") from None
    if not isinstance(data, dict):
        raise CheckFailed("the answer is not a release")
    tag, url = data.get("tag_name"), data.get("html_url")
    if not isinstance(tag, str) or not isinstance(url, str) or not _web_page(url):
        raise CheckFailed("the answer has no tag_name or no web page in html_url")
    published = data.get("published_at")
    published_at = None
    if isinstance(published, str):
        try:
            published_at = datetime.fromisoformat(published.replace("Z", "+00:00"))
        except ValueError:
            published_at = None
    return Release(
        tag=tag,
        url=url,
        name=str(data.get("name") or ""),
        published_at=published_at,
        draft=data.get("draft") is True,
        prerelease=data.get("prerelease") is True,
    )
