"""The sign-in window: hh.ru's own login page in a web view of HH Raiser's own.

The user signs in as on hh.ru itself (password, a code by SMS or e-mail, a captcha);
HH Raiser never sees the password. Whenever the page leaves the login pages with a
new session cookie, the window's cookies (HttpOnly ones included) are checked the way
``login --web`` checks a pasted session: only a logged-in job seeker with resumes is
stored. The web view keeps its own profile in the data folder (0700), so signing in
again is often one click.

pywebview picks the platform's engine: WebView2 on Windows, WKWebView on macOS,
WebKitGTK on Linux. The window runs in its own process (``hh-raiser login --web
--window``), like the settings window, so a GUI toolkit never shares a process with
the tray.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tray_app.adapters.autostart import launch_command
from tray_app.adapters.usecases import BrowserCookies, WebSignIn, sign_in_web
from tray_app.core.errors import (
    CaptchaRequired,
    NotApplicant,
    SessionExpired,
    SignInWindowClosed,
    TransientError,
)
from tray_app.storage.paths import AppPaths
from tray_app.transports.hh_web import regional_host
from tray_app.wiring import Runtime

log = logging.getLogger(__name__)

PROFILE_FOLDER = "webview"
LOGIN_PATH = "/account/login?backurl=%2Fapplicant%2Fresumes"
POLL_SECONDS = 1.0
LINGER_SECONDS = 3.0
"""How long the window shows its last word (the resumes found, or what went wrong)."""
WINDOW_TIMEOUT = 30 * 60.0
RECHECK_SECONDS = 5.0
"""A check that could not reach hh.ru is repeated this often (the page may be fine)."""


class WindowMissing(StrEnum):
    """Why no sign-in window can be shown here (``login.window_missing.*`` texts)."""

    NO_PYWEBVIEW = "no_pywebview"
    NO_WEBKIT = "no_webkit"  # Linux without WebKitGTK's GObject bindings
    NO_DISPLAY = "no_display"  # a server: no screen to show a window on


@dataclass(frozen=True)
class WindowSupport:
    missing: WindowMissing | None
    detail: str = ""  # the engine in use, or the error that ruled it out

    @property
    def available(self) -> bool:
        return self.missing is None


def window_support(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> WindowSupport:
    """Whether this machine can show the window, without opening one."""
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    try:
        import webview  # noqa: F401
    except ImportError as exc:
        return WindowSupport(WindowMissing.NO_PYWEBVIEW, str(exc))
    if not platform.startswith("linux"):
        return WindowSupport(None, "WebView2" if platform == "win32" else "WKWebView")
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return WindowSupport(WindowMissing.NO_DISPLAY, "DISPLAY")
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        gi.require_version("WebKit2", "4.1")
        from gi.repository import WebKit2  # noqa: F401
    except (ImportError, ValueError) as exc:
        return WindowSupport(WindowMissing.NO_WEBKIT, str(exc))
    return WindowSupport(None, "WebKitGTK 4.1")


def profile_dir(paths: AppPaths) -> Path:
    """The web view's own profile (cookies, storage): private to the user."""
    return paths.data_dir / PROFILE_FOLDER


