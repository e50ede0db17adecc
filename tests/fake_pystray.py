"""A stand-in for the pystray module: the same surface TrayApp uses, recording
what it is asked to show, so the menu can be built and every item invoked anywhere."""

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


class Icon:
    HAS_MENU = True
    HAS_NOTIFICATION = True

    def __init__(self, name: str, icon: Any, title: str, menu: Menu) -> None:
        self.name, self.icon, self.title, self.menu = name, icon, title, menu
        self.visible = False
        self.notifications: list[str] = []
        self._stopped = threading.Event()

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
        """The item whose text starts with ``text`` (submenus searched too)."""
        stack = list(self.menu.items)
        while stack:
            item = stack.pop(0)
            if item.text.startswith(text):
                return item
            if item.submenu is not None:
                stack.extend(item.submenu.items)
        raise KeyError(text)

    def click(self, text: str, *, inside: str | None = None) -> None:
        """Invokes an item, optionally the one in the submenu ``inside``."""
        if inside is not None:
            submenu = self.find(inside).submenu
            assert submenu is not None, f"{inside!r} has no submenu"
            item = next(i for i in submenu.items if i.text.startswith(text))
        else:
            item = self.find(text)
        assert item.enabled, f"{text!r} is disabled"
        item.action(self, item)
