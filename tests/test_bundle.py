"""What differs in the built app, checked without building: the bundle path, the
library path given back to system programs, a windowed build without streams, and
self-check's verdicts."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tray_app.adapters import bundle
from tray_app.adapters.cli import selfcheck
from tray_app.adapters.cli.base import Cli
from tray_app.adapters.cli.main import main
from tray_app.adapters.cli.selfcheck import TrayCheck
from tray_app.adapters.logs import setup_logging
from tray_app.adapters.tray.packages import install_command, this_installation
from tray_app.adapters.web_window import WindowMissing, WindowSupport
from tray_app.i18n import t
from tray_app.storage.memory_keyring import MemoryKeyring

ROOT = Path(__file__).parent.parent


def test_assets_come_from_the_checkout_or_the_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bundle.asset_path("hh-raiser.png") == ROOT / "assets" / "hh-raiser.png"
    assert bundle.asset_path("hh-raiser.png").is_file()
    monkeypatch.setattr(sys, "_MEIPASS", "/opt/hh-raiser/_internal", raising=False)
    assert bundle.asset_path("x.png") == Path("/opt/hh-raiser/_internal/assets/x.png")


def test_system_programs_get_the_users_library_path_back() -> None:
    frozen = {"LD_LIBRARY_PATH": "/opt/app/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"}
    bundle.restore_library_path(frozen, frozen=True)
    reset = {"PYINSTALLER_RESET_ENVIRONMENT": "1"}  # our own children: the bundle anew
    assert frozen == {"LD_LIBRARY_PATH": "/usr/local/lib", **reset}
    unset = {"LD_LIBRARY_PATH": "/opt/app/_internal"}
    bundle.restore_library_path(unset, frozen=True)
    assert unset == reset
    from_source = {"LD_LIBRARY_PATH": "/mine"}
    bundle.restore_library_path(from_source, frozen=False)
    assert from_source == {"LD_LIBRARY_PATH": "/mine"}


def test_a_windowed_build_without_streams_logs_to_its_file_and_runs_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A windowed Windows build has ``sys.stdout`` and ``sys.stderr`` set to None."""
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(sys, "stdout", None)
    cli = Cli(
        environ={"HH_RAISER_HOME": str(tmp_path / "home")},
        out=None,  # type: ignore[arg-type]
        err=None,  # type: ignore[arg-type]
        stdin=None,
        keyring_backend=MemoryKeyring(),
    )
    assert main(["config", "set", "margin_seconds", "3"], cli) == 0
    assert main(["status"], cli) == 4  # not signed in yet: said with no stream to say it on
    assert main(["login", "--web"], cli) == 1  # no console to paste into: said in the log
    cli.err = io.StringIO()  # a file needs no stdin: its own problem is the one told
    assert main(["login", "--web", "--cookies", str(tmp_path / "cookies.txt")], cli) == 1
    assert "cookies.txt" in cli.err.getvalue() and "no input" not in cli.err.getvalue()
    log = (tmp_path / "home" / "logs").glob("*.log")
    assert any(path.read_text() for path in log)
    setup_logging(tmp_path / "again.log")  # and again, idempotent, with no stderr


