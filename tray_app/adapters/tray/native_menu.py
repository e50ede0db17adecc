"""The menu the backend shows, relabeled in place, so an open menu follows a raise.

pystray turns every new menu (``Icon.menu = …``) into a new native one; a menu that
is open at that moment stays on screen as it was built: GTK keeps showing the GtkMenu
it popped up (both of pystray's GTK backends: AppIndicator's and the GtkStatusIcon).
So when only texts changed (the times of a raise, the status line), the open menu's
items are relabeled where they are; GTK redraws them at once, and AppIndicator's
D-Bus menu (libdbusmenu-gtk follows its GtkMenuItems' labels) passes the new texts on
to the panel. Anything else (an item more or fewer, a check mark, an action) rebuilds.

pystray has no API for this: its GTK backends keep the GtkMenu in ``_menu_handle``
(pystray 0.19). Where there is none (win32, macOS) the menu is rebuilt as before; a
menu open there shows the new texts the next time it opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tray_app.adapters.tray.menu import SEPARATOR, Item

Shape = tuple[tuple[str | None, bool | None, bool, tuple[Any, ...]], ...]


class NativeItem(Protocol):
    """What this module needs of a ``Gtk.MenuItem``."""

    def get_label(self) -> str | None: ...
    def set_label(self, label: str) -> None: ...
    def get_submenu(self) -> NativeMenu | None: ...


class NativeMenu(Protocol):
    """What this module needs of a ``Gtk.Menu``."""

    def get_children(self) -> Sequence[NativeItem]: ...


def shape(items: Sequence[Item]) -> Shape:
    """A menu less its texts: two menus of one shape differ in texts alone."""
    return tuple((item.action, item.checked, item.enabled, shape(item.submenu)) for item in items)


def native_menu(icon: Any) -> NativeMenu | None:
    """The backend's menu as it is on screen, where pystray's backend keeps one."""
    handle = getattr(icon, "_menu_handle", None)
    return handle if hasattr(handle, "get_children") else None


def relabel(menu: NativeMenu, items: Sequence[Item]) -> bool:
    """Sets each item's text; False (the menu left partly relabeled, to be rebuilt)
    where the native menu does not match ``items`` item for item."""
    children = menu.get_children()
    if len(children) != len(items):
        return False
    for child, item in zip(children, items, strict=True):
        if item == SEPARATOR:
            continue
        if child.get_label() != item.text:
            child.set_label(item.text)
        if item.submenu:
            submenu = child.get_submenu()
            if submenu is None or not relabel(submenu, item.submenu):
                return False
    return True


def ui_dispatcher(icon: Any) -> Callable[[Callable[[], None]], None]:
    """Where calls on the native menu must run: GTK's main loop for pystray's GTK
    backends (pystray marshals its own calls there the same way, in order), else
    right away."""
    if not any(cls.__module__ == "pystray._util.gtk" for cls in type(icon).__mro__):
        return lambda action: action()
    from gi.repository import GLib

    def on_main_loop(action: Callable[[], None]) -> None:
        def once() -> bool:
            action()
            return False  # do not run again

        GLib.idle_add(once)

    return on_main_loop
