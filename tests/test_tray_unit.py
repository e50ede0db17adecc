"""The tray menu built with a fake icon against a real service and the simulator:
every item is invoked and does what it says."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tray_app.adapters.control import ControlClient
from tray_app.adapters.service import Service
from tray_app.adapters.tray import app as tray_app_module
from tray_app.adapters.tray.app import TrayApp
from tray_app.adapters.tray.icons import IconState, draw_icon, icon_state
from tray_app.adapters.tray.menu import SEPARATOR, Item, build_menu, tooltip
from tray_app.adapters.tray.native_menu import relabel, shape
from tray_app.adapters.tray.packages import install_command, this_installation
from tray_app.core.events import ChannelState, RaiseStarted
from tray_app.core.models import AuthState, Outcome, TransportKind
from tray_app.core.views import ResumeStatus, Status, TelegramChannel
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.settings import SettingsStore

from . import fake_pystray
from .conftest import make_runtime, wait_until

A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"


class FakeAutostart:
    def __init__(self) -> None:
        self.enabled = False

    def is_enabled(self) -> bool:
        return self.enabled

    def enable(self) -> None:
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False


class FakeChild:
    """A started window process: runs until :meth:`close`; ``waited`` once reaped."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self.waited = False

    def poll(self) -> int | None:
        return 0 if self._closed.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        self._closed.wait(timeout)
        self.waited = self._closed.is_set()
        return 0

    def close(self) -> None:
        self._closed.set()


class Started:
    def __init__(self) -> None:
        self.settings = 0
        self.tabs: list[str] = []
        self.opened: list[Path] = []
        self.sign_in_windows: list[FakeChild] = []

    def settings_window(self, tab: str) -> None:
        self.settings += 1
        self.tabs.append(tab)

    def sign_in_window(self) -> FakeChild:
        child = FakeChild()
        self.sign_in_windows.append(child)
        return child


@pytest.fixture
def tray(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> Iterator[tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart]]:
    for resume_id in list(sim.resumes):
        sim.open_window(resume_id, in_seconds=3600)
    runtime = make_runtime(environ, keyring_backend, sim, margin_seconds=600)
    service = Service(runtime)
    started, autostart = Started(), FakeAutostart()
    app = TrayApp(
        service,
        fake_pystray,
        autostart=autostart,
        open_file=started.opened.append,
        start_settings=started.settings_window,
        start_sign_in=started.sign_in_window,
        notifications=True,
    )
    runner = threading.Thread(target=app.run)
    runner.start()
    icon = app.icon
    assert isinstance(icon, fake_pystray.Icon)
    wait_until(lambda: icon.texts()[0].startswith("Всё в порядке"), 10)
    yield app, icon, started, autostart
    app.quit()
    runner.join(30)


def refreshed(icon: fake_pystray.Icon, text: str) -> None:
    wait_until(lambda: any(text in line for line in icon.texts()), 10)


def test_every_item_does_what_it_says(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart], sim: HHSimulator
) -> None:
    app, icon, started, autostart = tray
    title = sim.resumes[A].title
    assert icon.visible and icon.title.startswith("HH Raiser — Всё в порядке")
    # raise all: the publish, and the resume's line shows it
    sim.open_window(A)
    icon.click("Поднять сейчас")
    wait_until(lambda: [p.resume_id for p in sim.publishes] == [A], 10)
    refreshed(icon, "(поднято)")
    # raise one that is not due: told, not published
    icon.click(sim.resumes[B].title, inside="Поднять одно")
    wait_until(lambda: any("ещё рано" in n for n in icon.notifications), 10)
    assert len(sim.publishes) == 1
    # the resume line's check mark switches it off and on
    line = icon.find(title)
    assert line.checked is not None and line.checked(line)
    icon.click(title)
    refreshed(icon, f"{title} — выключено")
    assert not app.runtime.settings().is_enabled(A)
    assert not icon.find(title).checked(icon.find(title))  # type: ignore[misc]
    icon.click(title)
    wait_until(lambda: app.runtime.settings().is_enabled(A), 10)
    # pause and resume: the line, the icon and the setting
    icon.click("Пауза")
    refreshed(icon, "Продолжить")
    assert app.runtime.settings().paused
    icon.click("Продолжить")
    refreshed(icon, "Пауза")
    # start at login toggles the writer
    icon.click("Запускать при входе")
    wait_until(lambda: autostart.enabled, 5)
    wait_until(lambda: bool(icon.find("Запускать").checked(icon.find("Запускать"))), 5)  # type: ignore[misc]
    icon.click("Запускать при входе")
    wait_until(lambda: not autostart.enabled, 5)
    # settings, log, about
    icon.click("Настройки")
    wait_until(lambda: started.settings == 1, 5)
    icon.click("Журнал")
    wait_until(lambda: started.opened == [app.runtime.paths.log_file], 5)
    icon.click("О программе")
    wait_until(lambda: started.tabs == ["hh", "about"], 5)
    # signed in: no sign-in window offered
    assert not any(line.startswith("Войти на hh.ru") for line in icon.texts())
    # quit
    icon.click("Выход")
    assert icon.stopped


