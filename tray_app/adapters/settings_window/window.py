"""The settings window's widgets (tkinter). Slow actions (browser sign-in, finding
the Telegram chat, a test message, signing out) run the same use-cases as the CLI on
threads and report their results back through the main loop, so the window never
freezes. The sign-in window (pywebview, GTK on Linux) is a process of its own: Tk and
GTK never share one."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import tkinter as tk
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from tkinter import messagebox, ttk

from tray_app import __version__
from tray_app.adapters.autostart import launch_command
from tray_app.adapters.bundle import asset_path, open_in_browser
from tray_app.adapters.children import Child, reap
from tray_app.adapters.login_text import result_text
from tray_app.adapters.settings_window.form import SettingsForm
from tray_app.adapters.usecases import (
    CookieSource,
    CookieText,
    FirefoxCookies,
    InstanceReply,
    OAuthSignIn,
    Told,
    sign_in_oauth,
    sign_in_web,
    tell_instance,
)
from tray_app.adapters.web_login import done_text, problem_text
from tray_app.adapters.web_window import (
    WindowMissing,
    WindowSupport,
    clear_profile,
    launch_window,
    window_support,
)
from tray_app.core.errors import ConfigError, HHRaiserError
from tray_app.core.models import Language, NotifyLevel, TransportKind
from tray_app.i18n import t
from tray_app.i18n.text import error_text, store_text
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import validate
from tray_app.storage.web_session import KNOWN_HOSTS
from tray_app.telegram.api import BotApi
from tray_app.telegram.setup import (
    CodeExposed,
    IgnoredMessage,
    bot_username,
    deep_link,
    find_chat,
    ignored_text,
    new_code,
    open_bot,
    send_checked,
)
from tray_app.wiring import Runtime

log = logging.getLogger(__name__)

DRAIN_MS = 50  # how often the main loop runs what worker threads handed over
SIGN_IN_TIMEOUT = 180.0  # seconds to wait for hh.ru's redirect
FIND_CHAT_TIMEOUT = 120  # seconds to wait for the setup code
PROBE_TIMEOUT = 60.0  # seconds for the child that looks for the sign-in window's engine
CHOICES: dict[str, tuple[str, ...]] = {
    "notify_level": tuple(NotifyLevel),
    "language": tuple(Language),
    "transport": (TransportKind.WEB, TransportKind.API),  # the order shown
}
SUGGESTIONS = {"web_host": KNOWN_HOSTS}
BOOLEANS = ("telegram_commands", "check_for_updates")
SECRETS = ("client_secret", "telegram_bot_token", "access_token", "refresh_token")
TABS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "hh",
        (
            "transport",
            "web_host",
            "client_id",
            "client_secret",
            "contact_email",
            "access_token",
            "refresh_token",
        ),
    ),
    (
        "telegram",
        (
            "telegram_bot_token",
            "telegram_chat_id",
            "notify_level",
            "telegram_commands",
            "digest_time",
            "telegram_proxy",
        ),
    ),
    ("raising", ("margin_seconds", "jitter_seconds", "anchor_time", "active_hours")),
    ("general", ("language", "check_for_updates")),
)


def credentials_changed(runtime: Runtime) -> None:
    """Tells the running instance; the window has nowhere to show a failure but the
    log (what was stored stays stored, the instance picks it up when restarted)."""
    told = tell_instance(runtime.paths, "credentials")
    if told.reply == InstanceReply.FAILED:
        log.warning("stored, but the running instance could not be told: %s", told.detail)


def sign_in_with_browser(
    runtime: Runtime,
    open_browser: Callable[[str], bool],
    stop: threading.Event,
    timeout: float = SIGN_IN_TIMEOUT,
) -> OAuthSignIn:
    """The window's "sign in with the browser": the OAuth use-case with neither a paste
    fallback nor a secret prompt (the window's fields hold the client id and secret),
    then the running instance told."""
    result = sign_in_oauth(
        runtime,
        open_browser=open_browser,
        ask_secret=None,
        paste=None,
        timeout=timeout,
        stop=stop,
    )
    if result.ok:
        credentials_changed(runtime)
    return result


def probe_window_support(environ: Mapping[str, str] | None = None) -> WindowSupport:
    """:func:`window_support` for this Tk process, without GTK in it: on Linux, finding
    WebKitGTK loads and initializes GTK (whose X error handler would replace Tk's), so
    a child (``self-check --json``) looks. When the child cannot tell, the button stays:
    the sign-in window's own process says what is missing."""
    if not sys.platform.startswith("linux"):
        return window_support(environ)  # pywebview alone: no toolkit is loaded
    env = dict(os.environ if environ is None else environ)
    try:
        done = subprocess.run(
            [*launch_command(env), "self-check", "--json"],
            env=env,
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        found = json.loads(lines[-1])["sign_in_window"]
        missing = found["missing"]
        return WindowSupport(
            None if missing is None else WindowMissing(missing), str(found["detail"])
        )
    except (OSError, subprocess.SubprocessError, ValueError, LookupError, TypeError) as exc:
        log.warning("could not tell whether the sign-in window can be shown: %r", exc)
        return WindowSupport(None, "?")


@dataclass(frozen=True)
class SignedOut:
    host: str
    session: bool  # a stored website session was deleted
    profile: bool  # the sign-in window's profile was cleared
    told: Told


def sign_out(runtime: Runtime, host: str) -> SignedOut:
    """The window's "Выйти": forgets the website session of ``host`` (other hosts'
    stay) and the sign-in window's profile, so that window does not sign straight
    back in, then tells the running instance."""
    store = runtime.web_sessions(host)
    had_session = bool(runtime.secrets.get(store.index_name))
    store.delete()
    had_profile = clear_profile(runtime.paths)
    told = tell_instance(runtime.paths, "credentials")
    if told.reply == InstanceReply.FAILED:
        log.warning("signed out, but the running instance could not be told: %s", told.detail)
    log.info("signed out of %s (session %s, profile %s)", host, had_session, had_profile)
    return SignedOut(host, had_session, had_profile, told)


def signed_out_text(result: SignedOut, language: str) -> str:
    text = t(
        "settings.signed_out",
        language,
        host=result.host,
        session=t(
            "settings.signed_out.session" if result.session else "settings.signed_out.no_session",
            language,
        ),
        profile=t(
            "settings.signed_out.profile" if result.profile else "settings.signed_out.no_profile",
            language,
        ),
    )
    if result.told.reply == InstanceReply.APPLIED:
        text += " " + t("settings.signed_out.told", language)
    return text


class SettingsWindow:
    def __init__(
        self,
        runtime: Runtime,
        root: tk.Tk | None = None,
        *,
        tab: str = "hh",
        environ: Mapping[str, str] | None = None,
        open_browser: Callable[[str], bool] = open_in_browser,
        start_sign_in: Callable[[], Child] | None = None,
        sign_in_support: Callable[[], WindowSupport] | None = None,
        confirm: Callable[[str, str], bool] | None = None,
    ) -> None:
        """``start_sign_in`` starts the sign-in window's process (``login --web
        --window``); ``sign_in_support`` says whether it can show here (asked on a
        thread); ``confirm(title, question)`` asks before signing out."""
        self.runtime = runtime
        self.environ = environ  # where to look for Firefox profiles
        self.open_browser = open_browser
        self.start_sign_in = start_sign_in or (lambda: launch_window(environ))
        self.sign_in_support = sign_in_support or (lambda: probe_window_support(environ))
        self.confirm = confirm or self._ask
        self.sign_in_child: Child | None = None
        self.stop = threading.Event()  # set on close: a waiting sign-in gives up
        self.form = SettingsForm(runtime.paths, runtime.secrets)
        self.language = runtime.settings().language
        self.root = root or tk.Tk()
        self.root.title(t("settings.title", self.language))
        self._set_icon()
        self.root.bind("<Escape>", lambda _e: self.close())
        self.root.protocol("WM_DELETE_WINDOW", self.close)
        self.vars: dict[str, tk.StringVar] = {}
        self.errors: dict[str, ttk.Label] = {}
        self.status = tk.StringVar()
        self._pending: queue.Queue[Callable[[], None]] = queue.Queue()
        self._build(tab)
        self.root.after(DRAIN_MS, self._drain)
        self._check_sign_in_window()

    def _set_icon(self) -> None:
        """The app's icon, from the bundle in the built app (``assets/``)."""
        icon = asset_path("hh-raiser.png")
        if icon.exists():
            self._icon = tk.PhotoImage(master=self.root, file=str(icon))
            self.root.iconphoto(True, self._icon)

    def _text(self, key: str, **values: object) -> str:
        return t(key, self.language, **values)

    def _build(self, selected: str) -> None:
        stored = self.form.stored_secrets()
        initial = self.form.initial()
        notebook = ttk.Notebook(self.root)
        notebook.pack(fill="both", expand=True, padx=8, pady=8)
        for tab, fields in TABS:
            frame = ttk.Frame(notebook, padding=8)
            notebook.add(frame, text=self._text(f"settings.tab.{tab}"))
            if tab == selected:
                notebook.select(frame)  # type: ignore[no-untyped-call]
            for row, key in enumerate(fields):
                self._field(frame, row, key, initial[key], stored)
            extra = len(fields)
            if tab == "hh":
                self._button(frame, extra, "settings.sign_in", self._sign_in)
                self._session_box(frame, extra + 1)
            if tab == "telegram":
                self._button(frame, extra, "settings.find_chat", self._find_chat)
                self._button(frame, extra + 1, "settings.send_test", self._send_test)
        about = ttk.Frame(notebook, padding=8)
        notebook.add(about, text=self._text("settings.tab.about"))
        paths = self.runtime.paths
        ttk.Label(
            about,
            justify="left",
            text=self._text(
                "settings.about",
                version=__version__,
                config=paths.config_dir,
                data=paths.data_dir,
                logs=paths.log_dir,
                keyring=store_text(self.runtime.secret_store, self.language),
            ),
        ).pack(anchor="w")
        if selected == "about":
            notebook.select(about)  # type: ignore[no-untyped-call]
        ttk.Label(self.root, textvariable=self.status, wraplength=520).pack(fill="x", padx=8)
        buttons = ttk.Frame(self.root, padding=8)
        buttons.pack(fill="x")
        ttk.Button(buttons, text=self._text("settings.cancel"), command=self.close).pack(
            side="right"
        )
        ttk.Button(buttons, text=self._text("settings.save"), command=self.save).pack(
            side="right", padx=4
        )

    def _field(
        self, frame: ttk.Frame, row: int, key: str, value: str, stored: dict[str, bool]
    ) -> None:
        ttk.Label(frame, text=self._text(f"settings.field.{key}")).grid(
            row=2 * row, column=0, sticky="w", pady=(4, 0)
        )
        var = tk.StringVar(value=value)
        self.vars[key] = var
        widget: tk.Widget
        if key in CHOICES:
            widget = ttk.Combobox(frame, textvariable=var, values=CHOICES[key], state="readonly")
        elif key in SUGGESTIONS:
            widget = ttk.Combobox(frame, textvariable=var, values=SUGGESTIONS[key])
        elif key in BOOLEANS:
            widget = ttk.Checkbutton(frame, variable=var, onvalue="true", offvalue="false")
        else:
            widget = ttk.Entry(
                frame, textvariable=var, width=44, show="•" if key in SECRETS else ""
            )
        widget.grid(row=2 * row, column=1, sticky="we", pady=(4, 0))
        stored_as = "tokens" if key in ("access_token", "refresh_token") else key
        hint = self._text("settings.stored") if key in SECRETS and stored.get(stored_as) else ""
        error = ttk.Label(frame, text=hint, foreground="gray")
        error.grid(row=2 * row + 1, column=1, sticky="w")
        self.errors[key] = error

    def _button(self, frame: ttk.Frame, row: int, key: str, action: Callable[[], None]) -> None:
        ttk.Button(frame, text=self._text(key), command=action).grid(
            row=2 * row + 1, column=0, columnspan=2, sticky="w", pady=(8, 0)
        )

    def _session_box(self, frame: ttk.Frame, row: int) -> None:
        """The website session: the sign-in window (hh.ru's own login page) and
        signing out; or paste a Cookie header / cookies.txt, or take Firefox's."""
        first = 2 * row + 2
        window = ttk.Frame(frame)
        window.grid(row=first, column=0, columnspan=2, sticky="w", pady=(12, 0))
        self.sign_in_button = ttk.Button(
            window, text=self._text("settings.window_sign_in"), command=self._open_sign_in
        )
        self.sign_in_button.pack(side="left")
        self.sign_out_button = ttk.Button(
            window, text=self._text("settings.sign_out"), command=self._sign_out
        )
        self.sign_out_button.pack(side="left", padx=4)
        self.sign_in_hint = ttk.Label(frame, text="", foreground="gray", wraplength=480)
        self.sign_in_hint.grid(row=first + 1, column=0, columnspan=2, sticky="w")
        ttk.Label(frame, text=self._text("settings.web_session"), wraplength=480).grid(
            row=first + 2, column=0, columnspan=2, sticky="w", pady=(8, 0)
        )
        self.session_text = tk.Text(frame, height=4, width=60, wrap="char")
        self.session_text.grid(row=first + 3, column=0, columnspan=2, sticky="we")
        buttons = ttk.Frame(frame)
        buttons.grid(row=first + 4, column=0, columnspan=2, sticky="w", pady=(4, 0))
        ttk.Button(
            buttons,
            text=self._text("settings.web_check"),
            command=lambda: self._web_session(from_firefox=False),
        ).pack(side="left")
        ttk.Button(
            buttons,
            text=self._text("settings.web_firefox"),
            command=lambda: self._web_session(from_firefox=True),
        ).pack(side="left", padx=4)

    def values(self) -> dict[str, str]:
        return {key: var.get() for key, var in self.vars.items()}

    # ---- actions --------------------------------------------------------------------

    def save(self) -> bool:
        errors = self.form.validate(self.values(), self.language)
        for key, label in self.errors.items():
            label.configure(text=errors.get(key, ""), foreground="red")
        if errors:
            self.status.set(self._text("settings.fix_errors"))
            return False
        try:
            saved = self.form.save(self.values())
        except HHRaiserError as exc:
            self.status.set(error_text(exc, self.language))
            return False
        self.status.set(
            self._text("settings.saved_live" if saved.instance_told else "settings.saved")
        )
        self.root.after(600, self.close)
        return True

    def close(self) -> None:
        self.stop.set()
        self.root.destroy()

    def _in_background(self, work: Callable[[], str]) -> None:
        """Runs ``work`` on a thread; its text (or error) lands in the status line.

        Worker threads never touch Tk: they hand closures to :meth:`_later`, which
        the main loop runs (:meth:`_drain`)."""
        self.status.set(self._text("settings.working"))

        def run() -> None:
            try:
                text = work()
            except HHRaiserError as exc:
                text = error_text(exc, self.language)
            self._later(lambda: self.status.set(text))

        threading.Thread(target=run, daemon=True).start()

    def _later(self, action: Callable[[], None]) -> None:
        self._pending.put(action)

    def _drain(self) -> None:
        while True:
            try:
                action = self._pending.get_nowait()
            except queue.Empty:
                break
            action()
        self.root.after(DRAIN_MS, self._drain)

    def _bot(self) -> BotApi:
        """The bot typed in, or the stored one (read on the main thread)."""
        typed = self.vars["telegram_bot_token"].get().strip()
        token = typed or self.runtime.secrets.get(TELEGRAM_BOT_TOKEN)
        if not token:
            raise HHRaiserError(self._text("telegram.reason.not_configured"))
        return open_bot(self.runtime.telegram_targets, token)

    def _with_bot(self, work: Callable[[BotApi], str]) -> None:
        """``work`` on a thread with the bot (found here, on the main thread)."""
        try:
            bot = self._bot()
        except HHRaiserError as exc:
            self.status.set(error_text(exc, self.language))
            return

        def run() -> str:
            try:
                return work(bot)
            finally:
                bot.close()

        self._in_background(run)

    def _find_chat(self) -> None:
        """Shows a one-time code; the chat is the private one that sends it back.
        Messages ignored meanwhile are shown under the code."""
        code = new_code()

        def work(bot: BotApi) -> str:
            username = bot_username(bot)
            waiting = self._text(
                "tgsetup.send_code",
                link=deep_link(username, code),
                username=username,
                code=code,
                timeout=FIND_CHAT_TIMEOUT,
            )
            self._later(lambda: self.status.set(waiting))

            def ignored(message: IgnoredMessage) -> None:
                line = ignored_text(message, self.language)
                self._later(lambda: self.status.set(f"{waiting}\n{line}"))

            found = find_chat(bot, code, FIND_CHAT_TIMEOUT, self.stop, ignored)
            if found is None:
                return self._text("tgsetup.no_start", timeout=FIND_CHAT_TIMEOUT)
            if isinstance(found, CodeExposed):
                return self._text("tgsetup.code_exposed", chat=found.where.chat_id)
            confirmed = found

            def show() -> None:
                self.form.confirmed = (confirmed.chat_id, confirmed.user_id)
                self.vars["telegram_chat_id"].set(confirmed.chat_id)

            self._later(show)
            return self._text("tgsetup.found", chat=found.chat_id, name=found.name)

        self._with_bot(work)

    def _send_test(self) -> None:
        chat_id = self.vars["telegram_chat_id"].get().strip()

        def work(bot: BotApi) -> str:
            send_checked(bot, chat_id, self._text("tgtest.text"))
            return self._text("tgsetup.test_sent")

        self._with_bot(work)

    def _web_session(self, *, from_firefox: bool) -> None:
        """Checks the pasted (or Firefox's) session on the site, then stores it and
        switches to the website; nothing is written when the check fails."""
        try:
            host = str(validate("web_host", self.vars["web_host"].get()))
        except ConfigError as exc:
            self.status.set(error_text(exc, self.language))
            return
        source: CookieSource = (
            FirefoxCookies(environ=self.environ)
            if from_firefox
            else CookieText(self.session_text.get("1.0", "end"), "settings window")
        )
        runtime, language = self.runtime, self.language

        def work() -> str:
            result = sign_in_web(runtime, host, source)
            if result.login is None:
                assert result.error is not None
                return problem_text(result.error, host, language)
            credentials_changed(runtime)
            self._later(self._session_taken)
            return done_text(result.login, runtime.secrets.backend_name, language)

        self._in_background(work)

    # ---- the sign-in window and signing out -----------------------------------------

    def _check_sign_in_window(self) -> None:
        """Asks (on a thread: it may start a process) whether the window can show."""
        ask = self.sign_in_support

        def run() -> None:
            support = ask()
            self._later(lambda: self._show_sign_in_support(support))

        threading.Thread(target=run, name="sign-in-window-probe", daemon=True).start()

    def _show_sign_in_support(self, support: WindowSupport) -> None:
        """No window here: the button is off, and the hint says why and what else works."""
        if support.missing is None:
            self.sign_in_button.state(["!disabled"])
            self.sign_in_hint.configure(text="")
            return
        self.sign_in_button.state(["disabled"])
        self.sign_in_hint.configure(
            text=self._text(f"window.missing.{support.missing.value}", detail=support.detail)
        )

    def _open_sign_in(self) -> None:
        """Starts ``login --web --window`` as a process of its own (one at a time)."""
        if self.sign_in_child is not None and self.sign_in_child.poll() is None:
            self.status.set(self._text("settings.window_opened"))
            return
        try:
            child = self.start_sign_in()
        except OSError as exc:
            self.status.set(self._text("settings.window_failed", error=exc))
            return
        self.sign_in_child = child
        self.status.set(self._text("settings.window_opened"))
        reap(child, "sign-in window", lambda code: self._later(lambda: self._window_closed(code)))

    def _window_closed(self, code: int) -> None:
        """The window's process stored (and told) the session itself; the form follows."""
        if code != 0:
            self.status.set(self._text("settings.window_not_signed_in"))
            return
        settings = self.form.store.load()
        self.vars["transport"].set(settings.transport)
        self.vars["web_host"].set(settings.web_host)
        self.status.set(self._text("settings.window_signed_in"))

    def _ask(self, title: str, question: str) -> bool:
        return bool(messagebox.askyesno(title, question, parent=self.root))

    def _sign_out(self) -> None:
        """After a yes: the configured host's session and the window's profile go."""
        host = self.form.store.load().web_host
        question = self._text("settings.sign_out_confirm", host=host)
        if not self.confirm(self._text("settings.sign_out_title"), question):
            return
        runtime, language = self.runtime, self.language
        self._in_background(lambda: signed_out_text(sign_out(runtime, host), language))

    def _session_taken(self) -> None:
        """The form now shows what was stored, so a later Save keeps it."""
        settings = self.form.store.load()
        self.vars["transport"].set(settings.transport)
        self.vars["web_host"].set(settings.web_host)
        self.session_text.delete("1.0", "end")

    def _sign_in(self) -> None:
        """Saves what is typed (client id and secret), then runs the browser sign-in."""
        if not self.save_quietly():
            return
        self.runtime.settings.reload_if_changed()  # the form wrote the file, not the runtime
        runtime, language = self.runtime, self.language

        def work() -> str:
            result = sign_in_with_browser(runtime, self.open_browser, self.stop)
            if result.ok:
                self._later(self._account_changed)
            return result_text(result, runtime.secrets.backend_name, language)

        self._in_background(work)

    def _account_changed(self) -> None:
        """A sign-in may switch the transport: the form shows it, so a later Save keeps it."""
        self.vars["transport"].set(self.form.store.load().transport)

    def save_quietly(self) -> bool:
        errors = self.form.validate(self.values(), self.language)
        if errors:
            return self.save()
        self.form.save(self.values())
        return True

    def run(self) -> None:
        self.root.mainloop()
