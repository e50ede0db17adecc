"""A stand-in for the pystray module: the same surface TrayApp uses, recording
what it is asked to show, so the menu can be built and every item invoked anywhere.

Like pystray's GTK backends, each menu set turns into a new native menu
(``_menu_handle``, GtkMenu-like), and an open menu is the native menu it was when it
opened: what a user sees is read from there, never from the descriptors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class MenuItem:
    def __init__(
        self,
        text: str,
        action: Any,
        checked: Callable[[Any], bool] | None = None,
        enabled: bool = True,
    ) -> None:
        self.text = text
        self.action = action
        self.checked = checked
        self.enabled = enabled

    @property
    def submenu(self) -> Menu | None:
        return self.action if isinstance(self.action, Menu) else None


class Menu:
    SEPARATOR = MenuItem("-", None)

    def __init__(self, *items: MenuItem) -> None:
        self.items = items


class NativeItem:
    """A ``Gtk.MenuItem`` as tray_app's native_menu uses it; ``descriptor`` is what
    it was built from (its action and check mark)."""

    def __init__(self, descriptor: MenuItem) -> None:
        self.descriptor = descriptor
        self.label = descriptor.text
        self.relabeled = 0
        submenu = descriptor.submenu
        self.submenu = None if submenu is None else NativeMenu(submenu)

    def get_label(self) -> str:
        return self.label

    def set_label(self, label: str) -> None:
        self.label = label
        self.relabeled += 1

    def get_submenu(self) -> NativeMenu | None:
        return self.submenu


class NativeMenu:
    """A ``Gtk.Menu``."""

    def __init__(self, menu: Menu) -> None:
        self.items = [NativeItem(item) for item in menu.items]

    def get_children(self) -> list[NativeItem]:
        return list(self.items)

    def texts(self) -> list[str]:
        return [item.label for item in self.items]


class Icon:
    HAS_MENU = True
    HAS_NOTIFICATION = True

    def __init__(self, name: str, icon: Any, title: str, menu: Menu) -> None:
        self.name, self.icon, self.title = name, icon, title
        self.menu_builds = 0
        self.menu = menu
        self.visible = False
        self.notifications: list[str] = []
        self._stopped = threading.Event()

    @property
    def menu(self) -> Menu:
        return self._menu

    @menu.setter
    def menu(self, menu: Menu) -> None:
        """pystray's ``update_menu``: a new native menu from the descriptors."""
        self._menu = menu
        self._menu_handle = NativeMenu(menu)
        self.menu_builds += 1

    def open_menu(self) -> NativeMenu:
        """The menu a click opens now; it stays this object while open."""
        return self._menu_handle

    def texts(self) -> list[str]:
        """The menu's lines as they would show if it opened now."""
        return self._menu_handle.texts()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def run(self, setup: Callable[[Icon], None]) -> None:
        """Like a backend's main loop: blocks until :meth:`stop`."""
        setup(self)
        self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    def notify(self, message: str, title: str | None = None) -> None:
        self.notifications.append(message)

    def find(self, text: str) -> MenuItem:
        """The item whose shown text starts with ``text`` (submenus searched too)."""
        return self._find(text).descriptor

    def _find(self, text: str, menu: NativeMenu | None = None) -> NativeItem:
        stack = list((menu or self._menu_handle).items)
        while stack:
            item = stack.pop(0)
            if item.label.startswith(text):
                return item
            if item.submenu is not None:
                stack.extend(item.submenu.items)
        raise KeyError(text)

    def click(self, text: str, *, inside: str | None = None) -> None:
        """Invokes an item, optionally the one in the submenu ``inside``."""
        if inside is not None:
            submenu = self._find(inside).submenu
            assert submenu is not None, f"{inside!r} has no submenu"
            item = self._find(text, submenu).descriptor
        else:
            item = self.find(text)
        assert item.enabled, f"{text!r} is disabled"
        item.action(self, item)