def check(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    tray: TrayCheck,
    keyring: MemoryKeyring | None,
    headless: bool = False,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setattr(selfcheck, "_tray", lambda _language: tray)
    out = io.StringIO()
    cli = Cli(environ={"HH_RAISER_HOME": str(tmp_path)}, out=out, keyring_backend=keyring)
    if keyring is None:
        from keyring.backends import fail

        cli.keyring_backend = fail.Keyring()  # type: ignore[no-untyped-call]
    code = selfcheck.cmd_self_check(cli, argparse.Namespace(json=True, headless=headless))
    return code, dict(json.loads(out.getvalue()))


GOOD = TrayCheck("pystray._appindicator", None, True, True)
MENULESS = TrayCheck("pystray._xorg", "no menu: install PyGObject", False, False)
NO_SCREEN = TrayCheck(None, None, False, False, display=False)


def test_self_check_verdicts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, report = check(monkeypatch, tmp_path, tray=GOOD, keyring=MemoryKeyring())
    assert code == 0 and report["problems"] == [] and report["fixes"] == {}
    assert report["keyring"] == "tray_app.storage.memory_keyring.MemoryKeyring"
    assert report["assets"] == str(ROOT / "assets")
    code, report = check(monkeypatch, tmp_path, tray=MENULESS, keyring=MemoryKeyring())
    assert code == 1 and report["problems"] == ["tray: no menu: install PyGObject"]
    fix = install_command(this_installation())  # what to install, as this copy is installed
    assert fix in report["fixes"]["tray"]
    code, _ = check(monkeypatch, tmp_path, tray=MENULESS, keyring=MemoryKeyring(), headless=True)
    assert code == 0
    code, report = check(monkeypatch, tmp_path, tray=GOOD, keyring=None)
    assert code == 1 and str(report["problems"]).startswith(
        "['keyring: Нет безопасного хранилища секретов (keyring): no usable keyring"
    )
    assert "gnome-keyring" in report["fixes"]["keyring"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ["Нет безопасного", "меню не будет", "значка приложения нет", "не файл настроек"]),
        ("en", ["No secure secret", "no menu", "the app icon is missing", "not a valid settings"]),
    ],
)
def test_self_check_json_tells_people_in_their_language(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, language: str, words: list[str]
) -> None:
    """What is for people (each problem, a settings file that cannot be read) is in
    the user's language; the parts' names before each problem stay for scripts."""
    from keyring.backends import fail

    menuless = TrayCheck("pystray._xorg", None, False, False)
    monkeypatch.setattr(selfcheck, "_tray", lambda _language: menuless)
    monkeypatch.setattr(selfcheck, "asset_path", lambda name: tmp_path / "nowhere" / name)

    def report() -> tuple[int, dict[str, Any]]:
        out = io.StringIO()
        cli = Cli(environ={"HH_RAISER_HOME": str(tmp_path)}, out=out, language=language)
        cli.keyring_backend = fail.Keyring()  # type: ignore[no-untyped-call]
        code = selfcheck.cmd_self_check(cli, argparse.Namespace(json=True, headless=False))
        return code, dict(json.loads(out.getvalue()))

    keyring, menu, icon, settings = words
    code, found = report()
    problems = found["problems"]
    assert code == 1 and [p.split(": ")[0] for p in problems] == ["keyring", "tray", "assets"]
    assert keyring in problems[0] and menu in problems[1] and icon in problems[2]
    assert keyring in found["keyring_problem"]
    assert list(found["fixes"]) == ["keyring", "tray", "assets"]
    assert "./scripts/build" in found["fixes"]["assets"]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text("{", encoding="utf-8")
    code, found = report()
    assert code == 1 and settings in found["transport"] and settings in found["problems"][0]


