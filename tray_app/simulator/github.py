"""A stand-in for GitHub's releases API: a real HTTP server on 127.0.0.1 for tests and
the demo (the update check must never reach the real internet from either).

Modelled on the GitHub REST API docs:

- "Get the latest release": ``GET /repos/{owner}/{repo}/releases/latest`` answers 200
  with the release (``tag_name``, ``html_url``, ``name``, ``published_at``, ``draft``,
  ``prerelease``, ...), and 404 ``{"message": "Not Found", ...}`` when the repository
  has no published release;
- "Rate limits for the REST API": past the limit, 403 (or 429) with
  ``x-ratelimit-limit``, ``x-ratelimit-remaining: 0``, ``x-ratelimit-used`` and
  ``x-ratelimit-reset`` (UTC epoch seconds) headers, and for a secondary limit a
  ``retry-after`` (seconds);
- "Getting started with the REST API": a request without ``User-Agent`` is refused
  (403); every request is recorded here so a test can check what was sent, or that
  nothing was.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tray_app.simulator.server import LocalServer, SimHandler

DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


@dataclass
class SimRelease:
    tag: str
    draft: bool = False
    prerelease: bool = False
    name: str = ""
    published_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class _Handler(SimHandler):
    def do_GET(self) -> None:
        sim: GitHubSimulator = self.sim
        sim.record(SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()}))
        parts = self.path.split("?")[0].strip("/").split("/")
        if not self.headers.get("User-Agent"):
            self._json(403, {"message": "Request forbidden by administrative rules."})
            return
        if len(parts) != 5 or parts[0] != "repos" or parts[3:] != ["releases", "latest"]:
            self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            return
        with sim.lock:
            limited, retry_after, release, body = (
                sim.rate_limited,
                sim.retry_after,
                sim.release,
                sim.raw_body,
            )
        if limited:
            headers = {
                "x-ratelimit-limit": "60",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "60",
                "x-ratelimit-reset": str(int(time.time()) + 3600),
            }
            if retry_after is not None:
                headers["retry-after"] = str(retry_after)
            message = {"message": "API rate limit exceeded.", "documentation_url": DOCS}
            self._json(403, message, headers)
            return
        if body is not None:
            self._send(200, body.encode(), {})
            return
        if release is None:
            self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            return
        owner, repo = parts[1], parts[2]
        self._json(
            200,
            {
                "url": f"{sim.url}/repos/{owner}/{repo}/releases/1",
                "html_url": f"https://github.com/{owner}/{repo}/releases/tag/{release.tag}",
                "id": 1,
                "tag_name": release.tag,
                "name": release.name or release.tag,
                "draft": release.draft,
                "prerelease": release.prerelease,
                "published_at": release.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "assets": [],
                "body": "What changed.",
            },
        )

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers or {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class GitHubSimulator(LocalServer):
    """``release`` None: the repository has none (404); ``rate_limited``: 403 with
    the rate-limit headers (and ``retry-after`` when set); ``raw_body``: answered as
    is (an answer that is not JSON)."""

    handler = _Handler

    def __init__(self, release: SimRelease | None = None) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.release = release
        self.rate_limited = False
        self.retry_after: int | None = None
        self.raw_body: str | None = None
        self.requests: list[SeenRequest] = []

    def record(self, request: SeenRequest) -> None:
        with self.lock:
            self.requests.append(request)
