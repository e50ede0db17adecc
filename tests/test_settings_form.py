"""The settings window's logic: validation, saving to the settings file and the
keyring, and telling the running instance. And the window itself on a virtual screen."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.adapters.service import Service
from tray_app.adapters.settings_window.form import SettingsForm
from tray_app.adapters.tray.menu import SIGN_IN_STATES
from tray_app.adapters.usecases import InstanceReply
from tray_app.adapters.web_window import WindowMissing, WindowSupport, profile_dir
from tray_app.core.errors import ConfigError
from tray_app.core.models import AuthState
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import (
    CLIENT_SECRET,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_PROXY_AUTH,
    TokenStore,
)
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession
from tray_app.wiring import Runtime

from .conftest import CHAT, make_runtime, make_web_runtime, wait_until
from .desktop import desktop, wait_for_window, window_gone, xdotool  # noqa: F401
from .test_login import browser_that_approves, free_port

STRANGER = 999


@pytest.fixture
def form(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> tuple[SettingsForm, Runtime]:
    runtime = make_runtime(environ, keyring_backend, sim, with_tokens=False)
    return SettingsForm(runtime.paths, runtime.secrets), runtime


def test_each_field_is_validated_with_a_message(form: tuple[SettingsForm, Runtime]) -> None:
    settings_form, _ = form
    values = {
        **settings_form.initial(),
        "margin_seconds": "soon",
        "anchor_time": "25:00",
        "contact_email": "not-an-email",
        "telegram_chat_id": "@anna",
        "telegram_proxy": "ftp://host",
        "access_token": "only-one",
        "telegram_bot_token": "has space",
    }
    errors = settings_form.validate(values)
    assert set(errors) == {
        "margin_seconds",
        "anchor_time",
        "contact_email",
        "telegram_chat_id",
        "telegram_proxy",
        "refresh_token",
        "telegram_bot_token",
    }
    assert "ЧЧ:ММ" in errors["anchor_time"] and errors["refresh_token"] == "нужны оба токена"
    assert "HH:MM" in settings_form.validate(values, "en")["anchor_time"]
    with pytest.raises(ConfigError):
        settings_form.save(values)
    assert settings_form.initial()["margin_seconds"] == "0.2"  # nothing was written


def test_saving_writes_settings_and_keyring_and_keeps_empty_secrets(
    form: tuple[SettingsForm, Runtime],
) -> None:
    settings_form, runtime = form
    runtime.secrets.set(CLIENT_SECRET, "kept-client-secret")
    values = {
        **settings_form.initial(),
        "margin_seconds": "7",
        "language": "en",
        "telegram_bot_token": "123:new-bot-token",
        "telegram_proxy": "socks5h://anna:pw123456@proxy.local:1080",
        "access_token": "AT-pasted",
        "refresh_token": "RT-pasted",
    }
    saved = settings_form.save(values)
    assert saved.settings_changed and saved.credentials_changed and not saved.instance_told
    stored = json.loads(runtime.paths.settings_file.read_text())
    assert stored["margin_seconds"] == 7 and stored["language"] == "en"
    assert stored["telegram_proxy"] == "socks5h://proxy.local:1080"
    assert runtime.secrets.get(TELEGRAM_PROXY_AUTH) == "anna:pw123456"
    assert runtime.secrets.get(CLIENT_SECRET) == "kept-client-secret"
    assert runtime.secrets.get(TELEGRAM_BOT_TOKEN) == "123:new-bot-token"
    pair = TokenStore(runtime.secrets).load()
    assert pair is not None and (pair.access_token, pair.refresh_token) == (
        "AT-pasted",
        "RT-pasted",
    )
    for secret in ("pw123456", "new-bot-token", "AT-pasted"):
        assert secret not in runtime.paths.settings_file.read_text()


def test_who_may_command_is_saved_with_the_chat_never_typed(
    form: tuple[SettingsForm, Runtime],
) -> None:
    settings_form, _ = form
    store = settings_form.store

    def save_chat(chat_id: str) -> str:
        settings_form.save({**settings_form.initial(), "telegram_chat_id": chat_id})
        return store.load().telegram_user_id

    store.update(telegram_chat_id="111", telegram_user_id="111")
    assert save_chat("111") == "111"  # the chat stays: so does its user
    assert save_chat("-100123") == "111"  # a group typed in: the confirmed user commands
    assert save_chat("333") == ""  # another private chat: its own user, nobody stored
    settings_form.confirmed = ("222", "222")  # "Find my chat" got the code from 222
    assert save_chat("222") == "222"
    assert save_chat("-100456") == "222"


def test_the_running_instance_applies_a_save_at_once(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim)
    service = Service(runtime)
    service.start()
    try:
        settings_form = SettingsForm(runtime.paths, runtime.secrets)
        saved = settings_form.save(
            {**settings_form.initial(), "paused": "x", "jitter_seconds": "3"}
        )
        assert saved.instance_told
        assert runtime.settings().jitter_seconds == 3
    finally:
        service.stop()


@pytest.mark.integration
def test_the_window_opens_shows_its_tabs_and_closes(
    desktop: dict[str, str],  # noqa: F811
    environ: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**desktop, **environ}
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "settings"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = wait_for_window(env, "--classname", "^hh-raiser-settings$")
        assert "HH Raiser" in xdotool(env, "getwindowname", window)
        xdotool(env, "windowfocus", "--sync", window)
        xdotool(env, "key", "--window", window, "Escape")
        assert window_gone(env, window)
        assert process.wait(timeout=10) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
    assert not os.environ.get("HH_RAISER_HOME")  # the test's home only


@pytest.fixture
def tk_garbage_collected() -> Iterator[None]:
    """Tk objects live in reference cycles. Left to the cyclic collector they are
    finalized later on whatever thread allocates (a simulator's, a worker's), where
    each ``__del__`` waits a second for a Tk main loop that is gone ("main thread is
    not in main loop"), stalling that thread: a later Telegram test timed out so.
    Collected here, on the main thread, once the test has let go of them; none may
    be left for later."""
    import tkinter

    yield
    gc.collect()
    kinds = (tkinter.Misc, tkinter.Variable, tkinter.Image)
    left = [type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds)]
    assert not left, f"Tk objects still referenced after the test: {left[:10]}"


@pytest.mark.integration
def test_the_window_finds_the_chat_sends_a_test_and_saves(
    tk_garbage_collected: None,
    desktop: dict[str, str],  # noqa: F811
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window's own buttons, in-process on a virtual screen, against the simulators.
    (One test: Tk keeps its X connection after ``destroy``, so a second in-process
    window on another virtual screen would die with it.)"""
    import tkinter

    from tray_app.adapters.settings_window.window import SettingsWindow

    monkeypatch.setenv("DISPLAY", desktop["DISPLAY"])
    runtime = make_runtime(
        tg_environ, keyring_backend, sim, with_tokens=False, redirect_port=free_port()
    )
    root = tkinter.Tk()
    launched: list[subprocess.Popen[bytes]] = []

    def start_sign_in() -> subprocess.Popen[bytes]:  # the window's process, signed in
        launched.append(subprocess.Popen([sys.executable, "-c", "raise SystemExit(0)"]))
        return launched[-1]

    questions: list[str] = []
    answers = [False, True]

    def confirm(title: str, question: str) -> bool:
        questions.append(question)
        return answers.pop(0)

    window = SettingsWindow(
        runtime,
        root,
        environ=tg_environ,
        open_browser=browser_that_approves,
        start_sign_in=start_sign_in,
        sign_in_support=lambda: WindowSupport(WindowMissing.NO_WEBKIT, "no WebKit2 typelib"),
        confirm=confirm,
    )

    def pump_until(text: str) -> None:
        deadline = time.monotonic() + 20
        while text not in window.status.get():
            assert time.monotonic() < deadline, window.status.get()
            root.update()
            time.sleep(0.02)

    def paste_session(cookies: dict[str, str]) -> None:
        window.session_text.delete("1.0", "end")
        window.session_text.insert("1.0", "; ".join(f"{k}={v}" for k, v in cookies.items()))
        window._web_session(from_firefox=False)

    try:
        # the browser sign-in: the OAuth use-case on a worker thread, its result shown
        window.vars["client_id"].set(sim.config.client_id)
        window.vars["client_secret"].set(sim.config.client_secret)
        window._sign_in()
        pump_until("Вход выполнен")
        assert TokenStore(runtime.secrets).load() is not None
        window.vars["telegram_bot_token"].set(tg.token)
        window._find_chat()
        pump_until("?start=")
        code = window.status.get().split("?start=", 1)[1].split()[0]
        tg.user_says(STRANGER, "/start NOTTHECODE", username="mallory")
        pump_until("Пропустил сообщение от mallory")
        tg.user_says(CHAT, f"/start {code}", username="anna")
        pump_until("Нашёл чат")
        assert window.vars["telegram_chat_id"].get() == str(CHAT)
        window._send_test()
        pump_until("отправлено")
        assert "Проверка связи" in tg.sent(CHAT)[-1].plain
        window.vars["margin_seconds"].set("abc")
        assert not window.save()
        shown = str(window.errors["margin_seconds"].cget("text"))
        assert shown == "margin_seconds: нужно число (получено 'abc')"
        # the website session: checked on the site before anything is stored
        assert window.vars["transport"].get() == "api"
        paste_session(sim.web.anonymous())
        pump_until("Ничего не сохранено")
        assert runtime.web_sessions().load() is None
        assert window.vars["transport"].get() == "api"
        good = sim.web.login()
        paste_session(good)
        pump_until("сохранён")
        root.update()
        session = runtime.web_sessions().load()
        assert session is not None and session.cookies["hhtoken"] == good["hhtoken"]
        assert window.vars["transport"].get() == "web"
        assert window.session_text.get("1.0", "end").strip() == ""  # not left on screen
        # the sign-in window: off with the reason where it cannot show, else its own process
        deadline = time.monotonic() + 10
        while "WebKitGTK" not in str(window.sign_in_hint.cget("text")):
            assert time.monotonic() < deadline
            root.update()
            time.sleep(0.02)
        assert window.sign_in_button.instate(["disabled"])
        assert "no WebKit2 typelib" in str(window.sign_in_hint.cget("text"))
        window._show_sign_in_support(WindowSupport(None, "WebKitGTK 4.1"))
        assert not window.sign_in_button.instate(["disabled"])
        assert str(window.sign_in_hint.cget("text")) == ""
        window.sign_in_button.invoke()
        pump_until("Вход через окно выполнен")
        assert len(launched) == 1 and launched[0].returncode == 0  # reaped
        # "Выйти": asked first; a no keeps everything
        runtime.web_sessions("spb.hh.ru").save(
            WebSession("spb.hh.ru", sim.web.login()), runtime.clock.now()
        )
        profile = profile_dir(runtime.paths)
        profile.mkdir(parents=True)
        (profile / "cookies").write_text("hhtoken=x")
        window.sign_out_button.invoke()
        root.update()
        assert runtime.web_sessions().load() is not None and profile.exists()
        window.sign_out_button.invoke()
        pump_until("Выход с hh.ru")
        assert "сессия сайта удалена" in window.status.get()
        assert "профиль окна входа очищен" in window.status.get()
        assert len(questions) == 2 and "hh.ru" in questions[0]
        assert runtime.web_sessions().load() is None and not profile.exists()
        assert runtime.web_sessions("spb.hh.ru").load() is not None  # another site's stays
        window.vars["margin_seconds"].set("9")
        assert window.save()
        assert runtime.secrets.get(TELEGRAM_BOT_TOKEN) == tg.token
        stored = json.loads(runtime.paths.settings_file.read_text())
        assert (stored["telegram_chat_id"], stored["margin_seconds"]) == (str(CHAT), 9)
        assert stored["telegram_user_id"] == str(CHAT)
        assert stored["transport"] == "web"  # the Save after the import keeps it
    finally:
        with contextlib.suppress(tkinter.TclError):
            root.destroy()
        runtime.close()


def test_transport_and_site_are_validated_and_saved(form: tuple[SettingsForm, Runtime]) -> None:
    settings_form, _ = form
    values = {**settings_form.initial(), "transport": "website", "web_host": "not a host"}
    errors = settings_form.validate(values, "en")
    assert "expected one of: api, web" in errors["transport"]
    assert "host name" in errors["web_host"]
    settings_form.save({**values, "transport": "web", "web_host": "https://spb.hh.ru/"})
    saved = settings_form.store.load()
    assert (saved.transport, saved.web_host) == ("web", "spb.hh.ru")


def test_signing_out_forgets_this_sites_session_and_the_window_profile(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    """Other sites' sessions stay; the running instance is told and stops at once."""
    from tray_app.adapters.settings_window.window import sign_out, signed_out_text

    runtime = make_web_runtime(environ, keyring_backend, sim)
    service = Service(runtime)
    service.start()
    try:
        wait_until(lambda: runtime.engine.auth_state is AuthState.OK, 10)
        other = runtime.web_sessions("hh.kz")
        other.save(WebSession("hh.kz", sim.web.login()), runtime.clock.now())
        profile = profile_dir(runtime.paths)
        profile.mkdir(parents=True)
        (profile / "storage").write_text("x")
        result = sign_out(runtime, "hh.ru")
        assert (result.host, result.session, result.profile) == ("hh.ru", True, True)
        assert result.told.reply is InstanceReply.APPLIED
        assert runtime.web_sessions("hh.ru").load() is None and not profile.exists()
        assert other.load() is not None
        # raising stops, and the tray offers the sign-in window
        wait_until(lambda: runtime.engine.auth_state.blocks_raising, 10)
        assert runtime.engine.auth_state in SIGN_IN_STATES
        for language, told in (("ru", "уже знает"), ("en", "knows already")):
            assert told in signed_out_text(result, language)
        again = sign_out(runtime, "hh.ru")  # nothing left: said so
        assert (again.session, again.profile) == (False, False)
        assert "не было" in signed_out_text(again, "ru")
        assert "no stored website session" in signed_out_text(again, "en")
    finally:
        service.stop()
        runtime.close()


def test_the_window_probe_asks_a_child_and_keeps_the_button_when_it_cannot_tell(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux finding WebKitGTK loads GTK, so the Tk process asks ``self-check``."""
    from tray_app.adapters.settings_window import window as window_module

    app = [sys.executable, "-m", "tray_app"]
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(window_module, "launch_command", lambda _env: app)
    env = {**os.environ, **environ}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    found = window_module.probe_window_support(env)
    assert found == WindowSupport(WindowMissing.NO_DISPLAY, "DISPLAY")
    nowhere = [str(Path(env["HH_RAISER_HOME"]) / "missing")]
    monkeypatch.setattr(window_module, "launch_command", lambda _env: nowhere)
    assert window_module.probe_window_support(env).available  # the window's process will say
    monkeypatch.setattr(sys, "platform", "darwin")  # no toolkit is loaded: asked here
    here = WindowSupport(None, "WKWebView")
    monkeypatch.setattr(window_module, "window_support", lambda _env: here)
    assert window_module.probe_window_support(env) == here


def test_a_save_does_not_undo_what_another_process_changed_meanwhile(
    form: tuple[SettingsForm, Runtime],
) -> None:
    settings_form, runtime = form
    store = SettingsStore(runtime.paths.settings_file)
    shown = settings_form.initial()  # the window opens
    store.update(margin_seconds="9", jitter_seconds="1")  # e.g. config set, meanwhile
    settings_form.save({**shown, "contact_email": "me@example.com", "jitter_seconds": "3"})
    stored = store.load()
    assert (stored.margin_seconds, stored.contact_email) == (9, "me@example.com")
    assert stored.jitter_seconds == 3  # what the user did change wins
    store.update(margin_seconds="8")
    settings_form.save({**shown, "contact_email": "me@example.com", "jitter_seconds": "3"})
    assert store.load().margin_seconds == 8  # and so on a second save from the same window


def test_the_update_check_is_a_box_on_the_general_tab(form: tuple[SettingsForm, Runtime]) -> None:
    from tray_app.adapters.settings_window.window import BOOLEANS, TABS  # needs tkinter

    assert "check_for_updates" in dict(TABS)["general"] and "check_for_updates" in BOOLEANS
    settings_form, _ = form
    values = settings_form.initial()
    assert values["check_for_updates"] == "true"  # on unless the user turns it off
    settings_form.save({**values, "check_for_updates": "false"})
    assert settings_form.store.load().check_for_updates is False
