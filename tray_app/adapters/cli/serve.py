"""Commands that run the service until stopped: ``run``, ``demo``, and no command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from tray_app import __version__
from tray_app.adapters.autostart import for_this_system as autostart_for_this_system
from tray_app.adapters.autostart import launch_command
from tray_app.adapters.children import Child, reap
from tray_app.adapters.cli.base import EXIT_OK, EXIT_SIGN_IN, Cli
from tray_app.adapters.logs import rotate_log
from tray_app.adapters.os_service.sd_notify import Notifier
from tray_app.adapters.service import Service
from tray_app.adapters.tray.app import TrayApp, TrayUnavailable, load_pystray, open_path
from tray_app.adapters.tray.packages import offer_install, this_installation
from tray_app.adapters.web_window import launch_window
from tray_app.core.errors import NoKeyringError
from tray_app.core.events import Event
from tray_app.core.models import StoreKind, TokenPair, TransportKind
from tray_app.i18n import t
from tray_app.i18n.text import error_text, event_text
from tray_app.storage.cookie_sources import is_tracking
from tray_app.storage.lock import InstanceLock
from tray_app.storage.memory_keyring import DEMO_ENV, MemoryKeyring
from tray_app.storage.paths import HOME_ENV
from tray_app.storage.secret_choice import STORE_ENV
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN, TokenStore
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession
from tray_app.wiring import (
    API_URL_ENV,
    OAUTH_URL_ENV,
    RELEASES_URL_ENV,
    TELEGRAM_URL_ENV,
    WEB_URL_ENV,
    Runtime,
)

if TYPE_CHECKING:
    from tray_app.simulator.hh import HHSimulator

log = logging.getLogger(__name__)
DEMO_CHAT = 100500


def _serve(
    cli: Cli,
    runtime: Runtime,
    tray: ModuleType | None,
    *,
    log_file: Path | None = None,
    demo: bool = False,
) -> int:
    """Runs the service, printing its events, until Quit in the tray or, without a
    tray, until ``cli.stop`` is set (a signal). ``log_file``: the log this process
    writes, when it is not the one of ``cli``'s home (the demo's). The demo closes the
    windows it opened as it ends: they would show a world that is gone (its home is
    deleted, its simulators stopped); the app's own stay open."""
    settings = runtime.settings

    def print_event(event: Event) -> None:
        text = event_text(event, settings().language)
        if text:
            cli.say(text)

    runtime.bus.subscribe(print_event)
    notifier = Notifier.from_environ(cli.environ)  # run by systemd (``service install``)
    try:
        return _run_service(
            cli, Service(runtime, notifier), tray, log_file=log_file, close_windows=demo
        )
    finally:
        if notifier is not None:
            notifier.close()


def _run_service(
    cli: Cli,
    service: Service,
    tray: ModuleType | None,
    *,
    log_file: Path | None,
    close_windows: bool,
) -> int:
    settings = service.runtime.settings
    if tray is not None:
        windows: list[subprocess.Popen[bytes]] = []

        def start_settings(tab: str) -> None:
            windows.append(_start_settings(cli, tab))

        def start_sign_in() -> Child:
            windows.append(window := launch_window(child_environ(cli)))
            return window

        app = TrayApp(
            service,
            tray,
            autostart=autostart_for_this_system(cli.environ),
            open_file=lambda path: open_path(log_file or path),
            start_settings=start_settings,
            start_sign_in=start_sign_in,
        )
        _install_quit_on_signals(app.quit)
        cli.say(t("run.started_tray", settings().language, version=__version__))
        try:
            code = app.run()
        finally:
            if close_windows:
                _close(windows)
        cli.say(t("run.stopped", settings().language))
        return code
    _install_quit_on_signals(cli.stop.set)
    service.quit_with(cli.stop.set)
    service.start()
    cli.say(t("run.started", settings().language, version=__version__))
    try:
        # POSIX interrupts this wait for signals; elsewhere wake once a second for Ctrl+C
        while not cli.stop.wait(None if os.name == "posix" else 1.0):
            pass
    finally:
        service.stop()
    cli.say(t("run.stopped", settings().language))
    return EXIT_OK


