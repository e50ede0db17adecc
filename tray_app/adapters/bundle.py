"""Running from the PyInstaller build (``build.spec``) as well as from a checkout.

What differs in the frozen app: files come from the bundle folder, a windowed
Windows build has no console (``sys.stdout`` is None), and on Linux the bootloader
points ``LD_LIBRARY_PATH`` at the bundled libraries, which system programs started
from the app (``xdg-open``, the browser) must not inherit. The Linux build carries GTK
but not WebKitGTK (about 120 MB): the sign-in window loads the system's, so the
system's GObject typelib folders are searched after the bundle's.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import webbrowser
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import TextIO

from tray_app.storage.privacy import restrict_new_files, users_umask

LIBRARY_PATH = "LD_LIBRARY_PATH"
SAVED_SUFFIX = "_ORIG"  # where PyInstaller's bootloader keeps the user's own value
RESET_ENVIRONMENT = "PYINSTALLER_RESET_ENVIRONMENT"
TYPELIB_PATH = "GI_TYPELIB_PATH"
SYSTEM_TYPELIB_DIRS = (
    # Debian, Ubuntu (multiarch; the bundled libgirepository, built on Debian, also
    # looks here by itself), then Fedora/openSUSE, then Arch and most others
    "/usr/lib/x86_64-linux-gnu/girepository-1.0",
    "/usr/lib/aarch64-linux-gnu/girepository-1.0",
    "/usr/lib64/girepository-1.0",
    "/usr/lib/girepository-1.0",
    "/usr/local/lib/girepository-1.0",
)


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path:
    """The folder with ``assets/``: the bundle's in the frozen app, else the checkout's,
    else the one a wheel installed (``pipx install``: pyproject.toml's data-files put
    it in ``<venv>/share/hh-raiser``)."""
    bundled = getattr(sys, "_MEIPASS", None)
    if bundled:
        return Path(bundled)
    checkout = Path(__file__).resolve().parents[2]
    installed = Path(sys.prefix) / "share" / "hh-raiser"
    return installed if not (checkout / "assets").is_dir() and installed.is_dir() else checkout


def asset_path(name: str) -> Path:
    return bundle_dir() / "assets" / name


def restore_library_path(environ: MutableMapping[str, str], *, frozen: bool) -> None:
    """Gives child processes the user's ``LD_LIBRARY_PATH`` back, and makes our own
    children start as the bundle anew.

    This process already loaded what it needs (the dynamic loader reads the variable
    once, at start); a browser or ``xdg-open`` would otherwise load our bundled GTK
    and fail. Our own children (the settings and sign-in windows) are the frozen app
    again, but PyInstaller's bootloader takes a child that inherits its ``_PYI_*``
    variables for part of the same run and skips its setup: without the bundle's
    library path it loaded the system's Tcl/Tk and GTK, and on a system without Tk
    the settings window could not open. ``PYINSTALLER_RESET_ENVIRONMENT`` (PyInstaller
    6.9+) makes it start as a fresh instance; other programs ignore it."""
    if not frozen:
        return
    environ[RESET_ENVIRONMENT] = "1"
    for name in (LIBRARY_PATH, "DYLD_LIBRARY_PATH"):
        saved = environ.pop(name + SAVED_SUFFIX, None)
        if saved is not None:
            environ[name] = saved
        else:
            environ.pop(name, None)


def add_system_typelibs(
    environ: MutableMapping[str, str],
    *,
    frozen: bool,
    platform: str | None = None,
    candidates: Sequence[str] = SYSTEM_TYPELIB_DIRS,
) -> None:
    """Lets the frozen Linux app find the system's WebKit2 4.1 typelib (and those of
    JavaScriptCore and Soup it requires), which the bundle does not carry.

    PyInstaller's runtime hook points ``GI_TYPELIB_PATH`` at the bundled typelibs
    only; the system's folders go after them, so GTK and GLib keep the typelibs that
    match the bundled libraries. libgirepository reads the variable once, on the
    first ``import gi``, which comes later than this (the window process, the tray)."""
    if not frozen or not (platform or sys.platform).startswith("linux"):
        return
    folders = [part for part in environ.get(TYPELIB_PATH, "").split(os.pathsep) if part]
    for folder in candidates:
        if folder not in folders and os.path.isdir(folder):
            folders.append(folder)
    if folders:
        environ[TYPELIB_PATH] = os.pathsep.join(folders)


def attach_windows_console() -> None:
    """A windowed Windows build has no console: when started from one (``hh-raiser
    self-check`` in cmd.exe), write to it; when started from the Start menu, stay
    silent (every writer here accepts ``None`` streams)."""
    current = sys.platform  # not narrowed by mypy: this module is checked on Linux too
    if current != "win32" or sys.stdout is not None:
        return
    import ctypes

    attach_parent_process = -1
    if not ctypes.windll.kernel32.AttachConsole(attach_parent_process):  # type: ignore[attr-defined,unused-ignore]
        return
    with contextlib.suppress(OSError):
        sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stderr = open("CONOUT$", "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stdin = open("CONIN$", encoding="utf-8", errors="replace")  # noqa: SIM115


def prepare_process() -> None:
    """Called first by the command line entry point, in every process of the app
    (the tray and ``run``, commands, the settings and sign-in windows)."""
    restrict_new_files()
    attach_windows_console()
    restore_library_path(os.environ, frozen=is_frozen())
    add_system_typelibs(os.environ, frozen=is_frozen())


def tell_stacks_on_sigusr2(stream: TextIO | None) -> bool:
    """``kill -USR2 <pid>`` then prints every thread's stack to ``stream`` and the
    process goes on: a window that does not end can say where it is stuck (the tests
    ask it when one outlives their limit). SIGUSR2, as WebKit's JavaScriptCore takes
    SIGUSR1 for its garbage collector. Not on Windows (no SIGUSR2), nor without a real
    stream (a windowed build, a test's StringIO)."""
    if stream is None or not hasattr(signal, "SIGUSR2"):
        return False
    try:
        faulthandler.register(signal.SIGUSR2, file=stream, all_threads=True)
    except (OSError, ValueError, AttributeError):  # no file descriptor behind it
        return False
    return True


def open_in_browser(url: str) -> bool:
    """``webbrowser.open`` with the user's umask: a browser it starts is the user's,
    not ours, and must not make the user's downloads private."""
    with users_umask():
        return webbrowser.open(url)
