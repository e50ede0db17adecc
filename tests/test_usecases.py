"""The sign-in and setup use-cases against the simulators: each one's success and its
failures as typed results, and the settings window running them instead of the CLI."""

from __future__ import annotations

import importlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tray_app.adapters.control import ControlHandlers, ControlServer
from tray_app.adapters.login_text import result_text
from tray_app.adapters.service import Service
from tray_app.adapters.usecases import (
    CheckingSession,
    CookieFile,
    CookieText,
    EnvImport,
    EnvRefusal,
    ImportedSecret,
    InstanceReply,
    OAuthFailure,
    OAuthSignIn,
    OAuthStep,
    OpenAuthorizeUrl,
    RedirectTimedOut,
    WaitingForRedirect,
    WebStep,
    import_env,
    sign_in_oauth,
    sign_in_web,
    tell_instance,
)
from tray_app.core.errors import ChatNotFound, Problem, SessionImportError, SignInNeeded
from tray_app.core.models import TransportKind
from tray_app.i18n import invalid_text
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import CLIENT_SECRET, TELEGRAM_BOT_TOKEN, TokenStore
from tray_app.telegram.setup import (
    CODE_ALPHABET,
    CODE_LENGTH,
    FoundChat,
    bot_username,
    find_chat,
    is_code,
    new_code,
    open_bot,
    save_connection,
    send_checked,
)
from tray_app.wiring import Runtime, build_runtime

from .conftest import CHAT, make_runtime
from .test_login import browser_that_approves, free_port

# ---- tell_instance ----------------------------------------------------------------------