def test_quit_through_the_control_channel_ends_the_tray_as_its_menu_does(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart],
) -> None:
    """``hh-raiser quit`` (the uninstaller) reaches a tray instance too: its icon's
    loop ends, the service stops and its control channel is gone."""
    app, icon, _started, _autostart = tray
    control_file = app.runtime.paths.control_file
    ControlClient(control_file).quit()
    wait_until(lambda: icon.stopped and not control_file.exists(), 10)


def test_desktop_notifications_follow_the_level(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart], sim: HHSimulator
) -> None:
    app, icon, _, _ = tray
    sim.open_window(A)
    icon.click("Поднять сейчас")
    wait_until(lambda: any("поднято" in n for n in icon.notifications), 10)
    SettingsStore(app.runtime.paths.settings_file).update(notify_level="important")
    app.service.reload_settings()
    raised = [n for n in icon.notifications if "поднято" in n]
    sim.open_window(A)
    icon.click("Поднять сейчас")
    wait_until(lambda: len(sim.publishes) == 2, 10)
    time.sleep(0.3)
    assert [n for n in icon.notifications if "поднято" in n] == raised  # routine: not told


def test_a_menu_open_during_a_raise_shows_it(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart], sim: HHSimulator
) -> None:
    """A raise on schedule while the menu is open: the open menu's lines change where
    they are (a new native menu would not be the one on screen); a new item or check
    mark still builds a new menu."""
    app, icon, _, _ = tray
    title = sim.resumes[A].title
    opened = icon.open_menu()
    builds = icon.menu_builds
    line = next(i for i in opened.items if i.label.startswith(title))
    assert "(поднято)" not in line.label
    sim.open_window(A)
    app.service.raise_now(A)  # as the scheduler does: not from the menu, which stays open
    wait_until(lambda: "(поднято)" in line.label, 10)
    assert line.label.startswith(f"{title} — ") and icon.menu_builds == builds
    assert opened is icon.open_menu()
    # switching a resume off changes its check mark: a new menu
    app._act(f"toggle:{A}")
    wait_until(lambda: icon.menu_builds == builds + 1, 10)
    assert any(t == f"{title} — выключено" for t in icon.texts())


def test_the_icon_shows_raising_while_a_raise_is_confirmed(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart],
) -> None:
    app = tray[0]
    app.runtime.bus.publish(RaiseStarted(A))
    wait_until(lambda: app._shown is not None and app._shown[1] is IconState.RAISING, 5)


