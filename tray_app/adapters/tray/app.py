"""The tray icon over a running :class:`Service`.

Data flows one way: core events only mark the menu stale (a subscriber must never
hold up a raise); a refresher thread rebuilds menu, icon and tooltip from the typed
``Service.status()`` (memory only, never the network) within a second, and hands
the result to the backend on the thread it requires (pystray's GTK backends marshal
to their main loop themselves; macOS wants the main thread). Menu actions that can
take long (a raise, settings) run on worker threads, never on the UI thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tray_app import APP_ID, APP_NAME
from tray_app.adapters.autostart import Autostart
from tray_app.adapters.bundle import open_in_browser
from tray_app.adapters.children import Child, reap
from tray_app.adapters.service import Service
from tray_app.adapters.tray.icons import IconState, draw_icon, icon_state
from tray_app.adapters.tray.menu import SEPARATOR, Item, build_menu, tooltip
from tray_app.adapters.tray.native_menu import native_menu, relabel, shape, ui_dispatcher
from tray_app.adapters.tray.packages import install_command, this_installation
from tray_app.core.errors import HHRaiserError
from tray_app.core.events import Event, RaiseAttempted, RaiseStarted
from tray_app.core.views import NotDue
from tray_app.i18n import t
from tray_app.i18n.text import attempt_text
from tray_app.notify.notices import Notice
from tray_app.storage.privacy import user_umask
from tray_app.storage.settings import Settings

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.1  # a burst of events makes one rebuild
CLOCK_REFRESH_SECONDS = 60.0
NOTIFICATIONS = "org.freedesktop.Notifications"
SNI_WATCHER = "org.kde.StatusNotifierWatcher"  # what AppIndicator registers with


class TrayUnavailable(HHRaiserError):
    """No tray with a menu can be shown; ``no_display`` tells a server from a desktop
    that lacks libraries."""

    def __init__(self, message: str, *, no_display: bool = False) -> None:
        super().__init__(message)
        self.no_display = no_display


def load_pystray(language: str) -> ModuleType:
    """pystray with a backend that has menus, or :class:`TrayUnavailable` saying why.

    Never a silent icon without a menu: pystray's xorg fallback (PyGObject missing)
    is refused with the exact command that fixes it. On a tray that speaks only
    XEmbed, pystray's GtkStatusIcon backend (:mod:`.status_icon` says why)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        if not os.environ.get("WAYLAND_DISPLAY"):
            raise TrayUnavailable(t("tray.no_display", language, detail="DISPLAY"), no_display=True)
    try:
        import pystray
    except Exception as exc:  # noqa: BLE001 - without a display: an Xlib error, not ImportError
        raise TrayUnavailable(
            t("tray.no_display", language, detail=type(exc).__name__), no_display=True
        ) from None
    module: ModuleType = pystray
    if sys.platform.startswith("linux"):
        with contextlib.suppress(ImportError):  # GTK names its windows after the program
            from gi.repository import GLib

            GLib.set_prgname(APP_ID)
        if module_uses_gtk(pystray.Icon.__module__):
            from tray_app.adapters.tray.check_marks import use_png_marks_without_svg_loader

            use_png_marks_without_svg_loader()
        if pystray.Icon.__module__ == "pystray._appindicator" and xembed_tray_only(
            os.environ.get("DISPLAY")
        ):
            from tray_app.adapters.tray import status_icon

            module = status_icon
    if not module.Icon.HAS_MENU:
        command = install_command(this_installation())
        raise TrayUnavailable(t("tray.no_menu", language, command=command))
    return module


def module_uses_gtk(backend: str) -> bool:
    """Whether this pystray backend draws its menu with GTK in this process."""
    return backend in ("pystray._appindicator", "pystray._gtk")


def xembed_tray_only(display: str | None) -> bool:
    """An XEmbed tray on the screen and no StatusNotifierWatcher on the session bus:
    where AppIndicator would fall back to a GtkStatusIcon. With neither (a panel not
    up yet, at login) AppIndicator stays: it waits for whichever comes."""
    return not on_session_bus(SNI_WATCHER) and xembed_tray(display)