def clear_profile(paths: AppPaths) -> bool:
    """Forgets the window's profile ("Выйти"); True when there was one."""
    folder = profile_dir(paths)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def launch_window(environ: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Starts ``hh-raiser login --web --window`` as its own process (tray, settings)."""
    env = dict(os.environ if environ is None else environ)
    return subprocess.Popen([*launch_command(env), "login", "--web", "--window"], env=env)


def _is_final(result: WebSignIn) -> bool:
    """A check that settles the matter; otherwise the user is still signing in (or
    hh.ru could not be reached, and the check is repeated)."""
    if result.ok or isinstance(result.error, NotApplicant):
        return True
    return not isinstance(result.error, SessionExpired | CaptchaRequired | TransientError)


def _cookie_jar(raw: Any) -> dict[str, str]:
    """pywebview's ``get_cookies()`` (a list of ``SimpleCookie``) as name -> value."""
    jar: dict[str, str] = {}
    for cookie in raw or []:
        for name, morsel in cookie.items():
            jar[name] = morsel.value
    return jar


class SignInWindow:
    """One window, watched from pywebview's worker thread until a session is found,
    the user closes it, or it times out."""

    def __init__(
        self,
        runtime: Runtime,
        host: str,
        *,
        title: str,
        last_word: Callable[[WebSignIn], str],
        timeout: float = WINDOW_TIMEOUT,
        poll: float = POLL_SECONDS,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.host = host
        self._title = title
        self._last_word = last_word
        self._timeout = timeout
        self._poll = poll
        self._linger = linger
        self._closed = threading.Event()
        self._state = threading.Lock()  # guards the hand-over between closing and checking
        self._checking = False  # a found session is being checked and stored
        self._result: WebSignIn | None = None
        self._last_error: WebSignIn | None = None

    @property
    def start_url(self) -> str:
        return self.runtime.endpoints.web_url(self.host) + LOGIN_PATH

    def run(self) -> WebSignIn:
        """Shows the window (blocks the calling thread, which must be the main one)."""
        import webview

        profile = profile_dir(self.runtime.paths)
        profile.mkdir(mode=0o700, parents=True, exist_ok=True)
        profile.chmod(0o700)
        window = webview.create_window(self._title, self.start_url, width=960, height=760)
        assert window is not None  # None only on Android
        window.events.closed += self.window_closed
        log.info("sign-in window: %s (profile %s)", self.start_url, profile)
        # pywebview runs its ``func`` on a thread the interpreter waits for at exit, and
        # a window call made while a page loads waits up to 20 s for it, long after the
        # window is gone: the watcher is a daemon thread, waited for only while it stores
        watcher = threading.Thread(
            target=self.watch, args=(window,), name="sign-in-window", daemon=True
        )
        webview.start(watcher.start, private_mode=False, storage_path=str(profile))
        if self.window_closed():
            watcher.join()
        return self.outcome()

    def window_closed(self) -> bool:
        """The user closed the window (or it was closed for them). True while a found
        session is being checked and stored: that finishes, whatever the window does."""
        with self._state:
            self._closed.set()
            return self._checking

    def outcome(self) -> WebSignIn:
        """What the window came to, once it is closed."""
        if self._result is not None:
            return self._result
        if self._last_error is not None:  # what the last check found, e.g. no network
            return self._last_error
        closed = SignInWindowClosed("the window was closed before sign-in")
        return WebSignIn(self.host, error=closed)

    def watch(self, window: Any) -> None:
        """On pywebview's thread: polls the cookies, checks a new session once."""
        checked: str | None = None  # the hhtoken last checked, and when to check it again
        recheck_at = math.inf
        waited = 0.0
        while not self._closed.wait(self._poll):
            waited += self._poll
            if waited > self._timeout:
                log.info("sign-in window: no session after %.0f s, closing", self._timeout)
                break
            try:
                url = window.get_current_url() or ""
                jar = _cookie_jar(window.get_cookies())
            except Exception:
                log.debug("sign-in window: could not read the page", exc_info=True)
                continue
            token = jar.get("hhtoken")
            if not token or urlsplit(url).path.startswith("/account/"):
                continue  # still on the login pages
            if token == checked and waited < recheck_at:
                continue  # this session was checked
            checked = token
            host = regional_host(self.host, jar)  # the site may send the user elsewhere
            log.info("sign-in window: the page left the login pages; checking on %s", host)
            result = self._check(host, jar)
            if result is None:
                break  # closed meanwhile
            if _is_final(result):
                self._say(window, self._last_word(result))
                break
            transient = isinstance(result.error, TransientError)
            recheck_at = waited + RECHECK_SECONDS if transient else math.inf
            log.info("sign-in window: not signed in yet (%s)", result.error)
        if not self._closed.is_set():
            window.destroy()

    def _check(self, host: str, jar: dict[str, str]) -> WebSignIn | None:
        """``login --web``'s check of the window's cookies; None when the window was
        closed before it began. The result is kept before the window may close."""
        with self._state:
            if self._closed.is_set():
                return None
            self._checking = True
        try:
            result = sign_in_web(self.runtime, host, BrowserCookies(jar))
            if _is_final(result):
                self._result = result
            else:
                self._last_error = result
            return result
        finally:
            with self._state:
                self._checking = False

    def _say(self, window: Any, text: str) -> None:
        """The window's last word, in the window itself, for a moment."""
        paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines())
        page = (
            '<html><head><meta charset="utf-8"></head>'
            '<body style="font-family: sans-serif; margin: 3em; font-size: 18px">'
            f"<h2>HH Raiser</h2>{paragraphs}</body></html>"
        )
        try:
            window.load_html(page)
        except Exception:  # noqa: BLE001 - closed by the user meanwhile
            return
        self._closed.wait(self._linger)