def test_no_screen_is_information_not_a_failed_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A server has no screen: ``run`` goes on without an icon, as it should."""
    code, report = check(monkeypatch, tmp_path, tray=NO_SCREEN, keyring=MemoryKeyring())
    assert code == 0 and report["problems"] == [] and report["display"] is False
    text, code = check_text(monkeypatch, tmp_path, tray=NO_SCREEN, keyring=MemoryKeyring())
    assert code == 0 and "Всё нужное есть." in text
    assert "Меню у значка: нет графического экрана: значка здесь не будет" in text
    assert "(это не ошибка" in text and t("tray.no_display", "ru", detail="DISPLAY") not in text


def test_without_a_display_the_tray_check_says_no_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    if sys.platform.startswith("linux"):
        assert selfcheck._tray("ru") == NO_SCREEN


def test_each_failed_line_says_what_to_do_and_the_verdict_names_the_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(selfcheck, "asset_path", lambda name: tmp_path / "gone" / name)
    text, code = check_text(monkeypatch, tmp_path, tray=MENULESS, keyring=None)
    assert code == 1
    lines = text.splitlines()

    def fix_under(label: str) -> str:
        """The ✗ line right under the line, with the lines that continue it."""
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{label}: "))
        assert lines[at + 1].startswith("  ✗ "), lines[at : at + 2]
        block = [lines[at + 1]]
        block += [line for line in lines[at + 2 :] if line.startswith("    ")][:20]
        return "\n".join(block)

    assert "Хранилище секретов: нет" in lines
    keyring = fix_under("Хранилище секретов")
    assert "no usable keyring backend" in keyring and "gnome-keyring" in keyring
    assert "hh-raiser secrets new-key" in keyring  # a server's way too, as every command says
    assert install_command(this_installation()) in fix_under("Меню у значка")
    assert "./scripts/build" in fix_under("Значки приложения")
    assert lines[-1] == (
        "Не в порядке (3): «Хранилище секретов», «Меню у значка», «Значки приложения». "
        "Что сделать — в строке «✗» под каждой."
    )
    assert sum(line.startswith("  ✗ ") for line in lines) == 3


def check_text(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    tray: TrayCheck,
    keyring: MemoryKeyring | None,
) -> tuple[str, int]:
    monkeypatch.setattr(selfcheck, "_tray", lambda _language: tray)
    out = io.StringIO()
    cli = Cli(environ={"HH_RAISER_HOME": str(tmp_path)}, out=out, keyring_backend=keyring)
    if keyring is None:
        from keyring.backends import fail

        cli.keyring_backend = fail.Keyring()  # type: ignore[no-untyped-call]
    code = selfcheck.cmd_self_check(cli, argparse.Namespace(json=False, headless=False))
    return out.getvalue(), code


def test_self_check_for_people_names_each_part(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gtk = TrayCheck("pystray._gtk", None, True, False)
    text, code = check_text(monkeypatch, tmp_path, tray=gtk, keyring=MemoryKeyring())
    assert code == 0
    for label in ("Версия", "Хранилище секретов", "pystray._gtk", "Меню у значка: да"):
        assert label in text
    assert "Уведомления на рабочем столе: нет" in text and "Всё нужное есть." in text


@pytest.mark.parametrize(
    ("support", "expected", "line"),
    [
        (
            WindowSupport(None, "WebKitGTK 4.1"),
            {"available": True, "engine": "WebKitGTK 4.1", "missing": None, "problem": None},
            "Окно входа на hh.ru: WebKitGTK 4.1",
        ),
        (
            WindowSupport(WindowMissing.NO_WEBKIT, "Namespace WebKit2 not available"),
            {
                "available": False,
                "engine": None,
                "missing": "no_webkit",
                "detail": "Namespace WebKit2 not available",
            },
            "Окно входа на hh.ru: нет: Окно входа недоступно: нет WebKitGTK "
            "(Namespace WebKit2 not available)",
        ),
        (
            WindowSupport(WindowMissing.NO_DISPLAY, "DISPLAY"),
            {"available": False, "engine": None, "missing": "no_display"},
            "Окно входа на hh.ru: нет: Окно входа недоступно: нет экрана",
        ),
    ],
)
def test_self_check_reports_the_sign_in_window_without_failing_on_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    support: WindowSupport,
    expected: dict[str, object],
    line: str,
) -> None:
    """Information, not a verdict: a server has no window and signs in another way."""
    seen: list[object] = []

    def fake_support(environ: object = None) -> WindowSupport:
        seen.append(environ)
        return support

    monkeypatch.setattr(selfcheck, "window_support", fake_support)
    code, report = check(monkeypatch, tmp_path, tray=GOOD, keyring=MemoryKeyring())
    assert code == 0 and report["problems"] == []
    window = report["sign_in_window"]
    assert isinstance(window, dict) and expected.items() <= window.items()
    if support.missing is not None:
        assert str(window["problem"]).startswith("Окно входа недоступно")
    assert seen == [{"HH_RAISER_HOME": str(tmp_path)}]  # the command's own environment
    out = io.StringIO()
    cli = Cli(environ={"HH_RAISER_HOME": str(tmp_path)}, out=out, keyring_backend=MemoryKeyring())
    assert selfcheck.cmd_self_check(cli, argparse.Namespace(json=False, headless=True)) == 0
    assert line in out.getvalue() and "Всё нужное есть." in out.getvalue()


def test_the_spec_builds_a_windowed_app_with_its_icons_and_a_menu_bar_bundle() -> None:
    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert "console=False" in spec and "upx=False" in spec
    assert '"LSUIElement": True' in spec
    for icon in ("hh-raiser.ico", "hh-raiser.icns", "hh-raiser.png"):
        assert (ROOT / "assets" / icon).is_file()
        assert icon == "hh-raiser.png" or icon in spec
    assert 'copy_metadata("keyring")' in spec  # keyring finds backends by entry points


def test_the_frozen_linux_app_searches_the_systems_typelibs_after_its_own(
    tmp_path: Path,
) -> None:
    """WebKitGTK is the system's: its typelib comes from the system's folder, while GTK
    and GLib keep the bundled typelibs that match the bundled libraries."""
    system, missing = tmp_path / "girepository-1.0", tmp_path / "nowhere"
    system.mkdir()
    candidates = (str(missing), str(system))
    frozen = {"GI_TYPELIB_PATH": "/opt/app/_internal/gi_typelibs"}
    bundle.add_system_typelibs(frozen, frozen=True, platform="linux", candidates=candidates)
    assert frozen == {"GI_TYPELIB_PATH": f"/opt/app/_internal/gi_typelibs:{system}"}
    bundle.add_system_typelibs(frozen, frozen=True, platform="linux", candidates=candidates)
    assert frozen["GI_TYPELIB_PATH"].count(str(system)) == 1  # once, however often
    for is_frozen, platform in ((False, "linux"), (True, "darwin")):
        untouched: dict[str, str] = {}
        bundle.add_system_typelibs(
            untouched, frozen=is_frozen, platform=platform, candidates=candidates
        )
        assert untouched == {}