RESUME = ResumeStatus(
    id=A,
    title="Python",
    enabled=True,
    last_raise_at=datetime(2026, 11, 27, 9, tzinfo=UTC),
    last_outcome=Outcome.RAISED,
    next_raise_at=datetime(2026, 11, 27, 13, tzinfo=UTC),
    next_publish_at=None,
    note=None,
)
TELEGRAM_OK = TelegramChannel(ChannelState.OK, None, None, None, 0, None)
STATUS = Status(
    auth_state=AuthState.OK,
    auth_detail=None,
    captcha_url=None,
    paused=False,
    resumes=(RESUME,),
    transport=TransportKind.API,
    web_host="hh.ru",
    telegram=TELEGRAM_OK,
    commands=None,
)


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({}, IconState.OK),
        ({"paused": True}, IconState.PAUSED),
        ({"auth_state": AuthState.SIGN_IN_NEEDED}, IconState.ATTENTION),
        ({"auth_state": AuthState.CAPTCHA_NEEDED}, IconState.ATTENTION),
        (
            {"telegram": replace(TELEGRAM_OK, state=ChannelState.MISCONFIGURED)},
            IconState.ATTENTION,
        ),
        ({"resumes": (replace(RESUME, last_outcome=Outcome.FAILED),)}, IconState.ERROR),
    ],
)
def test_icon_state(change: dict[str, Any], state: IconState) -> None:
    assert icon_state(replace(STATUS, **change), raising=False) is state


def test_menu_and_tooltip_in_english() -> None:
    items = build_menu(STATUS, autostart=None, language="en")
    texts = [i.text for i in items]
    assert texts[0].startswith("All good. Next raise:")
    assert "Raise now" in texts and "Quit" in texts
    assert next(i for i in items if i.action == "autostart").enabled is False
    assert tooltip(STATUS, "en").startswith("HH Raiser — All good")


@pytest.mark.parametrize("state", list(AuthState))
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_sign_in_window_is_offered_exactly_when_the_session_is_missing_or_ended(
    state: AuthState, language: str
) -> None:
    items = build_menu(replace(STATUS, auth_state=state), autostart=None, language=language)
    offered = [i for i in items if i.action == "sign_in_window"]
    wanted = state in (
        AuthState.NOT_CONFIGURED,
        AuthState.SESSION_EXPIRED,
        AuthState.SIGN_IN_NEEDED,
        AuthState.BOT_CHECK,
    )
    assert len(offered) == (1 if wanted else 0)
    if wanted:
        assert items.index(offered[0]) == 1  # right below the status line
        assert offered[0].text == {"ru": "Войти на hh.ru…", "en": "Sign in to hh.ru…"}[language]
        assert offered[0].enabled


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("state", [AuthState.SESSION_EXPIRED, AuthState.BOT_CHECK])
def test_an_ended_session_line_names_the_window(state: AuthState, language: str) -> None:
    item = {"ru": "«Войти на hh.ru…»", "en": "“Sign in to hh.ru…”"}[language]
    assert (
        item
        in build_menu(replace(STATUS, auth_state=state), autostart=None, language=language)[0].text
    )


def test_every_state_has_a_distinct_icon() -> None:
    images = {state: draw_icon(state, 32).tobytes() for state in IconState}
    assert len(set(images.values())) == len(IconState)


def test_a_backend_without_menus_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(fake_pystray.Icon, "HAS_MENU", False)
    monkeypatch.setitem(__import__("sys").modules, "pystray", fake_pystray)
    with pytest.raises(tray_app_module.TrayUnavailable) as caught:
        tray_app_module.load_pystray("ru")
    fix = install_command(this_installation())  # this checkout: ./scripts/start again
    assert fix in str(caught.value) and not caught.value.no_display


def test_no_display_means_headless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(tray_app_module.TrayUnavailable) as caught:
        tray_app_module.load_pystray("ru")
    assert caught.value.no_display