class ForeignProgram(BaseHTTPRequestHandler):
    """Not HH Raiser, on the port a crashed instance left in control.json; it claims
    every reload failed."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:
        body = json.dumps({"error": "reload failed: disk full"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def foreign_program() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), ForeignProgram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def failing_reload() -> None:
    raise OSError("reload failed: disk full")


def test_tell_instance_says_whether_the_change_was_applied(
    runtime: Runtime, foreign_program: int
) -> None:
    assert tell_instance(runtime.paths, "settings").reply == InstanceReply.NOT_RUNNING
    service = Service(runtime)
    service.start()
    try:
        assert tell_instance(runtime.paths, "credentials").reply == InstanceReply.APPLIED
    finally:
        service.stop()
    failing = ControlServer(
        runtime.paths.control_file,
        ControlHandlers(
            status=service.status,
            raise_now=service.raise_now,
            reload_settings=failing_reload,
            reload_credentials=failing_reload,
        ),
    )
    failing.start()
    try:
        told = tell_instance(runtime.paths, "settings")
    finally:
        failing.stop()
    assert told.reply == InstanceReply.FAILED and "disk full" in told.detail
    # another program's word is not taken: not "failed", and nothing to apply
    runtime.paths.control_file.write_text(json.dumps({"port": foreign_program, "key": "k"}))
    told = tell_instance(runtime.paths, "settings")
    assert told.reply is not InstanceReply.FAILED, told
    assert (told.reply, told.port) == (InstanceReply.NOT_HH_RAISER, foreign_program)


# ---- sign_in_oauth ----------------------------------------------------------------------


def oauth_runtime(
    environ: dict[str, str], backend: MemoryKeyring, sim: HHSimulator, transport: str = "api"
) -> Runtime:
    return make_runtime(
        environ,
        backend,
        sim,
        with_tokens=False,
        client_id=sim.config.client_id,
        redirect_port=free_port(),
        transport=transport,
    )


def test_oauth_sign_in_stores_the_tokens_and_switches_to_the_api(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = oauth_runtime(environ, keyring_backend, sim, transport="web")
    steps: list[OAuthStep] = []
    try:
        result = sign_in_oauth(
            runtime,
            open_browser=browser_that_approves,
            ask_secret=lambda: sim.config.client_secret,
            paste=None,
            progress=steps.append,
            timeout=10,
        )
    finally:
        runtime.close()
    assert result.ok and result.failure is None and not result.api_closed
    stored = TokenStore(runtime.secrets).load()
    assert result.tokens is not None and stored is not None
    assert stored.access_token == result.tokens.access_token
    assert runtime.secrets.get(CLIENT_SECRET) == sim.config.client_secret
    assert runtime.settings().transport == TransportKind.API
    assert [type(step) for step in steps] == [OpenAuthorizeUrl, WaitingForRedirect]
    assert "client_id=SIMCLIENTID" in steps[0].url  # type: ignore[union-attr]


def test_oauth_sign_in_reports_an_applicant_api_closed_to_the_application(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    sim.config.api_closed = True
    runtime = oauth_runtime(environ, keyring_backend, sim, transport="web")
    runtime.secrets.set(CLIENT_SECRET, sim.config.client_secret)
    try:
        result = sign_in_oauth(
            runtime, open_browser=browser_that_approves, ask_secret=None, paste=None, timeout=10
        )
    finally:
        runtime.close()
    assert result.ok and result.api_closed
    assert runtime.settings().transport == TransportKind.WEB  # the API would not raise


def test_oauth_sign_in_failures_are_typed_and_store_no_tokens(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    def never(_: str) -> bool:
        raise AssertionError("the browser must not be opened")

    no_client = make_runtime(environ, keyring_backend, sim, with_tokens=False)
    result = sign_in_oauth(no_client, open_browser=never, ask_secret=None, paste=None)
    assert result.failure == OAuthFailure.NO_CLIENT_ID and not result.ok
    no_client.close()

    runtime = oauth_runtime(environ, keyring_backend, sim)
    try:
        result = sign_in_oauth(runtime, open_browser=never, ask_secret=None, paste=None)
        assert result.failure == OAuthFailure.NO_CLIENT_SECRET

        runtime.secrets.set(CLIENT_SECRET, sim.config.client_secret)
        foreign = "http://127.0.0.1/callback?code=abc&state=someone-elses"
        result = sign_in_oauth(
            runtime, open_browser=never, ask_secret=None, paste=lambda: foreign, paste_only=True
        )
        assert result.failure == OAuthFailure.FOREIGN_STATE
        result = sign_in_oauth(
            runtime,
            open_browser=never,
            ask_secret=None,
            paste=lambda: "?error=access_denied",
            paste_only=True,
        )
        assert (result.failure, result.detail) == (OAuthFailure.DENIED, "access_denied")
        assert sim.calls("POST", "/token") == []

        with socket.socket() as taken:  # another program holds the redirect port
            taken.bind(("127.0.0.1", runtime.settings().redirect_port))
            taken.listen()
            result = sign_in_oauth(runtime, open_browser=never, ask_secret=None, paste=None)
        assert result.failure == OAuthFailure.PORT_BUSY
        assert result.port == runtime.settings().redirect_port

        steps: list[OAuthStep] = []
        result = sign_in_oauth(
            runtime,
            open_browser=lambda _url: True,  # the user never approves
            ask_secret=None,
            paste=None,
            progress=steps.append,
            timeout=0.5,
        )
        assert result.failure == OAuthFailure.NO_REDIRECT
        assert isinstance(steps[-1], RedirectTimedOut)

        runtime.secrets.set(CLIENT_SECRET, "wrong")
        result = sign_in_oauth(
            runtime, open_browser=browser_that_approves, ask_secret=None, paste=None, timeout=10
        )
        assert result.failure == OAuthFailure.EXCHANGE_FAILED
        assert isinstance(result.error, SignInNeeded)
        assert TokenStore(runtime.secrets).load() is None
    finally:
        runtime.close()


def test_a_stopped_oauth_sign_in_gives_up_at_once(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = oauth_runtime(environ, keyring_backend, sim)
    runtime.secrets.set(CLIENT_SECRET, sim.config.client_secret)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    try:
        result = sign_in_oauth(
            runtime,
            open_browser=lambda _url: True,
            ask_secret=None,
            paste=lambda: pytest.fail("no paste after a stop"),
            timeout=60,
            stop=stop,
        )
    finally:
        runtime.close()
    assert result.failure == OAuthFailure.NO_REDIRECT


# ---- sign_in_web ------------------------------------------------------------------------


def header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def test_web_sign_in_checks_stores_and_switches_to_the_site(
    runtime: Runtime, sim: HHSimulator
) -> None:
    cookies = sim.web.login()
    steps: list[WebStep] = []
    result = sign_in_web(runtime, "hh.ru", CookieText(header(cookies)), steps.append)
    assert result.ok and result.error is None and not result.needs_sign_in
    assert result.login is not None and result.login.host == "hh.ru"
    assert [r.title for r in result.login.resumes]  # the simulated seeker's resumes
    assert steps == [CheckingSession("hh.ru")]
    session = runtime.web_sessions("hh.ru").load()
    assert session is not None and session.cookies["hhtoken"] == cookies["hhtoken"]
    assert runtime.settings().transport == TransportKind.WEB


def test_web_sign_in_failures_store_nothing(
    runtime: Runtime, sim: HHSimulator, tmp_path: Path
) -> None:
    result = sign_in_web(runtime, "hh.ru", CookieText(header(sim.web.anonymous())))
    assert not result.ok and result.needs_sign_in  # the user has to log in again
    result = sign_in_web(runtime, "hh.ru", CookieFile(str(tmp_path / "missing.txt")))
    assert isinstance(result.error, SessionImportError) and not result.needs_sign_in
    assert "missing.txt" in str(result.error)
    assert runtime.web_sessions("hh.ru").load() is None
    assert runtime.settings().transport == TransportKind.API


# ---- import_env -------------------------------------------------------------------------


def test_import_env_lists_what_was_imported_and_skipped(
    environ: dict[str, str], keyring_backend: MemoryKeyring, tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "ACCESS_TOKEN=AT1\nREFRESH_TOKEN=RT1\nCLIENT_SECRET=CS1\n"
        "RESUME_ID=abc123\nCHAT_ID=424242\nDEBUG=1\n"
    )
    opened: list[Runtime] = []

    def open_runtime() -> Runtime:
        opened.append(build_runtime(environ, keyring_backend=keyring_backend))
        return opened[-1]

    result = import_env(path, open_runtime)
    assert result == EnvImport(
        path,
        secrets=(ImportedSecret.TOKENS, ImportedSecret.CLIENT_SECRET),
        settings=(("enabled_resumes", ("abc123",)), ("telegram_chat_id", "424242")),
        skipped=("DEBUG",),
    )
    assert result.imported_anything
    runtime = opened[0]
    pair = TokenStore(runtime.secrets).load()
    assert pair is not None and (pair.access_token, pair.refresh_token) == ("AT1", "RT1")
    assert runtime.secrets.get(CLIENT_SECRET) == "CS1"
    assert runtime.secrets.get(TELEGRAM_BOT_TOKEN) is None
    assert runtime.settings.store.load().telegram_chat_id == "424242"


def test_import_env_refuses_a_bad_file_before_opening_the_keyring(tmp_path: Path) -> None:
    def no_runtime() -> Runtime:
        raise AssertionError("a refused file must not reach the keyring")

    path = tmp_path / ".env"
    path.write_text("ACCESS_TOKEN=only-one\n")
    assert import_env(path, no_runtime).refused == EnvRefusal.PARTIAL_TOKENS
    path.write_text("CLIENT_ID=x\nCONTACT_EMAIL=nobody\n")
    result = import_env(path, no_runtime)
    assert (result.refused, result.line) == (EnvRefusal.BAD_LINE, 2)
    assert "contact_email" in invalid_text(result.reason, "en")
    path.write_text("NOT A LINE\n")
    result = import_env(path, no_runtime)
    assert (result.refused, result.line, result.reason) == (
        EnvRefusal.BAD_LINE,
        1,
        Problem("env_key_value"),
    )
    assert invalid_text(result.reason, "en") == "expected KEY=VALUE"
    assert invalid_text(result.reason, "ru") == "нужно КЛЮЧ=ЗНАЧЕНИЕ"


# ---- Telegram setup ---------------------------------------------------------------------


def test_telegram_setup_finds_the_chat_sends_and_saves(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    runtime = make_runtime(tg_environ, keyring_backend, sim, with_tokens=False)
    bot = open_bot(runtime.telegram_targets, tg.token)
    try:
        assert bot_username(bot) == "hh_raiser_sim_bot"
        code = new_code()
        threading.Timer(0.3, lambda: tg.user_says(CHAT, code.lower(), username="anna")).start()
        found = find_chat(bot, code, 10)
        assert isinstance(found, FoundChat)
        assert (found.chat_id, found.user_id, found.name) == (str(CHAT), str(CHAT), "anna")
        send_checked(bot, found.chat_id, "hello <there>")
        assert tg.sent(CHAT)[-1].plain == "hello <there>"  # escaped for HTML, shown as typed
        with pytest.raises(ChatNotFound):
            send_checked(bot, "555", "nobody there")
        save_connection(runtime, tg.token, found.chat_id, found.user_id, found.offset)
    finally:
        bot.close()
        runtime.close()
    assert runtime.secrets.get(TELEGRAM_BOT_TOKEN) == tg.token
    assert runtime.settings().telegram_chat_id == str(CHAT)
    assert runtime.settings().telegram_user_id == str(CHAT)
    assert runtime.paths.telegram_offset_file.exists()


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("/start K7PQ2XMH", True),  # the deep link
        ("/start@hh_raiser_sim_bot K7PQ2XMH", True),
        ("k7pq2xmh", True),  # typed on a phone
        ("  K7PQ2XMH ", True),
        ("/start", False),
        ("/start K7PQ2XM", False),
        ("/start K7PQ2XMH please", False),
        ("/help K7PQ2XMH", False),
        ("K7PQ2XMH K7PQ2XMH", False),
    ],
)
def test_what_counts_as_the_code(text: str, accepted: bool) -> None:
    assert is_code(text, "K7PQ2XMH") is accepted


def test_codes_are_short_unambiguous_and_new_each_time() -> None:
    codes = {new_code() for _ in range(100)}
    assert len(codes) == 100
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1IL") & set(CODE_ALPHABET)


def test_find_chat_gives_up_on_silence_or_a_stop(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    with tg.lock:
        tg.updates.clear()
    runtime = make_runtime(tg_environ, keyring_backend, sim, with_tokens=False)
    bot = open_bot(runtime.telegram_targets, tg.token)
    stop = threading.Event()
    stop.set()
    try:
        assert find_chat(bot, "ABCDEFGH", 0.5) is None
        assert find_chat(bot, "ABCDEFGH", 60, stop) is None
    finally:
        bot.close()
        runtime.close()


# ---- the settings window runs the use-case, not the CLI ---------------------------------


def test_the_windows_browser_sign_in_is_the_use_case_not_the_cli(
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tray_app.adapters.settings_window import window

    cli_main = importlib.import_module("tray_app.adapters.cli.main")  # the module, not main()

    def no_cli(*_args: object, **_kw: object) -> int:
        raise AssertionError("the window ran the CLI")

    monkeypatch.setattr(cli_main, "main", no_cli)
    runtime = oauth_runtime(environ, keyring_backend, sim)
    runtime.secrets.set(CLIENT_SECRET, sim.config.client_secret)
    service = Service(runtime)  # a running instance, to be told about the new tokens
    service.start()
    try:
        result = window.sign_in_with_browser(
            runtime, browser_that_approves, threading.Event(), timeout=10
        )
        assert isinstance(result, OAuthSignIn) and result.ok
        text = result_text(result, runtime.secrets.backend_name, "en")
        assert text.startswith("Signed in.")
        failed = window.sign_in_with_browser(
            runtime, lambda _url: True, threading.Event(), timeout=0.3
        )
        assert failed.failure == OAuthFailure.NO_REDIRECT
        assert "did not redirect" in result_text(failed, "", "en")
    finally:
        service.stop()
        runtime.close()
    assert not hasattr(window, "main") and not hasattr(window, "Cli")
