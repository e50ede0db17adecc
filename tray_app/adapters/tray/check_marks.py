"""GTK menus' check and radio marks from the theme's PNG twins when no SVG loader is
at hand.

Adwaita (GTK 3's built-in theme) draws them with ``image(svg, png)``: it tries
``check-symbolic.svg`` first, and without gdk-pixbuf's SVG loader GTK warns "Could not
load a pixbuf from .../check-symbolic.svg" every time a menu shows one, then uses the
PNG. The Linux bundle leaves the SVG loader out (build.spec): it alone brought librsvg,
libxml2 and ICU, about 40 MB of the bundle. So where the loader is missing, the marks
point at the PNGs GTK carries in its own resources, before GTK tries the SVGs."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

ASSETS = "resource:///org/gtk/libgtk/theme/Adwaita/assets"
CSS = "\n".join(
    f'{selector} {{ -gtk-icon-source: -gtk-recolor(url("{ASSETS}/{image}.symbolic.png")); }}'
    for selector, image in (
        ("check:checked", "check-symbolic"),
        ("check:indeterminate", "dash-symbolic"),
        ("radio:checked", "bullet-symbolic"),
        ("radio:indeterminate", "dash-symbolic"),
    )
)


def has_svg_loader() -> bool:
    from gi.repository import GdkPixbuf

    return any(fmt.get_name() == "svg" for fmt in GdkPixbuf.Pixbuf.get_formats())


def use_png_marks_without_svg_loader() -> bool:
    """Installs the PNG marks for this process's screen where no SVG loader is; whether
    it did. Called once GTK is initialised (after pystray's import)."""
    try:
        if has_svg_loader():
            return False
        from gi.repository import Gdk, Gtk

        screen = Gdk.Screen.get_default()
        if screen is None:
            return False
        provider = Gtk.CssProvider()
        provider.load_from_data(CSS.encode())
        Gtk.StyleContext.add_provider_for_screen(
            screen, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION
        )
    except Exception:  # a cosmetic fallback must never stop the tray
        log.warning("PNG check marks could not be set up", exc_info=True)
        return False
    log.info("no SVG loader: the menus' check marks come from GTK's PNGs")
    return True