def _close(windows: list[subprocess.Popen[bytes]], timeout: float = 5.0) -> None:
    """Asks the windows still open to end (SIGTERM), then makes sure they did."""
    open_ = [window for window in windows if window.poll() is None]
    for window in open_:
        window.terminate()
    for window in open_:
        try:
            window.wait(timeout)
        except subprocess.TimeoutExpired:
            window.kill()
            window.wait()


def _start_settings(cli: Cli, tab: str) -> subprocess.Popen[bytes]:
    """The settings window is its own process: tkinter never fights the tray. It is
    waited for, so it never lingers as a zombie once closed."""
    env = child_environ(cli)
    child = subprocess.Popen([*launch_command(env), "settings", "--tab", tab], env=env)
    reap(child, "settings window")
    return child


def child_environ(cli: Cli) -> dict[str, str]:
    """The environment of a window this process opens (settings, sign-in). A demo's
    windows are the demo's: its home and simulators (in ``cli.environ``), and its fake
    secrets as they are now, for the window to hold in memory (see ``DEMO_ENV``)."""
    env = dict(cli.environ)
    if DEMO_ENV in env and isinstance(cli.keyring_backend, MemoryKeyring):
        env[DEMO_ENV] = cli.keyring_backend.export()
    return env


def _install_quit_on_signals(quit_: Callable[[], None]) -> None:
    """SIGINT/SIGTERM end the app cleanly (PyGObject's main loop wakes for Python's
    signal handlers, so the same handlers serve the Linux tray)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(*_: object) -> None:
        quit_()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)
    with contextlib.suppress(ImportError):
        # pystray's GTK backends reset SIGINT to the default (killing the process
        # without cleanup) as their loop starts: put ours back from inside that loop
        from gi.repository import GLib

        def reinstall() -> bool:
            signal.signal(signal.SIGINT, handler)
            return False

        GLib.idle_add(reinstall)


def _choose_tray(
    cli: Cli, headless: bool, *, restart: Callable[[], object] | None = None
) -> ModuleType | None:
    """The tray backend, or None to run headless (asked for, or no display at all).

    A desktop whose tray would have no menu is an error, with the fix, never a silent
    icon without a menu; in a terminal, from a checkout, the fix is offered and, once
    installed, the app starts again to load it."""
    if headless:
        return None
    try:
        return load_pystray(cli.language)
    except TrayUnavailable as exc:
        if not exc.no_display:
            if _in_terminal(cli) and offer_install(
                this_installation(), language=cli.language, say=cli.complain, ask=cli.prompt
            ):
                (restart or _start_again)()
            raise
        cli.complain(str(exc))
        return None


def _in_terminal(cli: Cli) -> bool:
    return cli.stdin is not None and cli.stdin.isatty()


def _start_again() -> None:
    """The same command line in a fresh interpreter (this one loaded pystray's
    menu-less backend already)."""
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def cmd_run(cli: Cli, args: argparse.Namespace) -> int:
    tray = _choose_tray(cli, getattr(args, "headless", False))
    with InstanceLock(cli.paths.lock_file).acquire():
        rotate_log()  # the instance of this home, whose log it is: the one that rotates it
        runtime = cli.runtime(long_running=True)
        if tray is None and not runtime.has_account():  # the tray opens the settings
            runtime.close()
            cli.complain(t("auth.sign_in_needed", cli.language))
            return EXIT_SIGN_IN
        return _serve(cli, runtime, tray)


@contextlib.contextmanager
def demo_world(
    cli: Cli, *, cooldown: float, web: bool, on_phone: Callable[[str], None] | None = None
) -> Iterator[tuple[Cli, HHSimulator]]:
    """The built-in simulators (hh.ru with three resumes, and Telegram, whose messages
    go to ``on_phone``) and a throwaway home whose account is set up with fake secrets
    in memory only; yields the :class:`Cli` to use there."""
    from tray_app.simulator.github import GitHubSimulator, SimRelease
    from tray_app.simulator.hh import HHSimulator, SimConfig, demo_resumes
    from tray_app.simulator.telegram import SentMessage, TelegramSimulator

    config = SimConfig(cooldown=cooldown)
    sim = HHSimulator(config, demo_resumes(datetime.now(UTC), config)).start()

    def show_on_phone(message: SentMessage) -> None:
        if on_phone is not None:
            on_phone(message.plain)

    phone = TelegramSimulator(on_message=show_on_phone).start()
    phone.user_says(DEMO_CHAT, "/start", username="demo")
    # the update check asks a stand-in, never GitHub: this very version is the latest
    github = GitHubSimulator(SimRelease(f"v{__version__}")).start()
    home = tempfile.mkdtemp(prefix="hh-raiser-demo-")
    environ = {
        **cli.environ,
        HOME_ENV: home,
        API_URL_ENV: sim.url,
        OAUTH_URL_ENV: sim.url,
        WEB_URL_ENV: sim.url,
        TELEGRAM_URL_ENV: phone.url,
        RELEASES_URL_ENV: github.url,
        STORE_ENV: StoreKind.KEYRING,  # the fake secrets stay in memory, whatever the user chose
        DEMO_ENV: "[]",  # the demo's windows are told its secrets as they open
    }
    demo = replace(cli, environ=environ, keyring_backend=MemoryKeyring())
    SettingsStore(demo.paths.settings_file).update(
        margin_seconds=1.0,
        language=cli.language,
        contact_email="demo@example.com",
        telegram_chat_id=str(DEMO_CHAT),
        transport=TransportKind.WEB if web else TransportKind.API,
    )
    sim.web.config.rotate_every = 5  # the site rotates cookies; the log shows them kept
    try:
        yield demo, sim
    finally:
        sim.stop()
        phone.stop()
        github.stop()
        shutil.rmtree(home, ignore_errors=True)


def sign_in_to_demo(runtime: Runtime, sim: HHSimulator) -> None:
    """The demo account's secrets (fake, in the demo's memory keyring)."""
    token = sim.issue_tokens()
    TokenStore(runtime.secrets).save(TokenPair(token.access_token, token.refresh_token))
    jar = {k: v for k, v in sim.web.login().items() if not is_tracking(k)}  # as an import
    runtime.web_sessions().save(WebSession(runtime.settings().web_host, jar), runtime.clock.now())
    from tray_app.simulator.telegram import SIM_BOT_TOKEN

    runtime.secrets.set(TELEGRAM_BOT_TOKEN, SIM_BOT_TOKEN)


def cmd_demo(cli: Cli, args: argparse.Namespace) -> int:
    """The app against the built-in simulators (hh.ru and Telegram, whose messages are
    printed as a phone would show them), with fake secrets in memory only.

    It only appends to the log: it writes the user's log but holds the lock of its
    throwaway home, so the user's own instance may be running and rotating it."""
    tray = _choose_tray(cli, args.headless)

    def show_on_phone(text: str) -> None:
        line = t("demo.telegram", cli.language, text=text)
        if not cli.log_json:  # with JSON logs, saying it logs it
            log.info("%s", line.strip())
        cli.say(line)

    with (
        demo_world(cli, cooldown=float(args.cooldown), web=args.web, on_phone=show_on_phone) as (
            demo,
            sim,
        ),
        InstanceLock(demo.paths.lock_file).acquire(),
    ):
        runtime = demo.runtime(long_running=True)
        sign_in_to_demo(runtime, sim)
        cli.say(t("demo.started", cli.language, url=sim.url, cooldown=args.cooldown))
        return _serve(demo, runtime, tray, log_file=cli.paths.log_file, demo=True)


def cmd_start(cli: Cli, args: argparse.Namespace) -> int:
    """No command: run if an account is set up, else the demo. A fresh install needs no
    keyring for that; one set up before is told its keyring is missing."""
    try:
        runtime = cli.runtime(fresh_install_ok=True)
    except NoKeyringError as exc:  # the demo keeps its fake tokens in memory
        cli.complain(error_text(exc, cli.language))
        has_account = False
    else:
        has_account = runtime.has_account()
        runtime.close()
    if has_account:
        return cmd_run(cli, args)
    cli.say(t("demo.no_account", cli.language))
    return cmd_demo(cli, argparse.Namespace(cooldown=20, headless=False, web=False))
