"""The Windows downloads, built by ``scripts/package windows`` here as the release
workflow builds them on Windows: Inno Setup's compiler and the installer it makes both
run under Wine, on a virtual screen (the installer's windows exist even when silent).
The payload is a stand-in for the frozen ``hh-raiser.exe`` (tests/data/
windows_stand_in.c, built with mingw-w64) that writes down the commands the installer
gives the app: ``quit`` before files are replaced or removed, ``reset --yes`` when the
user asks the uninstaller to remove the data."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app import APP_NAME, __version__
from tray_app.adapters.autostart.windows import APPROVED_KEY, RUN_KEY, command_line

from .conftest import require_tools
from .desktop import virtual_desktop, xdotool

ROOT = Path(__file__).parent.parent
TOOLS = ("wine", "winepath", "x86_64-w64-mingw32-gcc", "npm", "Xvfb")
USER = "C:\\users\\" + getpass.getuser()  # Wine names the profile after the Unix user
INSTALL_DIR = USER + "\\AppData\\Local\\Programs\\HH Raiser"
START_MENU = "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/HH Raiser.lnk"
SETUP = f"hh-raiser-{__version__}-windows-setup.exe"


class Wine:
    """One Wine prefix (a Windows user's profile) and the commands run in it."""

    def __init__(self, prefix: Path, env: dict[str, str], calls: Path) -> None:
        self.prefix = prefix
        self.calls = calls
        self.env = {
            **env,
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
        }
        self.env["HH_RAISER_STAND_IN_LOG"] = self.windows_path(calls)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["wine", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def windows_path(self, path: Path) -> str:
        result = subprocess.run(
            ["winepath", "-w", str(path)], env=self.env, capture_output=True, text=True
        )
        return result.stdout.strip()

    def unix_path(self, windows_path: str) -> Path:
        relative = windows_path.removeprefix("C:\\").replace("\\", "/")
        return self.prefix / "drive_c" / relative

    def registry_value(self, key: str, name: str) -> str | None:
        result = self.run("reg", "query", f"HKCU\\{key}", "/v", name)
        if result.returncode != 0:
            return None
        for line in result.stdout.splitlines():
            if line.strip().startswith(name):
                return line.split("REG_", 1)[1].split(None, 1)[1].strip()
        return None

    def app_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def install(self, setup: Path, *options: str) -> None:
        result = self.run(self.windows_path(setup), "/VERYSILENT", "/SUPPRESSMSGBOXES", *options)
        assert result.returncode == 0, result.stderr

    def uninstall(self, *options: str) -> None:
        uninstaller = INSTALL_DIR + "\\unins000.exe"
        result = self.run(uninstaller, "/VERYSILENT", "/SUPPRESSMSGBOXES", *options)
        assert result.returncode == 0, result.stderr
        # the uninstaller copies itself to a temporary folder and returns at once
        for _ in range(300):
            if not self.unix_path(INSTALL_DIR).exists():
                return
            subprocess.run(["sleep", "0.1"], check=True)
        raise AssertionError(f"{INSTALL_DIR} is still there after uninstalling")


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``scripts/package windows`` makes of a stand-in PyInstaller folder."""
    require_tools(*TOOLS, installed_by="scripts/packaging-deps")
    dist = tmp_path_factory.mktemp("dist")
    bundle = dist / "hh-raiser"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "base_library.zip").write_bytes(b"stand-in")
    subprocess.run(
        [
            "x86_64-w64-mingw32-gcc",
            "-O2",
            "-s",
            "-o",
            str(bundle / "hh-raiser.exe"),
            str(ROOT / "tests" / "data" / "windows_stand_in.c"),
        ],
        check=True,
    )
    out = tmp_path_factory.mktemp("release")
    result = subprocess.run(
        [str(ROOT / "scripts" / "package"), "windows", "--dist", str(dist), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def wine(downloads: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    prefix = tmp_path_factory.mktemp("wine") / "prefix"
    with virtual_desktop() as env:
        machine = Wine(prefix, env, tmp_path_factory.mktemp("calls") / "calls.txt")
        booted = subprocess.run(
            ["wineboot", "-i"], env=machine.env, capture_output=True, timeout=300
        )
        assert booted.returncode == 0, booted.stderr
        yield machine
    shutil.rmtree(prefix, ignore_errors=True)  # a Wine prefix is over a gigabyte


def test_the_portable_zip_holds_the_app_folder(downloads: Path) -> None:
    with zipfile.ZipFile(downloads / f"hh-raiser-{__version__}-windows-x64.zip") as archive:
        names = set(archive.namelist())
    assert {"hh-raiser/hh-raiser.exe", "hh-raiser/_internal/base_library.zip"} <= names


def test_the_installer_installs_for_the_user_and_the_uninstaller_leaves_nothing_behind(
    wine: Wine, downloads: Path
) -> None:
    wine.calls.unlink(missing_ok=True)
    wine.install(downloads / SETUP, "/TASKS=startatlogin")
    app = wine.unix_path(INSTALL_DIR)
    assert (app / "hh-raiser.exe").is_file()
    assert (app / "_internal" / "base_library.zip").is_file()
    assert wine.unix_path(USER + "\\" + START_MENU.replace("/", "\\")).is_file()
    # per user: the uninstall entry is the user's, no admin was asked
    uninstall_key = "Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
    listed = wine.run("reg", "query", f"HKCU\\{uninstall_key}", "/s").stdout
    assert "DisplayName    REG_SZ    HH Raiser" in listed
    # start at login: exactly what the app's own menu switch writes
    assert wine.registry_value(RUN_KEY, APP_NAME) == command_line([INSTALL_DIR + "\\hh-raiser.exe"])
    assert wine.app_calls() == []  # nothing was running to stop

    # an upgrade first asks the running app to quit: its files are about to change
    wine.install(downloads / SETUP, "/TASKS=startatlogin")
    assert wine.app_calls() == ["quit"]

    # the app's own switch also wrote its StartupApproved value; the uninstaller
    # removes both, stops the app, and (silent, not asked) keeps the user's data
    wine.run("reg", "add", f"HKCU\\{APPROVED_KEY}", "/v", APP_NAME, "/t", "REG_BINARY",
             "/d", "020000000000000000000000", "/f")  # fmt: skip
    assert wine.registry_value(APPROVED_KEY, APP_NAME) is not None
    wine.uninstall()
    assert wine.app_calls() == ["quit", "quit"]
    assert not app.exists()
    assert not wine.unix_path(USER + "\\" + START_MENU.replace("/", "\\")).exists()
    assert wine.registry_value(RUN_KEY, APP_NAME) is None
    assert wine.registry_value(APPROVED_KEY, APP_NAME) is None


def test_start_at_login_is_offered_not_forced_and_removing_the_data_is_asked_for(
    wine: Wine, downloads: Path
) -> None:
    wine.calls.unlink(missing_ok=True)
    wine.install(downloads / SETUP, "/TASKS=")
    assert (wine.unix_path(INSTALL_DIR) / "hh-raiser.exe").is_file()
    assert wine.registry_value(RUN_KEY, APP_NAME) is None
    wine.uninstall("/REMOVEDATA=yes")
    # the app removes its own secrets (Credential Manager) and folders: only it knows them
    assert wine.app_calls() == ["quit", "reset --yes"]


def answer(env: dict[str, str], title: str, key: str, seen: set[str]) -> None:
    """Presses ``key`` in the next window titled ``title`` (a regex) not ``seen`` yet:
    Wine's message boxes take a button's underlined letter."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = xdotool(env, "search", "--onlyvisible", "--name", title).split()
        fresh = [window for window in found if window not in seen]
        if fresh:
            seen.add(fresh[0])
            time.sleep(0.5)  # drawn and taking keys
            xdotool(env, "windowfocus", "--sync", fresh[0])
            xdotool(env, "key", key)
            return
        time.sleep(0.2)
    raise AssertionError(f"no window {title!r} within 60 s")


# the uninstaller's window and our question's box, by the language of the install
TITLES = {
    "en": ("HH Raiser Uninstall", "Uninstall"),
    "ru": ("Деинсталляция — HH Raiser", "Деинсталляция"),
}


@pytest.mark.parametrize(
    ("language", "remove_data"),
    [("en", True), ("en", False), ("ru", True)],
    ids=["en-yes", "en-no", "ru-yes"],
)
def test_the_uninstaller_asks_the_user_whether_to_remove_the_data(
    wine: Wine, downloads: Path, language: str, remove_data: bool
) -> None:
    """Not silent, as from Settings → Apps: "are you sure", then the question of
    ours (its default is No), then "removed"; only a Yes has the app reset itself.
    Installed in Russian, the uninstaller speaks Russian (Wine's buttons stay English)."""
    app_title, question_title = (f"^{title}$" for title in TITLES[language])
    wine.calls.unlink(missing_ok=True)
    wine.install(downloads / SETUP, "/TASKS=", f"/LANG={language}")
    uninstaller = subprocess.Popen(
        ["wine", INSTALL_DIR + "\\unins000.exe"],
        env=wine.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # windows of an earlier uninstaller, still closing, are not this one's
    seen = set(xdotool(wine.env, "search", "--name", "Uninstall|Деинсталляция").split())
    try:
        answer(wine.env, app_title, "y", seen)  # remove HH Raiser?
        answer(wine.env, question_title, "y" if remove_data else "n", seen)  # and the data?
        answer(wine.env, app_title, "Return", seen)  # removed: OK
        uninstaller.wait(timeout=60)
    finally:
        if uninstaller.poll() is None:
            uninstaller.kill()
    for _ in range(150):  # its last box gone: the next test starts on a clear screen
        if not xdotool(wine.env, "search", "--onlyvisible", "--name", "Uninstall|Деинсталляция"):
            break
        time.sleep(0.2)
    assert wine.app_calls() == (["quit", "reset --yes"] if remove_data else ["quit"])
    assert not (wine.unix_path(INSTALL_DIR) / "hh-raiser.exe").exists()
    assert wine.registry_value(RUN_KEY, APP_NAME) is None
