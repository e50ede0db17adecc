"""The settings window's widgets (tkinter). Slow actions (browser sign-in, finding
the Telegram chat, a test message) run on threads and report back through
``after``, so the window never freezes."""

from __future__ import annotations

import io
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from tray_app import __version__
from tray_app.adapters.bundle import asset_path
from tray_app.adapters.cli.base import Cli, notify_instance
from tray_app.adapters.settings_window.form import SettingsForm
from tray_app.adapters.web_login import (
    cookies_from_firefox,
    cookies_from_text,
    done_text,
    problem_text,
    sign_in_with_cookies,
)
from tray_app.core.errors import ConfigError, HHRaiserError
from tray_app.i18n import t
from tray_app.i18n.text import error_text
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN
from tray_app.storage.settings import Language, NotifyLevel, TransportKind, validate
from tray_app.telegram.api import BotApi
from tray_app.telegram.setup import bot_username, find_chat, open_bot, send_checked
from tray_app.wiring import Runtime

DRAIN_MS = 50  # how often the main loop runs what worker threads handed over
CHOICES: dict[str, tuple[str, ...]] = {
    "notify_level": tuple(NotifyLevel),
    "language": tuple(Language),
    "transport": (TransportKind.WEB, TransportKind.API),  # the order shown
}
SUGGESTIONS = {"web_host": ("hh.ru", "spb.hh.ru", "hh.kz", "rabota.by")}
BOOLEANS = ("telegram_commands",)
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
    ("general", ("language",)),
)


class SettingsWindow:
    def __init__(
        self, cli: Cli, runtime: Runtime, root: tk.Tk | None = None, *, tab: str = "hh"
    ) -> None:
        self.cli = cli
        self.runtime = runtime
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
                keyring=self.runtime.secrets.backend_name,
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
        """The website session: paste a Cookie header / cookies.txt, or take Firefox's."""
        ttk.Label(frame, text=self._text("settings.web_session"), wraplength=480).grid(
            row=2 * row + 2, column=0, columnspan=2, sticky="w", pady=(12, 0)
        )
        self.session_text = tk.Text(frame, height=4, width=60, wrap="char")
        self.session_text.grid(row=2 * row + 3, column=0, columnspan=2, sticky="we")
        buttons = ttk.Frame(frame)
        buttons.grid(row=2 * row + 4, column=0, columnspan=2, sticky="w", pady=(4, 0))
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
        errors = self.form.validate(self.values())
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
        def work(bot: BotApi) -> str:
            username = bot_username(bot)
            waiting = self._text("tgsetup.send_start", username=username, timeout=120)
            self._later(lambda: self.status.set(waiting))
            found = find_chat(bot, 120)
            if found is None:
                return self._text("tgsetup.no_start", timeout=120)
            self._later(lambda: self.vars["telegram_chat_id"].set(found.chat_id))
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
        text = self.session_text.get("1.0", "end")
        runtime, language = self.runtime, self.language

        def work() -> str:
            try:
                if from_firefox:
                    cookies, profile = cookies_from_firefox(host, runtime, environ=self.cli.environ)
                    source = f"Firefox {profile.name}"
                else:
                    cookies, source = cookies_from_text(text, host, runtime), "settings window"
                login = sign_in_with_cookies(runtime, cookies, host, source)
            except HHRaiserError as exc:
                return problem_text(exc, host, language)
            notify_instance(Cli(environ=self.cli.environ, out=io.StringIO()), "credentials")
            self._later(self._session_taken)
            return done_text(login, runtime.secrets.backend_name, language)

        self._in_background(work)

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

        def work() -> str:
            from tray_app.adapters.cli.main import main

            output = io.StringIO()
            login_cli = Cli(
                environ=self.cli.environ,
                out=output,
                err=output,
                keyring_backend=self.cli.keyring_backend,
                prompt=lambda _text: "",
                secret_prompt=lambda _text: "",
            )
            main(["login", "--timeout", "180"], login_cli)
            return output.getvalue().strip().splitlines()[-1] if output.getvalue() else ""

        self._in_background(work)

    def save_quietly(self) -> bool:
        errors = self.form.validate(self.values())
        if errors:
            return self.save()
        self.form.save(self.values())
        return True

    def run(self) -> None:
        self.root.mainloop()
