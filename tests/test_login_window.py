"""The sign-in window's decisions, with a stand-in for the web view (the page's URL and
cookies as the test sets them) and the real simulator behind the session check; and
the command where no window can be shown. The real web view is driven on a virtual
screen in ``test_login_window_e2e.py``."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tray_app.adapters import web_window
from tray_app.adapters.cli import EXIT_FAILURE, Cli, main
from tray_app.adapters.usecases import WebSignIn, sign_in_web
from tray_app.adapters.web_window import (
    SignInWindow,
    WindowMissing,
    clear_profile,
    profile_dir,
    window_support,
)
from tray_app.core.errors import (
    ConnectionFailed,
    NotApplicant,
    SessionExpired,
    SignInWindowClosed,
)
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.wiring import Runtime

from .conftest import make_runtime, wait_until

LOGIN_URL = "/account/login?backurl=%2Fapplicant%2Fresumes"


class FakeWebView:
    """What :class:`SignInWindow` asks of a pywebview window."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.path = LOGIN_URL
        self.cookies: dict[str, str] = {}
        self.shown: list[str] = []
        self.destroyed = threading.Event()
        self.reads = 0

    def get_current_url(self) -> str:
        return self.base + self.path

    def get_cookies(self) -> list[SimpleCookie]:
        self.reads += 1
        jar: SimpleCookie = SimpleCookie()
        for name, value in self.cookies.items():
            jar[name] = value
        return [jar]

    def load_html(self, page: str) -> None:
        self.shown.append(page)

    def destroy(self) -> None:
        self.destroyed.set()


@pytest.fixture
def runtime(environ: dict[str, str], sim: HHSimulator) -> Iterator[Runtime]:
    rt = make_runtime(environ, MemoryKeyring(), sim, with_tokens=False)
    yield rt
    rt.close()


def start(
    runtime: Runtime, view: FakeWebView, **kw: float
) -> tuple[SignInWindow, threading.Thread]:
    window = SignInWindow(
        runtime,
        "hh.ru",
        title="HH Raiser",
        last_word=lambda result: "signed in" if result.ok else f"no: {result.error}",
        poll=kw.get("poll", 0.02),
        linger=0.0,
        timeout=kw.get("timeout", 30.0),
    )
    thread = threading.Thread(target=window.watch, args=(view,), daemon=True)
    thread.start()
    return window, thread


def test_a_job_seeker_signing_in_is_stored_and_the_window_closes(
    runtime: Runtime, sim: HHSimulator
) -> None:
    view = FakeWebView(sim.url)
    view.cookies = sim.web.anonymous()  # the login page's visitor
    window, thread = start(runtime, view)
    wait_until(lambda: view.reads >= 3)
    assert runtime.web_sessions().load() is None  # nothing checked on the login pages
    view.cookies, view.path = sim.web.login(), "/applicant/resumes"  # signed in
    thread.join(10)
    window.window_closed()
    result = window.outcome()
    assert result.ok and result.login is not None
    assert {r.title for r in result.login.resumes} == {r.title for r in sim.resumes.values()}
    session = runtime.web_sessions().load()
    assert session is not None and session.cookies["hhtoken"]
    assert view.destroyed.is_set() and "signed in" in view.shown[0]
    assert runtime.settings().transport == "web"


def test_an_employer_account_ends_it_with_its_own_message_and_nothing_stored(
    runtime: Runtime, sim: HHSimulator
) -> None:
    view = FakeWebView(sim.url)
    view.cookies, view.path = sim.web.login("employer"), "/employer/"
    window, thread = start(runtime, view)
    thread.join(10)
    result = window.outcome()
    assert isinstance(result.error, NotApplicant) and result.error.account_type == "employer"
    assert view.destroyed.is_set() and "employer" in view.shown[0]
    assert runtime.web_sessions().load() is None


def test_not_signed_in_yet_keeps_waiting_and_closing_says_so(
    runtime: Runtime, sim: HHSimulator
) -> None:
    view = FakeWebView(sim.url)
    view.cookies, view.path = sim.web.anonymous(), "/applicant/resumes"  # left the login page
    window, thread = start(runtime, view)
    wait_until(lambda: view.reads >= 5)
    assert thread.is_alive() and not view.destroyed.is_set()  # still signing in
    window.window_closed()  # the user gives up
    thread.join(5)
    result = window.outcome()
    assert isinstance(result.error, SessionExpired) and result.needs_sign_in
    assert runtime.web_sessions().load() is None and not view.shown


def test_closing_before_any_session_is_the_closed_message(
    runtime: Runtime, sim: HHSimulator
) -> None:
    view = FakeWebView(sim.url)
    window, thread = start(runtime, view)
    wait_until(lambda: view.reads >= 2)
    window.window_closed()
    thread.join(5)
    assert isinstance(window.outcome().error, SignInWindowClosed)
    assert not view.destroyed.is_set()  # the user closed it; nothing to destroy


def test_no_network_is_reported_when_the_window_closes(runtime: Runtime, sim: HHSimulator) -> None:
    view = FakeWebView(sim.url)
    cookies = sim.web.login()
    sim.stop()  # hh.ru unreachable from here on
    view.cookies, view.path = cookies, "/applicant/resumes"
    window, thread = start(runtime, view)
    wait_until(lambda: view.reads >= 3)
    assert thread.is_alive() and not view.destroyed.is_set()  # checked again later
    window.window_closed()
    thread.join(10)
    result = window.outcome()
    assert isinstance(result.error, ConnectionFailed)
    assert runtime.web_sessions().load() is None