def xembed_tray(display: str | None) -> bool:
    """Someone owns the screen's ``_NET_SYSTEM_TRAY_S<n>`` selection (the XEmbed
    system tray specification): a tray that docks GtkStatusIcons."""
    if not display:
        return False
    try:
        import Xlib.display  # type: ignore[import-untyped]
        from Xlib import X

        screen = Xlib.display.Display(display)
    except Exception:  # noqa: BLE001 - no python-xlib or no X server: no XEmbed tray
        return False
    try:
        name = f"_NET_SYSTEM_TRAY_S{screen.get_default_screen()}"
        atom = screen.intern_atom(name, only_if_exists=True)
        return bool(atom != X.NONE and screen.get_selection_owner(atom) != X.NONE)
    except Exception:  # noqa: BLE001 - the server went away: as good as no tray
        return False
    finally:
        screen.close()


def open_path(path: Path) -> None:
    """Opens a file with the system's default application."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined,unused-ignore]
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    child = subprocess.Popen(  # the user's program, with the user's umask (ours: private)
        [opener, str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=user_umask(),
    )
    reap(child, opener)  # it hands the file over and ends: never a zombie


def notifications_available(pystray: ModuleType) -> bool:
    """pystray's flag, plus, on Linux, a notification daemon to talk to: without one
    the GTK backends raise inside their main loop."""
    if not pystray.Icon.HAS_NOTIFICATION:
        return False
    if not sys.platform.startswith("linux"):
        return True
    return on_session_bus(NOTIFICATIONS, activatable=True)


def on_session_bus(name: str, *, activatable: bool = False) -> bool:
    """Whether ``name`` has an owner on the session bus (or, with ``activatable``,
    D-Bus would start one on the first call)."""
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        methods = ("NameHasOwner", "ListActivatableNames") if activatable else ("NameHasOwner",)
        for method in methods:
            args = GLib.Variant("(s)", (name,))
            reply = bus.call_sync(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                method,
                args if method == "NameHasOwner" else None,
                None,
                Gio.DBusCallFlags.NONE,
                1000,
                None,
            ).unpack()[0]
            if reply is True or (isinstance(reply, list) and name in reply):
                return True
    except Exception:  # noqa: BLE001 - no session bus or no gi: nobody there, silently
        return False
    return False


def _main_thread_dispatcher() -> Callable[[Callable[[], None]], None]:
    """How to run UI code: on macOS through the Cocoa main loop, elsewhere directly."""
    if sys.platform == "darwin":
        from PyObjCTools import AppHelper  # type: ignore[import-not-found,unused-ignore]

        return lambda action: AppHelper.callAfter(action)  # type: ignore[no-any-return]
    return lambda action: action()


class TrayApp:
    def __init__(
        self,
        service: Service,
        pystray: ModuleType,
        *,
        autostart: Autostart | None,
        open_file: Callable[[Path], None] = open_path,
        open_url: Callable[[str], object] = open_in_browser,
        start_settings: Callable[[str], None],
        start_sign_in: Callable[[], Child],
        dispatch: Callable[[Callable[[], None]], None] | None = None,
        notifications: bool | None = None,
    ) -> None:
        """``notifications`` None: use them if the backend and the system have them.

        ``start_sign_in`` starts the sign-in window as a process of its own (the tray
        waits for it, so it never lingers as a zombie)."""
        self.service = service
        self.runtime = service.runtime
        self._pystray = pystray
        self._autostart = autostart
        self._open_file = open_file
        self._open_url = open_url
        self._start_settings = start_settings
        self._start_sign_in = start_sign_in
        self._sign_in_window: Child | None = None
        self._dispatch = dispatch or _main_thread_dispatcher()
        self._stale = threading.Event()
        self._stopping = threading.Event()
        self._raising: set[str] = set()
        self._shown: tuple[tuple[Item, ...], IconState, str] | None = None
        self._notifications = notifications
        self._can_notify = False
        # an empty menu would keep AppIndicator from showing the icon at all
        starting = (
            Item(t("tray.starting", self.language), enabled=False),
            SEPARATOR,
            Item(t("tray.quit", self.language), "quit"),
        )
        self.icon = pystray.Icon(
            APP_ID, draw_icon(IconState.OK), APP_NAME, menu=self._to_backend(starting)
        )
        self._ui = ui_dispatcher(self.icon)  # calls on the backend's own widgets
        self.runtime.bus.subscribe(self._on_event)
        service.notifications.add_sink(self._notify)
        service.quit_with(lambda: self._dispatch(self.quit))  # from the control thread

    @property
    def language(self) -> str:
        return self.runtime.settings().language

    # ---- lifecycle ------------------------------------------------------------------

    def run(self) -> int:
        """Blocks (on the main thread) until Quit; returns the exit code."""
        self._can_notify = (
            notifications_available(self._pystray)
            if self._notifications is None
            else self._notifications
        )
        try:
            self.icon.run(setup=self._setup)
        except Exception:
            if not self._stopping.is_set():
                raise
            # GTK backends may fail hiding a notification at exit with no daemon
            log.debug("tray backend failed while stopping", exc_info=True)
        finally:
            self._stopping.set()
            self._stale.set()
            self.service.stop()
        return 0

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        threading.Thread(target=self._refresh_loop, name="tray-refresh", daemon=True).start()
        self.service.start()
        self._stale.set()
        if not self.runtime.has_account():
            self._start_settings("hh")  # first start: nothing works until an account is set

    def quit(self) -> None:
        self._stopping.set()
        self.icon.stop()

    # ---- from the core to the menu --------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """Runs on the raising thread: only notes what changed."""
        if isinstance(event, RaiseStarted):
            self._raising.add(event.resume_id)
        elif isinstance(event, RaiseAttempted):
            self._raising.discard(event.attempt.resume_id)
        self._stale.set()

    def _refresh_loop(self) -> None:
        while not self._stopping.is_set():
            # events make it stale; once a minute anyway, so a time shown as HH:MM
            # gains its date when the day changes (memory only, no network)
            self._stale.wait(CLOCK_REFRESH_SECONDS)
            self._stopping.wait(COALESCE_SECONDS)
            self._stale.clear()
            if self._stopping.is_set():
                return
            try:
                self.refresh()
            except Exception:
                log.exception("could not refresh the tray menu")

    def refresh(self) -> None:
        status = self.service.status()
        language = self.language
        autostart = self._autostart.is_enabled() if self._autostart else None
        items = build_menu(status, autostart=autostart, language=language)
        state = icon_state(status, bool(self._raising))
        title = tooltip(status, language)
        shown = (items, state, title)
        if shown == self._shown:
            return
        previous, self._shown = self._shown, shown
        log.debug("tray menu: %s", " | ".join(item.text for item in items))

        def apply() -> None:
            if previous is None or previous[0] != items:
                self._show_menu(items, None if previous is None else previous[0])
            if previous is None or previous[1] != state:
                self.icon.icon = draw_icon(state)
            self.icon.title = title

        self._dispatch(apply)

    def _show_menu(self, items: tuple[Item, ...], shown: tuple[Item, ...] | None) -> None:
        """New texts alone relabel the backend's menu where it is, so a menu open during
        a raise shows it (:mod:`.native_menu`); anything else builds a new one."""
        if shown is None or shape(shown) != shape(items) or native_menu(self.icon) is None:
            self.icon.menu = self._to_backend(items)
            return

        def in_place() -> None:
            try:
                menu = native_menu(self.icon)
                if menu is not None and relabel(menu, items):
                    return
            except Exception:
                log.exception("could not relabel the tray menu")
            self.icon.menu = self._to_backend(items)

        self._ui(in_place)

    def _to_backend(self, items: Sequence[Item]) -> Any:
        pystray = self._pystray

        def convert(item: Item) -> Any:
            if item == SEPARATOR:
                return pystray.Menu.SEPARATOR
            if item.submenu:
                submenu = pystray.Menu(*(convert(sub) for sub in item.submenu))
                return pystray.MenuItem(item.text, submenu, enabled=item.enabled)
            checked = None if item.checked is None else (lambda _i, v=item.checked: v)
            action = item.action
            return pystray.MenuItem(
                item.text,
                lambda _icon, _item: self.act(action) if action else None,
                checked=checked,
                enabled=item.enabled,
            )

        return pystray.Menu(*(convert(item) for item in items))

    # ---- from the menu to the service -----------------------------------------------

    def act(self, action: str) -> None:
        """Carries out a menu action; anything slow goes to a worker thread."""
        if action == "quit":
            self.quit()
            return
        threading.Thread(target=self._act, args=(action,), name=f"tray-{action}").start()

    def _act(self, action: str) -> None:
        log.info("tray menu action: %s", action)
        kind, _, resume_id = action.partition(":")
        try:
            if kind == "raise_all":
                self._raise(None)
            elif kind == "raise":
                self._raise(resume_id)
            elif kind == "toggle":
                self._toggle(resume_id)
            elif kind == "pause":
                self.service.set_paused(not self.runtime.settings().paused)
            elif kind == "autostart" and self._autostart is not None:
                if self._autostart.is_enabled():
                    self._autostart.disable()
                else:
                    self._autostart.enable()
            elif kind == "sign_in_window":
                self._open_sign_in_window()
            elif kind == "settings":
                self._start_settings("hh")
            elif kind == "log":
                self._open_file(self.runtime.paths.log_file)
            elif kind == "about":
                self._start_settings("about")
            elif kind == "update":
                self._open_release_page()
        except Exception:
            log.exception("tray action %s failed", action)
        self._stale.set()

    def _open_release_page(self) -> None:
        """The release's page in the browser: the user reads it and decides; the app
        downloads and runs nothing."""
        url = self.service.status().update.url
        if url:
            self._open_url(url)

    def _open_sign_in_window(self) -> None:
        """One window at a time: a second one would share the first one's profile."""
        if self._sign_in_window is not None and self._sign_in_window.poll() is None:
            log.info("the sign-in window is open already")
            return
        self._sign_in_window = self._start_sign_in()
        reap(self._sign_in_window, "sign-in window", lambda _code: self._stale.set())

    def _raise(self, resume_id: str | None) -> None:
        """Raised ones are told by the notifications; "too early" only here."""
        for r in self.service.raise_now(resume_id):
            if isinstance(r.result, NotDue):
                self._tell(attempt_text(r.result, r.next_raise_at, self.language))

    def _toggle(self, resume_id: str) -> None:
        """``enabled_resumes`` None means all: switching one off lists the others, and
        switching off the last one leaves an empty list (none)."""
        known = [r.id for r in self.service.status().resumes]

        def toggled(settings: Settings) -> dict[str, Any]:  # as on disk, inside its lock
            enabled = known if settings.enabled_resumes is None else settings.enabled_resumes
            if settings.is_enabled(resume_id):
                return {"enabled_resumes": tuple(rid for rid in enabled if rid != resume_id)}
            return {"enabled_resumes": (*enabled, resume_id)}

        self.runtime.settings.modify(toggled)
        self.service.reload_settings()

    # ---- desktop notifications ------------------------------------------------------

    def _notify(self, notice: Notice) -> None:
        """A notification sink: the same notices and level as Telegram."""
        self._tell(notice.text)

    def _tell(self, text: str) -> None:
        if self._can_notify:
            self._dispatch(lambda: self.icon.notify(text, APP_NAME))
        else:
            log.info("%s", text)
