""" "A new version is available": once a day, the project's latest release is asked
for and remembered; it is only ever shown (tray, ``status``), never downloaded or run.

The check is decided by the injected clock and a persisted state, so a restart
neither asks again before a day has passed nor forgets what it found. A failed
check (network, no release, rate limit, an answer we cannot read) is one line in
the log and is tried again at the next daily check, or sooner when the server
names a time (``retry-after``). It never raises into its caller: raising resumes
must not notice it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from tray_app.core.clock import Clock

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(days=1)
MIN_RETRY = timedelta(minutes=1)
"""A ``retry-after`` of zero or a reset already past must not turn into a loop."""
_VERSION = re.compile(r"^[vV]?(\d{1,9}(?:\.\d{1,9}){0,5})$")


def parse_version(tag: str) -> tuple[int, ...] | None:
    """A release tag (``v0.2.0``, ``0.10.0``) as comparable numbers, trailing zeros
    dropped so ``1.0`` equals ``1.0.0``; None for anything else (``0.2.0-rc1``,
    ``latest``): such a tag is not a version we know how to order."""
    match = _VERSION.match(tag.strip())
    if match is None:
        return None
    parts = [int(part) for part in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_newer(tag: str, current: str) -> bool:
    """Whether release ``tag`` is a later version than ``current``; an unreadable
    one of the two is never "newer"."""
    theirs, ours = parse_version(tag), parse_version(current)
    return theirs is not None and ours is not None and theirs > ours


@dataclass(frozen=True)
class Release:
    """A published release as the releases source describes it."""

    tag: str
    url: str  # the release's page, opened in the browser; nothing is downloaded
    name: str = ""
    published_at: datetime | None = None
    draft: bool = False
    prerelease: bool = False

    @property
    def version(self) -> str:
        """The tag without its ``v``: what the user is told."""
        return self.tag.strip().removeprefix("v").removeprefix("V")


class CheckFailed(Exception):
    """The check got no usable answer; ``retry_at`` is when the server said to ask
    again (rate limited), if it said."""

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class ReleaseSource(Protocol):
    def latest(self) -> Release:
        """The newest published, non-draft, non-pre-release release; raises
        :class:`CheckFailed` (there is none, rate limited, network, bad answer)."""
        ...


@dataclass(frozen=True)
class UpdateState:
    """What is kept across restarts. ``checked_at`` is the last check that got an
    answer; ``next_check_at`` when to ask next (a day after any attempt, or the
    server's ``retry-after``)."""

    checked_at: datetime | None = None
    next_check_at: datetime | None = None
    latest: Release | None = None


class StateFile(Protocol):
    def load(self) -> UpdateState: ...

    def save(self, state: UpdateState) -> None: ...


class UpdateKind(StrEnum):
    OFF = "off"  # the user turned the check off
    UNKNOWN = "unknown"  # not checked yet (or never with an answer)
    CURRENT = "current"  # up to date as of checked_at
    AVAILABLE = "available"  # a newer version: version and url


@dataclass(frozen=True)
class UpdateView:
    """What ``status`` and the tray show of the check."""

    kind: UpdateKind
    checked_at: datetime | None = None
    version: str | None = None
    url: str | None = None


class UpdateChecker:
    """Asks ``source`` at most once per :data:`CHECK_EVERY` while ``enabled()``."""

    def __init__(
        self,
        source: ReleaseSource,
        state: StateFile,
        clock: Clock,
        *,
        current_version: str,
        enabled: Callable[[], bool],
    ) -> None:
        self._source = source
        self._file = state
        self._clock = clock
        self._current = current_version
        self._enabled = enabled
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # one check at a time, whoever starts it
        self._state = state.load()

    @property
    def enabled(self) -> bool:
        return self._enabled()

    def view(self) -> UpdateView:
        """From memory only: the tray asks every second."""
        if not self._enabled():
            return UpdateView(UpdateKind.OFF)
        with self._lock:
            state = self._state
        if state.checked_at is None:
            return UpdateView(UpdateKind.UNKNOWN)
        latest = state.latest
        if latest is not None and is_newer(latest.tag, self._current):
            return UpdateView(UpdateKind.AVAILABLE, state.checked_at, latest.version, latest.url)
        return UpdateView(UpdateKind.CURRENT, state.checked_at)

    def next_check_at(self) -> datetime:
        """When a check is due (now when none was ever made)."""
        return self._next_check_at(self._clock.now())

    def _next_check_at(self, now: datetime) -> datetime:
        """A date more than a day ahead (the clock was set back) is brought back to
        a day from ``now``, once: it must not recede with every look."""
        with self._lock:
            planned = self._state.next_check_at
            if planned is not None and planned > now + CHECK_EVERY:
                planned = now + CHECK_EVERY
                self._state = replace(self._state, next_check_at=planned)
        return now if planned is None else planned

    def due(self) -> bool:
        now = self._clock.now()
        return self._enabled() and now >= self._next_check_at(now)

    def check_if_due(self) -> bool:
        """Checks when due and enabled; True when a request was made. Never raises."""
        if not self.due() or not self._checking.acquire(blocking=False):
            return False
        try:
            self._check()
        except Exception:  # a bug here must never reach the raising loop
            log.exception("the update check failed unexpectedly")
        finally:
            self._checking.release()
        return True

    def _check(self) -> None:
        now = self._clock.now()
        with self._lock:
            state = self._state
        try:
            release = self._source.latest()
        except CheckFailed as exc:
            retry = now + CHECK_EVERY
            if exc.retry_at is not None:
                retry = min(retry, max(exc.retry_at, now + MIN_RETRY))
            log.warning(
                "could not check for a new version: %s; next try at %s",
                exc,
                retry.isoformat(timespec="seconds"),
            )
            self._store(replace(state, next_check_at=retry))
            return
        if release.draft or release.prerelease:
            # GitHub's "latest" is never either; a stand-in that says so is not believed
            log.warning("ignoring the latest release %r: a draft or a pre-release", release.tag)
            release_kept = state.latest
        elif parse_version(release.tag) is None:
            # GitHub's "latest" is by date, not by tag: a tag like "nightly" says nothing
            log.warning("ignoring the latest release: %r is not a version number", release.tag)
            release_kept = state.latest
        else:
            release_kept = release
            newer = is_newer(release.tag, self._current)
            log.info(
                "update check: latest release %s, this is %s%s",
                release.version,
                self._current,
                " (a newer version is available)" if newer else "",
            )
        self._store(UpdateState(now, now + CHECK_EVERY, release_kept))

    def _store(self, state: UpdateState) -> None:
        with self._lock:
            self._state = state
        try:
            self._file.save(state)
        except OSError as exc:
            log.warning("could not save the update check's result: %s", exc)
