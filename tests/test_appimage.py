"""The AppImage's contents as the AppImage runtime would run them: ``scripts/package
linux`` packs the built app into the AppDir's squashfs image; unpacked (the runtime
mounts it instead), its ``AppRun`` starts the tray on the virtual desktop and the
tray's end-to-end test (test_tray_e2e.py) passes with it. The runtime itself is
appimagetool's, added in the release workflow (scripts/get-appimagetool): no package
registry reachable here carries it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import built_executable, require_tools
from .desktop import desktop  # noqa: F401
from .test_cli_integration import secret_service  # noqa: F401
from .test_tray_e2e import (  # noqa: F401 - the test and its fixtures, run on the AppImage
    app_env,
    test_tray_menu_raises_switches_opens_settings_and_quits,
    tray,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def app_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("mksquashfs", "unsquashfs", installed_by="scripts/packaging-deps")
    dist = built_executable().parent.parent
    out = tmp_path_factory.mktemp("release")
    env = {k: v for k, v in os.environ.items() if k != "APPIMAGETOOL"}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "appimagetool").exists()
    )
    packed = subprocess.run(
        [str(ROOT / "scripts" / "package"), "linux", "--dist", str(dist), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr
    unpacked = tmp_path_factory.mktemp("mounted") / "image"
    subprocess.run(
        ["unsquashfs", "-q", "-d", str(unpacked), str(out / "hh-raiser.squashfs")], check=True
    )
    return unpacked / "AppRun"


@pytest.fixture
def app_command(app_run: Path) -> list[str]:
    """The tray test's app: the AppImage's entry point, not dist/hh-raiser."""
    return [str(app_run)]


def test_started_as_an_appimage_it_starts_at_login_from_the_appimage_file(
    app_run: Path, tmp_path: Path
) -> None:
    """The runtime mounts the image at a new temporary folder each time and tells the
    app where the file is (``APPIMAGE``, ``APPDIR``): start-at-login must name the
    file, never the mount."""
    appimage = tmp_path / "Downloads" / "HH_Raiser-x86_64.AppImage"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")},
        "APPIMAGE": str(appimage),
        "APPDIR": str(app_run.parent),
        "HH_RAISER_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [str(app_run), "self-check", "--headless", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    report = json.loads(result.stdout)
    assert report["frozen"] is True
    assert report["start_at_login"] == [str(appimage)]
    assert Path(report["executable"]).is_relative_to(app_run.parent)
