"""The tray as a user sees it: the real pystray backend on a virtual screen with a
system tray, driven by xdotool, against the hh.ru and Telegram simulators."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, PngImagePlugin

from tray_app.adapters.tray.app import xembed_tray, xembed_tray_only
from tray_app.simulator.hh import HHSimulator, SimConfig, demo_resumes
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.paths import app_paths

from .conftest import CHAT, built_executable, wait_until, write_settings
from .desktop import desktop, screenshot, wait_for_window, window_gone, xdotool  # noqa: F401
from .test_cli_integration import hh, import_tokens, secret_service  # noqa: F401

pytestmark = pytest.mark.integration

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
RESUMES = 4  # the simulator's default list: two raisable, one unpublished, one blocked
MENU = {  # keyboard steps from the top of the menu (the status line is not selectable)
    "first_resume": 1,
    "raise_all": RESUMES + 1,
    "settings": RESUMES + 5,
}
DOCS = Path(__file__).parent.parent / "docs"
SCREENSHOTS = {"ru": DOCS / "tray-menu.png", "en": DOCS / "tray-menu-en.png"}  # the README's
UPDATE_DOCS_ENV = "HH_RAISER_UPDATE_DOCS"  # =1: the demo's menu is saved as the README's
SOURCE = "hh-raiser demo"
TIME = re.compile(r"\b(\d\d\.\d\d )?\d\d:\d\d(:\d\d)?\b")
GLIB_LOG = re.compile(r"^\(.+:\d+\): [\w.-]+-(?:CRITICAL|WARNING) \*\*.*$", re.MULTILINE)
"""A line GLib's logger prints, e.g. ``(hh-raiser:42): Gdk-CRITICAL **: 06:08:03.383: …``."""


