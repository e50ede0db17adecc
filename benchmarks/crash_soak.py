"""The crash soak: ``kill -9`` of ``run --headless`` at chosen moments, again and again.

Each round starts the app on the same home against the simulator (a short cooldown, a
short token lifetime or a rotating website session, so raises, token refreshes and
cookie rotations come every few seconds), waits for the moment the round aims at, and
kills the process without warning:

- ``refresh``: 0-100 ms after hh.ru answered a token refresh (API);
- ``session``: 0-100 ms after hh.ru answered with a rotated ``hhtoken`` (website);
- ``raise``: 0-100 ms after hh.ru answered a raise (the app is confirming it then);
- ``settings``: while ``config set`` processes write ``settings.json`` (they are
  killed too, at random);
- ``random``: at a random moment in the first seconds.

After every kill, with nothing running, it checks what a user would lose: the settings
file parses and still holds every setting it was given; the stored token pair or
session still works on the server, unless the kill fell inside the one named window
(after hh.ru replaced the pair or the cookie, before the keyring write ended: the
server rotated it less than ``WINDOW_BOUND`` before the kill). Such a loss is counted,
and the soak signs in again to go on. At the end: every raise hh.ru accepted is in the
history, and hh.ru never had to refuse a raise as too early. The window's width is
measured too: how long this machine's Secret Service takes to store a token pair and
a session (the only work inside the window).

Run through ``scripts/bench crash-soak`` (a throwaway Secret Service keyring); a short
version is ``tests/test_crash_soak.py``.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tray_app.core.models import Outcome, TokenPair
from tray_app.simulator.hh import HHSimulator, RecordedRequest, SimConfig, demo_resumes
from tray_app.simulator.hh_web import TOUCH_PATH
from tray_app.storage.history import History
from tray_app.storage.paths import AppPaths, app_paths
from tray_app.storage.secrets import SecretStore, TokenStore
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession, WebSessionStore

KINDS = {
    "api": ("refresh", "raise", "settings", "random"),
    "web": ("session", "raise", "settings", "random"),
}
KILL_DELAY_MAX = 0.100  # s after hh.ru's answer: before, inside and after the keyring write
WINDOW_BOUND = 0.5  # s: a loss later than this after the server's rotation is a bug
TRIGGER_WAIT = 20.0  # s: a round whose moment never comes kills at random instead
MARGIN = 0.5  # s: the app's margin after a window opens
EMAIL = "soak@example.com"
TOKEN_PATHS = ("/token", "/oauth/token")  # hh's endpoint and its deprecated twin


@dataclass
class Round:
    kind: str
    killed_at: float = 0.0
    trigger_missed: bool = False
    credentials_lost: bool = False
    lost_in_window: bool = False
    settings_ok: bool = True


@dataclass
class SoakResult:
    transport: str
    rounds: list[Round] = field(default_factory=list)
    accepted_raises: int = 0
    premature_raises: int = 0
    history_missing: int = 0
    write_ms: dict[str, float] = field(default_factory=dict)
    refreshes: int = 0
    rotations: int = 0
    seconds: float = 0.0

    @property
    def losses_outside_window(self) -> int:
        return sum(r.credentials_lost and not r.lost_in_window for r in self.rounds)

    def summary(self) -> dict[str, object]:
        by_kind: dict[str, int] = {}
        for r in self.rounds:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
        return {
            "transport": self.transport,
            "kills": len(self.rounds),
            "kills_by_moment": by_kind,
            "moments_missed": sum(r.trigger_missed for r in self.rounds),
            "token_refreshes" if self.transport == "api" else "cookie_rotations": (
                self.refreshes if self.transport == "api" else self.rotations
            ),
            "raises_accepted": self.accepted_raises,
            "raises_refused_too_early": self.premature_raises,
            "credentials_lost_in_window": sum(r.lost_in_window for r in self.rounds),
            "credentials_lost_outside_window": self.losses_outside_window,
            "settings_unreadable_or_changed": sum(not r.settings_ok for r in self.rounds),
            "history_missing": self.history_missing,
            **{f"window_keyring_write_ms_{k}": v for k, v in self.write_ms.items()},
            "seconds": round(self.seconds, 1),
        }


class CrashSoak:
    """One home, one simulator, many kills; see the module docstring."""

    def __init__(
        self, transport: str, app: list[str], *, cooldown: float = 6.0, seed: int = 1
    ) -> None:
        self.transport = transport
        self.app = app
        self.random = random.Random(seed)
        config = SimConfig(cooldown=cooldown, token_lifetime=3.0)
        self.sim = HHSimulator(config, resumes=demo_resumes(datetime.now(UTC), config))
        if transport == "web":
            self.sim.web.config.rotate_every = 2  # a new hhtoken every second request
        self.home = Path(tempfile.mkdtemp(prefix="hh-raiser-soak-"))
        self.env = {**os.environ, "HH_RAISER_HOME": str(self.home)}
        self.paths: AppPaths | None = None
        self.result = SoakResult(transport)
        self._email_writes = 0

    # ---- setup ------------------------------------------------------------------

    def start(self) -> CrashSoak:
        self.sim.start()
        self.env.update(
            HH_RAISER_API_URL=self.sim.url,
            HH_RAISER_OAUTH_URL=self.sim.url,
            HH_RAISER_WEB_URL=self.sim.url,
            PYTHONUNBUFFERED="1",
        )
        self.paths = app_paths(self.env).ensure()
        self.settings_store.update(
            margin_seconds=MARGIN, contact_email=EMAIL, transport=self.transport
        )
        self.secrets = SecretStore(service=self.paths.keyring_service)
        self.sign_in()
        return self

    def stop(self) -> None:
        self.sim.stop()

    @property
    def settings_store(self) -> SettingsStore:
        assert self.paths is not None
        return SettingsStore(self.paths.settings_file)

    def sign_in(self) -> None:
        """A fresh token pair or session, as the user would after a loss."""
        if self.transport == "api":
            token = self.sim.issue_tokens()
            TokenStore(self.secrets).save(
                TokenPair(token.access_token, token.refresh_token, token.expires_at)
            )
        else:
            session = WebSession("hh.ru", self.sim.web.login())
            WebSessionStore(self.secrets, "hh.ru").save(session, datetime.now(UTC))

    # ---- one round -------------------------------------------------------------

    def run_round(self, kind: str) -> Round:
        round_ = Round(kind)
        seen = len(self.sim.requests)
        process = subprocess.Popen(
            [*self.app, "run", "--headless"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        writers: list[subprocess.Popen[bytes]] = []
        try:
            if kind == "settings":
                time.sleep(self.random.uniform(0.5, 2.0))
                writers = [self._config_set() for _ in range(3)]
                time.sleep(self.random.uniform(0.0, 0.6))
                for writer in writers[:2]:
                    _kill(writer)
            elif kind == "random":
                time.sleep(self.random.uniform(0.2, 4.0))
            else:
                answered = self._wait_for_answer(self._matcher(kind), seen)
                if answered is None:
                    round_.trigger_missed = True
                else:
                    time.sleep(self.random.uniform(0.0, KILL_DELAY_MAX))
        finally:
            round_.killed_at = time.time()
            _kill(process)
            for writer in writers:
                writer.wait(timeout=60)
        round_.settings_ok = self._settings_intact()
        round_.credentials_lost, round_.lost_in_window = self._credentials(round_.killed_at)
        if round_.credentials_lost:
            self.sign_in()
        self.result.rounds.append(round_)
        return round_

    def _config_set(self) -> subprocess.Popen[bytes]:
        self._email_writes += 1
        return subprocess.Popen(
            [*self.app, "config", "set", "contact_email", f"soak{self._email_writes}@example.com"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _matcher(self, kind: str) -> Callable[[RecordedRequest], bool]:
        if kind == "refresh":
            return lambda r: r.method == "POST" and r.path in TOKEN_PATHS
        if kind == "raise":
            return lambda r: (
                r.method == "POST" and (r.path.endswith("/publish") or r.path == TOUCH_PATH)
            )
        return lambda r: "hhtoken" in r.set_cookies

    def _wait_for_answer(
        self, matches: Callable[[RecordedRequest], bool], seen: int
    ) -> RecordedRequest | None:
        """The first request after ``seen`` that matches, once hh.ru has answered it."""
        deadline = time.monotonic() + TRIGGER_WAIT
        while time.monotonic() < deadline:
            with self.sim.lock:
                fresh = list(self.sim.requests)[seen:]
            for request in fresh:
                if request.answered_at and matches(request):
                    return request
            time.sleep(0.002)
        return None

    # ---- what a kill may not lose ------------------------------------------------

    def _settings_intact(self) -> bool:
        assert self.paths is not None
        try:
            raw = json.loads(self.paths.settings_file.read_text(encoding="utf-8"))
            settings = self.settings_store.load()
        except (OSError, ValueError):
            return False
        emails = {EMAIL, *(f"soak{n}@example.com" for n in range(1, self._email_writes + 1))}
        return (
            isinstance(raw, dict)
            and settings.margin_seconds == MARGIN
            and settings.transport.value == self.transport
            and settings.contact_email in emails
        )

    def _credentials(self, killed_at: float) -> tuple[bool, bool]:
        """(lost, inside the window): the stored pair or session no longer works; it
        was replaced on the server less than WINDOW_BOUND before the kill."""
        if self.transport == "api":
            pair = TokenStore(self.secrets).load()
            if pair is None:
                return True, False
            with self.sim.lock:
                if pair.access_token in self.sim.tokens:
                    return False, False
            spent = [
                r
                for r in self._requests()
                if r.path in TOKEN_PATHS
                and r.status == 200
                and r.form.get("refresh_token") == [pair.refresh_token]
            ]
        else:
            session = WebSessionStore(self.secrets, "hh.ru").load()
            if session is None:
                return True, False
            hhtoken = session.cookies.get("hhtoken", "")
            if self.sim.web.is_live(hhtoken):
                return False, False
            spent = [
                r
                for r in self._requests()
                if f"hhtoken={hhtoken}" in (r.headers.get("Cookie") or "")
                and "hhtoken" in r.set_cookies
            ]
        in_window = bool(spent) and 0 <= killed_at - spent[-1].answered_at < WINDOW_BOUND
        return True, in_window

    def _requests(self) -> list[RecordedRequest]:
        with self.sim.lock:
            return list(self.sim.requests)

    # ---- at the end --------------------------------------------------------------

    def finish(self) -> SoakResult:
        """Lets the app run once more without a kill, then compares the history with
        what hh.ru accepted."""
        assert self.paths is not None
        process = subprocess.Popen(
            [*self.app, "run", "--headless"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        raised = [a for a in History(self.paths.history_file).read() if a.outcome is Outcome.RAISED]
        with self.sim.lock:
            publishes = list(self.sim.publishes)
        accepted = [p for p in publishes if p.accepted]
        self.result.accepted_raises = len(accepted)
        self.result.premature_raises = len([p for p in publishes if not p.accepted])
        for publish in accepted:
            recorded = any(
                a.resume_id == publish.resume_id and abs(a.at - publish.at) < timedelta(seconds=2)
                for a in raised
            )
            if not recorded:
                self.result.history_missing += 1
        requests = self._requests()
        self.result.refreshes = len(
            [r for r in requests if r.path in TOKEN_PATHS and r.status == 200]
        )
        self.result.rotations = sum(s.rotations for s in self.sim.web.sessions.values())
        self.result.write_ms = self._time_writes()
        return self.result

    def _time_writes(self, times: int = 15) -> dict[str, float]:
        """The window's width: storing what hh.ru just replaced, as the app does."""
        took: list[float] = []
        for _ in range(times):
            # random values, as hh.ru's are: saving registers them with the redactor of
            # this process, and a repeated letter would mask other text (a test's)
            first, second = secrets.token_hex(20), secrets.token_hex(16)
            started = time.perf_counter()
            if self.transport == "api":
                TokenStore(self.secrets).save(TokenPair(first, second))
            else:
                WebSessionStore(self.secrets, "soak.example").save(
                    WebSession("soak.example", {"hhtoken": first, "_xsrf": second}),
                    datetime.now(UTC),
                )
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        return {"p50": round(statistics.median(took), 1), "max": round(took[-1], 1)}


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def crash_soak(
    transport: str, kills: int, app: list[str], *, seed: int = 1, cooldown: float = 6.0
) -> SoakResult:
    """``kills`` rounds, the moments taken in turn from :data:`KINDS`."""
    soak = CrashSoak(transport, app, cooldown=cooldown, seed=seed).start()
    started = time.monotonic()
    try:
        kinds = KINDS[transport]
        for number in range(kills):
            soak.run_round(kinds[number % len(kinds)])
        result = soak.finish()
    finally:
        soak.stop()
    result.seconds = time.monotonic() - started
    return result
