"""The menus' check marks where gdk-pixbuf has no SVG loader (the Linux bundle leaves
it out, build.spec says why): GTK draws them from its PNG twins, without the warning
GTK prints for every SVG it cannot load. A GTK menu with a checked item is shown on
the virtual desktop with an empty loader list, with and without the fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .desktop import desktop  # noqa: F401

pytestmark = pytest.mark.integration

SHOW_A_CHECKED_ITEM = """
import sys
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk
from tray_app.adapters.tray.check_marks import has_svg_loader, use_png_marks_without_svg_loader
print("svg loader:", has_svg_loader())
if sys.argv[1] == "fallback":
    print("fallback:", use_png_marks_without_svg_loader())
window = Gtk.Window()
box = Gtk.Box()
item = Gtk.CheckButton(label="Python developer")
item.set_active(True)
box.add(item)
window.add(box)
window.show_all()
GLib.timeout_add(1500, Gtk.main_quit)
Gtk.main()
"""


def show(env: dict[str, str], mode: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    no_loaders = tmp_path / "loaders.cache"
    no_loaders.write_text("")
    return subprocess.run(
        [sys.executable, "-c", SHOW_A_CHECKED_ITEM, mode],
        env={**env, "GDK_PIXBUF_MODULE_FILE": str(no_loaders)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_an_svg_loader_the_marks_come_from_pngs_without_a_warning(
    desktop: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    plain = show(desktop, "plain", tmp_path)
    assert "svg loader: False" in plain.stdout
    assert "Could not load a pixbuf" in plain.stderr  # what the fallback prevents
    fallback = show(desktop, "fallback", tmp_path)
    assert "fallback: True" in fallback.stdout
    assert fallback.returncode == 0
    assert "Could not load a pixbuf" not in fallback.stderr, fallback.stderr


def test_with_an_svg_loader_the_theme_is_left_alone(desktop: dict[str, str]) -> None:  # noqa: F811
    """The system's loaders (GTK installs the SVG one): nothing is changed."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gi.repository import Gtk; from tray_app.adapters.tray.check_marks import *; "
            "print(has_svg_loader(), use_png_marks_without_svg_loader())",
        ],
        env=desktop,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.stdout.split()[:1] == ["False"]:
        pytest.skip("this system has no SVG loader for gdk-pixbuf (librsvg2-common)")
    assert result.stdout.split() == ["True", "False"], result.stderr