def test_first_start_without_an_account_opens_the_settings(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim, with_tokens=False)
    started = Started()
    app = TrayApp(
        Service(runtime),
        fake_pystray,
        autostart=None,
        start_settings=started.settings_window,
        start_sign_in=started.sign_in_window,
        notifications=False,
    )
    runner = threading.Thread(target=app.run)
    runner.start()
    try:
        wait_until(lambda: started.settings == 1, 10)
        icon = app.icon
        assert isinstance(icon, fake_pystray.Icon)
        wait_until(lambda: "Настройки" in icon.texts()[0], 10)  # sign in, it says
        # and the sign-in window, right below that line, started as a process of its own
        assert icon.texts()[1] == "Войти на hh.ru…"
        icon.click("Войти на hh.ru…")
        wait_until(lambda: len(started.sign_in_windows) == 1, 5)
        icon.click("Войти на hh.ru…")  # open already: not a second one
        time.sleep(0.3)
        assert len(started.sign_in_windows) == 1
        first = started.sign_in_windows[0]
        first.close()
        wait_until(lambda: first.waited, 5)  # reaped: no zombie left behind
        icon.click("Войти на hh.ru…")
        wait_until(lambda: len(started.sign_in_windows) == 2, 5)
        started.sign_in_windows[1].close()
    finally:
        app.quit()
        runner.join(30)


def test_the_tray_toggle_stores_ids_and_never_a_sentinel(
    tray: tuple[TrayApp, fake_pystray.Icon, Started, FakeAutostart],
) -> None:
    """all -> all but one -> none -> one, through the menu action the check mark runs."""
    app = tray[0]
    path = app.runtime.paths.settings_file
    known = [r.id for r in app.service.status().resumes]
    assert len(known) >= 2 and app.runtime.settings().enabled_resumes is None
    first, others = known[0], known[1:]

    def stored() -> object:
        return json.loads(path.read_text())["enabled_resumes"]

    app._act(f"toggle:{first}")
    assert stored() == others and app.runtime.settings().enabled_resumes == tuple(others)
    for resume_id in others:
        app._act(f"toggle:{resume_id}")
    assert stored() == [] and app.runtime.settings().enabled_resumes == ()
    assert not any(r.enabled for r in app.service.status().resumes)
    app._act(f"toggle:{others[0]}")
    assert stored() == [others[0]] and app.runtime.settings().enabled_resumes == (others[0],)
    assert "none" not in path.read_text()


def native(items: tuple[Item, ...]) -> fake_pystray.NativeMenu:
    def convert(item: Item) -> fake_pystray.MenuItem:
        if item == SEPARATOR:
            return fake_pystray.Menu.SEPARATOR
        sub = fake_pystray.Menu(*map(convert, item.submenu)) if item.submenu else None
        return fake_pystray.MenuItem(item.text, sub)

    return fake_pystray.NativeMenu(fake_pystray.Menu(*map(convert, items)))


def test_only_a_menu_of_the_same_shape_is_relabeled() -> None:
    items = build_menu(STATUS, autostart=False, language="ru")
    later = replace(RESUME, last_raise_at=datetime(2026, 11, 27, 13, tzinfo=UTC))
    newer = build_menu(replace(STATUS, resumes=(later,)), autostart=False, language="ru")
    assert shape(newer) == shape(items) and newer != items
    menu = native(items)
    assert relabel(menu, newer) and menu.texts() == [i.text for i in newer]
    # another item, or a check mark changed: another shape (the tray builds a new menu)
    fewer = build_menu(replace(STATUS, resumes=()), autostart=False, language="ru")
    off = build_menu(
        replace(STATUS, resumes=(replace(RESUME, enabled=False),)), autostart=False, language="ru"
    )
    assert shape(fewer) != shape(items) and shape(off) != shape(items)
    # a native menu that does not match item for item is not relabeled
    assert not relabel(native(items), items[:-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xdg-open; reads /proc")
def test_the_program_that_opens_the_log_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Журнал" starts xdg-open, which hands the file over and ends: never a zombie."""
    from .test_demo import children

    opened = tmp_path / "opened"
    opener = tmp_path / "bin" / "xdg-open"
    opener.parent.mkdir()
    # still running when open_path returns, as a real one is
    opener.write_text(f'#!/bin/sh\nsleep 0.2\necho "$1" > {opened}\n')
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{opener.parent}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "hh-raiser.log"
    before = set(children(os.getpid()))
    tray_app_module.open_path(log)
    wait_until(lambda: opened.exists() and opened.read_text().strip() == str(log))
    wait_until(lambda: set(children(os.getpid())) <= before, 5)  # ended, and waited for