def test_the_window_gives_up_after_its_timeout(runtime: Runtime, sim: HHSimulator) -> None:
    view = FakeWebView(sim.url)
    window, thread = start(runtime, view, timeout=0.2)
    thread.join(5)
    assert view.destroyed.is_set() and isinstance(window.outcome().error, SignInWindowClosed)


def test_the_profile_is_private_and_clearable(runtime: Runtime) -> None:
    folder = profile_dir(runtime.paths)
    assert folder.parent == runtime.paths.data_dir
    folder.mkdir(mode=0o700)
    (folder / "cookies.sqlite").write_text("x")
    assert clear_profile(runtime.paths) and not folder.exists()
    assert not clear_profile(runtime.paths)


def test_where_no_window_can_be_shown_the_command_says_what_to_do(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    assert window_support({}, "linux").missing in (
        WindowMissing.NO_DISPLAY,
        WindowMissing.NO_PYWEBVIEW,
    )
    monkeypatch.setitem(sys.modules, "webview", None)  # import fails: not installed
    assert window_support({"DISPLAY": ":0"}, "linux").missing is WindowMissing.NO_PYWEBVIEW
    monkeypatch.delitem(sys.modules, "webview")
    no_screen = {k: v for k, v in environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    err = _run(no_screen, "login", "--web", "--window")
    assert err[0] == EXIT_FAILURE
    assert "нет экрана" in err[1] and "--cookies" in err[1]
    assert not (home / "data" / "webview").exists()


def _run(environ: dict[str, str], *args: str) -> tuple[int, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    cli = Cli(environ=environ, out=out, err=err, keyring_backend=MemoryKeyring())
    return main(list(args), cli), err.getvalue()


def test_a_regional_host_the_site_sends_the_user_to_is_saved(
    runtime: Runtime, sim: HHSimulator
) -> None:
    """The window opens the configured host; hh.ru's ``redirect_host`` cookie names the
    user's regional site, and that is where the session is stored and raised."""
    view = FakeWebView(sim.url)
    view.cookies = {**sim.web.login(), "redirect_host": "spb.hh.ru"}
    view.path = "/applicant/resumes"
    window, thread = start(runtime, view)
    thread.join(10)
    result = window.outcome()
    assert result.ok and result.host == "spb.hh.ru"
    assert runtime.settings().web_host == "spb.hh.ru"
    assert runtime.web_sessions("spb.hh.ru").load() is not None
    assert runtime.web_sessions("hh.ru").load() is None


class ClosedHandlers:
    """pywebview's ``window.events.closed``: handlers added with ``+=``."""

    def __init__(self) -> None:
        self.handlers: list[Callable[[], object]] = []

    def __iadd__(self, handler: Callable[[], object]) -> ClosedHandlers:
        self.handlers.append(handler)
        return self


class StuckView(FakeWebView):
    """A page still loading: pywebview's window calls wait (up to 20 s) for it."""

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.events = SimpleNamespace(closed=ClosedHandlers())
        self.loaded = threading.Event()
        self.asked = threading.Event()

    def get_current_url(self) -> str:
        self.asked.set()
        self.loaded.wait(20)
        return super().get_current_url()


def fake_webview(view: StuckView, user: Callable[[], object]) -> SimpleNamespace:
    """``webview.create_window`` and ``webview.start``: ``start`` runs ``func`` as
    pywebview does, then ``user()`` plays the user, and the window closes."""

    def start(func: Callable[[], None], **_kw: Any) -> None:
        threading.Thread(target=func).start()
        user()
        for handler in view.events.closed.handlers:
            handler()

    return SimpleNamespace(create_window=lambda *_a, **_kw: view, start=start)


def window_for(runtime: Runtime) -> SignInWindow:
    return SignInWindow(runtime, "hh.ru", title="HH Raiser", last_word=str, poll=0.02, linger=0.0)


def test_closing_while_a_page_loads_ends_at_once(
    runtime: Runtime, sim: HHSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window's watcher may be stuck in a pywebview call for 20 s after the window
    is gone; the process must not wait for it (it did, and outlived a 30 s limit)."""
    view = StuckView(sim.url)
    monkeypatch.setitem(sys.modules, "webview", fake_webview(view, lambda: view.asked.wait(5)))
    started = time.monotonic()
    result = window_for(runtime).run()
    assert time.monotonic() - started < 3
    assert isinstance(result.error, SignInWindowClosed)
    assert runtime.web_sessions().load() is None
    view.loaded.set()


def test_closing_while_a_found_session_is_stored_keeps_it(
    runtime: Runtime, sim: HHSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user closes the window the moment the site shows their resumes: the check
    under way finishes and the session is stored and reported, not lost."""
    view = StuckView(sim.url)
    view.loaded.set()
    view.cookies, view.path = sim.web.login(), "/applicant/resumes"
    checking, go_on = threading.Event(), threading.Event()
    real_check = sign_in_web

    def slow_check(*args: Any) -> WebSignIn:
        checking.set()
        go_on.wait(10)
        return real_check(*args)

    def user() -> None:
        checking.wait(5)
        threading.Timer(0.3, go_on.set).start()  # closed while the check runs

    monkeypatch.setattr(web_window, "sign_in_web", slow_check)
    monkeypatch.setitem(sys.modules, "webview", fake_webview(view, user))
    result = window_for(runtime).run()
    assert go_on.is_set() and result.ok
    assert runtime.web_sessions().load() is not None
