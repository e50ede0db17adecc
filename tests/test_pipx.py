"""``pipx install`` of the release's wheel (``scripts/package wheel``), the light way
on any OS: the command is on PATH in its own venv, it starts, and its self-check finds
the keyring and the icons the wheel carries (pyproject.toml's data-files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app import __version__

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parent.parent
PIPX = "pipx==1.18.4"


def test_pipx_installs_the_wheel_and_the_command_works(tmp_path: Path) -> None:
    out = tmp_path / "release"
    subprocess.run(
        [str(ROOT / "scripts" / "package"), "wheel", "--out", str(out)], check=True, timeout=300
    )
    wheel = out / f"hh_raiser-{__version__}-py3-none-any.whl"
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    subprocess.run([str(tools / "bin" / "pip"), "install", "-q", PIPX], check=True, timeout=300)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    subprocess.run(
        [str(tools / "bin" / "pipx"), "install", str(wheel)],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    command = tmp_path / "bin" / "hh-raiser"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"hh-raiser {__version__}"
    check = subprocess.run(
        [str(command), "self-check", "--headless", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    report = json.loads(check.stdout)
    assert (check.returncode, report["problems"]) == (0, [])
    assert report["frozen"] is False
    assert report["executable"].startswith(str(tmp_path / "pipx"))
    assets = Path(report["assets"])
    assert assets.parts[-3:] == ("share", "hh-raiser", "assets")
    assert (assets / "hh-raiser.png").is_file()
