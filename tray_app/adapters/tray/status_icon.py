"""pystray's GtkStatusIcon backend, for a tray that speaks only XEmbed (trayer, tint2,
i3bar, stalonetray: no StatusNotifierWatcher on the session bus).

AppIndicator would fall back to a GtkStatusIcon there by itself, but its fallback
(libayatana-appindicator's ``fallback()``) names the icon with
``gtk_status_icon_set_name()`` right after creating it. A new GtkStatusIcon is shown,
so realized, at once; to set the window's class GTK hides, unrealizes and shows it
again, and GDK logs ``Gdk-CRITICAL: gdk_window_thaw_toplevel_updates: assertion
'window->update_and_descendants_freeze_count > 0' failed`` on every start (a bare
GtkStatusIcon under trayer logs it with ``set_name()`` and never without). pystray's
own GtkStatusIcon backend never renames it. Chosen by
:func:`tray_app.adapters.tray.app.load_pystray`; the module stands in for ``pystray``
(``Icon``, ``Menu``, ``MenuItem``).
"""

from __future__ import annotations

from typing import Any

from gi.repository import Gtk
from pystray import Menu, MenuItem
from pystray._gtk import Icon as _GtkStatusIcon

__all__ = ["Icon", "Menu", "MenuItem"]


class Icon(_GtkStatusIcon):  # type: ignore[misc]  # pystray has no type hints
    """A left click opens the menu too, as AppIndicator's icon does on these trays
    (pystray's backend runs the menu's default item, and this menu has none)."""

    def _on_status_icon_activate(self, status_icon: Any) -> None:
        self._on_status_icon_popup_menu(status_icon, 1, Gtk.get_current_event_time())