@pytest.fixture
def app_env(desktop: dict[str, str], tg_environ: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return {**desktop, **tg_environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(params=["pip", "built"])
def app_command(request: pytest.FixtureRequest) -> list[str]:
    """The app as installed with pip, and as built by ``scripts/build``."""
    if request.param == "built":
        return [str(built_executable())]
    return [sys.executable, "-m", "tray_app"]


@pytest.fixture
def tray(
    app_env: dict[str, str],
    app_command: list[str],
    sim: HHSimulator,
    tg: TelegramSimulator,
    tmp_path: Path,
) -> Iterator[subprocess.Popen[str]]:
    import_tokens(app_env, sim, tmp_path, telegram_token=tg.token, chat_id=CHAT)
    for key, value in (("enabled_resumes", ""), ("margin_seconds", "600")):
        assert hh(app_env, "config", "set", key, value).returncode == 0
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)
    process = subprocess.Popen(
        [*app_command, "-v", "run"],
        env=app_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def icon(env: dict[str, str], state: str = "Всё в порядке") -> str:
    """The icon's window in the tray; its name is the tooltip."""
    return wait_for_window(env, "--name", f"^HH Raiser — {state}")


def open_menu(
    env: dict[str, str], state: str = "Всё в порядке"
) -> tuple[str, tuple[int, int, int, int]]:
    """Right-clicks the icon until its menu is on screen; the menu's window and its
    box (left, top, right, bottom)."""
    for _attempt in range(3):
        xdotool(env, "mousemove", "--window", icon(env, state), "16", "15", "click", "3")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            menu = open_menu_window(env)
            if menu is not None:
                time.sleep(0.2)
                return menu
            time.sleep(0.1)
        xdotool(env, "key", "Escape")
    raise AssertionError("the tray menu did not open")


def open_menu_window(env: dict[str, str]) -> tuple[str, tuple[int, int, int, int]] | None:
    """The app's visible window taller than the icon: its open menu."""
    for window in xdotool(env, "search", "--onlyvisible", "--classname", "^hh-raiser$").split():
        geometry = xdotool(env, "getwindowgeometry", "--shell", window)
        values = {k: int(v) for k, v in (line.split("=") for line in geometry.splitlines()) if k}
        if values.get("HEIGHT", 0) > 40:
            x, y = values["X"], values["Y"]
            return window, (x, y, x + values["WIDTH"], y + values["HEIGHT"])
    return None


def choose(env: dict[str, str], item: str) -> None:
    open_menu(env)
    xdotool(env, "key", *["Down"] * MENU[item], "Return")


def assert_menu_on_screen(shot: Path) -> None:
    menu_area = Image.open(shot).convert("L").crop((600, 30, 1024, 420))
    assert sum(menu_area.histogram()[201:]) > 20_000, "no open menu on screen"


def resume_lines(menu: list[str]) -> list[str]:
    """The items between the menu's first two separators (none before it is built)."""
    if menu.count("-") < 2:
        return []
    first = menu.index("-")
    return menu[first + 1 : menu.index("-", first + 1)]


def resume_titles(menu: list[str]) -> list[str]:
    return [line.split(" — ", 1)[0] for line in resume_lines(menu)]


def without_times(menu: list[str]) -> list[str]:
    return [TIME.sub("HH:MM", line) for line in menu]


def save_screenshot(
    shot: Path, box: tuple[int, int, int, int], menu: list[str], path: Path
) -> None:
    """The screen's corner with the open menu (``box``) and the icon, with the texts it
    shows (and where they come from) inside the PNG, so a test can tell the README
    shows what the demo shows."""
    image = Image.open(shot).convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Source", SOURCE)
    info.add_itxt("Menu", "\n".join(menu))
    width, height = image.size
    corner = (max(box[0] - 8, 0), 0, width, min(box[3] + 8, height))
    image.crop(corner).save(path, pnginfo=info)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_readme_screenshot_is_the_demos_menu(
    desktop: dict[str, str],  # noqa: F811
    tmp_path: Path,
    language: str,
) -> None:
    """``hh-raiser demo`` in the tray, once each of its resumes was raised: the open
    menu is the README's screenshot. ``HH_RAISER_UPDATE_DOCS=1`` saves it there;
    otherwise the screenshot there must show these resumes and these texts."""
    home = tmp_path / "home"
    write_settings(home, language=language)
    env = {**desktop, "HH_RAISER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    titles = [resume.title for resume in demo_resumes(datetime.now(UTC), SimConfig())]
    raised = {"ru": "(поднято)", "en": "(raised)"}[language]
    demo = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "-v", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        icon(env, state="")

        def menu() -> list[str]:
            lines = menu_lines(env)
            return lines[-1].split(" | ") if lines else []

        def all_raised() -> bool:
            shown = menu()
            lines = resume_lines(shown)
            return resume_titles(shown) == titles and all(raised in line for line in lines)

        wait_until(all_raised, 40)  # the third window opens 9 s after the start
        _window, box = open_menu(env, state="")
        shot = screenshot(env, tmp_path / "menu.png")
        shown = menu()
        xdotool(env, "key", "Escape")
        assert_menu_on_screen(shot)
        path = SCREENSHOTS[language]
        if os.environ.get(UPDATE_DOCS_ENV):
            save_screenshot(shot, box, shown, path)
        saved = Image.open(path)
        assert isinstance(saved, PngImagePlugin.PngImageFile)
        assert saved.text.get("Source") == SOURCE, f"{path.name}: not from the demo"
        in_readme = saved.text["Menu"].split("\n")
        assert resume_titles(in_readme) == titles
        assert without_times(in_readme) == without_times(shown), (
            f"the demo's menu changed: HH_RAISER_UPDATE_DOCS=1 makes {path.name} anew"
        )
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            assert demo.wait(timeout=30) == 0, demo.stderr.read() if demo.stderr else ""
        finally:
            if demo.poll() is None:
                demo.kill()


def status(env: dict[str, str]) -> dict[str, object]:
    return dict(json.loads(hh(env, "status", "--json").stdout))


def resume(env: dict[str, str], resume_id: str) -> dict[str, object]:
    resumes = status(env)["resumes"]
    assert isinstance(resumes, list)
    return next(r for r in resumes if r["id"] == resume_id)


def menu_lines(env: dict[str, str]) -> list[str]:
    log = app_paths(env).log_file.read_text(encoding="utf-8")
    return [line.split("tray menu: ", 1)[1] for line in log.splitlines() if "tray menu: " in line]


def test_tray_menu_raises_switches_opens_settings_and_quits(
    app_env: dict[str, str], tray: subprocess.Popen[str], sim: HHSimulator, tmp_path: Path
) -> None:
    env = app_env
    title = sim.resumes[A].title
    icon(env)  # visible, and the menu built from the first status
    # the open menu, as the README shows it
    open_menu(env)
    shot = screenshot(env, tmp_path / "menu.png")
    xdotool(env, "key", "Escape")
    assert_menu_on_screen(shot)
    # "Поднять сейчас": the simulator gets the publish, the resume's line changes
    sim.open_window(A)
    choose(env, "raise_all")
    wait_until(lambda: [p.resume_id for p in sim.publishes] == [A], 20)
    wait_until(lambda: resume(env, A)["last_outcome"] == "raised", 20)
    wait_until(lambda: any(f"{title} — " in m and "(поднято)" in m for m in menu_lines(env)), 10)
    # switch it off: it is skipped
    choose(env, "first_resume")
    wait_until(lambda: resume(env, A)["enabled"] is False, 20)
    sim.open_window(A)
    choose(env, "raise_all")
    time.sleep(2)
    assert [p.resume_id for p in sim.publishes] == [A]
    assert f"{title} — выключено" in menu_lines(env)[-1]
    # the settings window opens, and closes with Escape
    choose(env, "settings")
    window = wait_for_window(env, "--classname", "^hh-raiser-settings$")
    assert_a_built_window_uses_the_bundles_tk(tray)
    xdotool(env, "windowfocus", "--sync", window)
    xdotool(env, "key", "--window", window, "Escape")
    assert window_gone(env, window), "the settings window did not close"
    # quit from the menu: exit code 0
    open_menu(env)
    xdotool(env, "key", "Up", "Return")
    assert tray.wait(timeout=30) == 0, tray.stderr.read() if tray.stderr else ""


def assert_a_built_window_uses_the_bundles_tk(tray: subprocess.Popen[str]) -> None:
    """The built app's settings window (a child that is the frozen app again) maps the
    bundle's Tcl/Tk, not the system's: a system without Tk must still show it."""
    executable = Path(f"/proc/{tray.pid}/exe").resolve()
    if executable.name != "hh-raiser":
        return  # the pip-installed app is Python itself: the system's Tk is its own
    children = Path(f"/proc/{tray.pid}/task/{tray.pid}/children").read_text().split()
    (pid,) = [c for c in children if b"settings" in Path(f"/proc/{c}/cmdline").read_bytes()]
    maps = Path(f"/proc/{pid}/maps").read_text()
    tk = {line.split()[-1] for line in maps.splitlines() if "libtk8.6.so" in line}
    assert tk == {str(executable.parent / "_internal" / "libtk8.6.so")}


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_tray_cleanly(
    app_env: dict[str, str], tray: subprocess.Popen[str], number: int
) -> None:
    """A session ending, systemd or Ctrl+C must not need the menu: exit code 0."""
    icon(app_env)
    tray.send_signal(number)
    assert tray.wait(timeout=30) == 0
    assert "остановлен" in (tray.stdout.read() if tray.stdout else "")


def test_the_tray_starts_and_stops_without_a_gtk_warning(
    app_env: dict[str, str], tray: subprocess.Popen[str]
) -> None:
    """AppIndicator's own fallback to the XEmbed tray renamed its docked icon, and GDK
    logged a Gdk-CRITICAL on every start (tray/status_icon.py says why): a warning
    that is always there hides the one that matters."""
    icon(app_env)
    open_menu(app_env)
    xdotool(app_env, "key", "Escape")
    tray.send_signal(signal.SIGTERM)
    assert tray.wait(timeout=30) == 0
    stderr = tray.stderr.read() if tray.stderr else ""
    assert GLIB_LOG.findall(stderr) == []


def test_a_menu_open_during_a_raise_shows_it(
    app_env: dict[str, str], tray: subprocess.Popen[str], sim: HHSimulator, tmp_path: Path
) -> None:
    """The menu stays open while a raise happens (here asked for from the command
    line, as a scheduled one would run): its lines change on screen, in place."""
    env = app_env
    title = sim.resumes[A].title
    icon(env)
    window, box = open_menu(env)
    before = Image.open(screenshot(env, tmp_path / "before.png")).convert("L").crop(box)
    sim.open_window(A)
    assert hh(env, "raise-now", "--resume", A).returncode == 0
    wait_until(lambda: any(f"{title} — " in m and "(поднято)" in m for m in menu_lines(env)), 10)
    time.sleep(1)  # GTK redraws on its next frame
    assert open_menu_window(env) == (window, box), "the menu closed or moved"
    after = Image.open(screenshot(env, tmp_path / "after.png")).convert("L").crop(box)
    xdotool(env, "key", "Escape")
    changed = ImageChops.difference(before, after).getbbox()
    assert changed is not None, "the open menu still shows the times before the raise"


def test_the_virtual_desktop_tray_speaks_only_xembed(desktop: dict[str, str]) -> None:  # noqa: F811
    """What picks the GtkStatusIcon backend over AppIndicator's fallback: an XEmbed
    tray on the screen (trayer) and no StatusNotifierWatcher on the session bus."""
    assert xembed_tray_only(desktop["DISPLAY"])
    assert not xembed_tray(None) and not xembed_tray(":9999")
