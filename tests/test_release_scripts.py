"""The scripts the release workflow (.github/workflows/release.yml) runs, run here on
Linux, so that the workflow holds no step that never ran: each ``run:`` of it is a
script of the repo, and each such script is run by a test (the Windows installer's
in test_windows_installer.py, under Wine)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

from tray_app import __version__

from .conftest import built_executable, require_tools

ROOT = Path(__file__).parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
PACKAGING_DEPS = "scripts/packaging-deps"
SCRIPT = re.compile(r"(?:^|\s)((?:scripts|\.ci)/[\w.-]+)")
# each script a workflow step runs, and the test here that runs it
EXERCISED = {
    ".ci/run": "CI itself",
    "scripts/build": "scripts/test",
    "scripts/get-appimagetool": "test_get_appimagetool_installs_only_the_pinned_file",
    "scripts/package": "test_linux_downloads_*, test_the_dmg_*, test_windows_installer, test_pipx",
    "scripts/platform-tests": "test_platform_tests_name_only_tests_that_exist",
    "scripts/publish-release": "test_publish_release_*",
    "scripts/smoke-built-app": "test_smoke_built_app_*",
}


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"exit code {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout


def fails(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_every_workflow_step_runs_a_script_a_test_runs() -> None:
    steps = re.findall(r"^\s+run: (.+)$", WORKFLOW.read_text(), re.MULTILINE)
    assert steps
    for step in steps:
        scripts = SCRIPT.findall(step)
        assert scripts, f"a step with logic of its own: {step}"
        for script in scripts:
            assert os.access(ROOT / script, os.X_OK), script
            assert script in EXERCISED, f"{script} is run by the workflow and by no test"


def test_lint_ci_passes_here_and_catches_a_broken_workflow(tmp_path: Path) -> None:
    require_tools("npm", "shellcheck", installed_by=PACKAGING_DEPS)
    assert "passed lint checks" in run(ROOT / "scripts" / "lint-ci")
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = WORKFLOW.read_text().replace("needs: [linux, windows, macos]", "needs: [linux, mac]")
    (broken / "release.yml").write_text(text)
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    result = subprocess.run(
        [str(ROOT / "scripts" / "lint-ci"), str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert 'needs job "mac" which does not exist' in result.stdout


def test_get_appimagetool_installs_only_the_pinned_file(tmp_path: Path) -> None:
    tool = tmp_path / "download"
    tool.write_bytes(b"#!/bin/sh\necho appimagetool\n")
    digest = hashlib.sha256(tool.read_bytes()).hexdigest()
    url = tool.as_uri()
    target = tmp_path / "appimagetool"
    script = ROOT / "scripts" / "get-appimagetool"
    stderr = fails(script, target, env={"APPIMAGETOOL_URL": url, "APPIMAGETOOL_SHA256": "0" * 64})
    assert "refused" in stderr and not target.exists()
    assert not Path(f"{target}.partial").exists()
    run(script, target, env={"APPIMAGETOOL_URL": url, "APPIMAGETOOL_SHA256": digest})
    assert target.read_bytes() == tool.read_bytes()
    assert target.stat().st_mode & stat.S_IXUSR


def test_linux_downloads_tarball_appdir_and_image_of_the_built_app(tmp_path: Path) -> None:
    require_tools("mksquashfs", "unsquashfs", "desktop-file-validate", installed_by=PACKAGING_DEPS)
    exe = built_executable()
    out = tmp_path / "release"
    fake_tool = tmp_path / "appimagetool"
    fake_tool.write_text(
        '#!/bin/sh\necho "ARCH=$ARCH $*" > "$(dirname "$0")/called"\n'
        'for last; do :; done\ncp /dev/null "$last"\n'
    )
    fake_tool.chmod(0o755)
    run(
        ROOT / "scripts" / "package",
        "linux",
        "--dist",
        exe.parent.parent,
        "--out",
        out,
        env={"APPIMAGETOOL": str(fake_tool)},
        timeout=600,
    )
    arch = os.uname().machine
    with tarfile.open(out / f"hh-raiser-{__version__}-linux-{arch}.tar.gz") as archive:
        assert "hh-raiser/hh-raiser" in archive.getnames()
    appdir = out / "HH_Raiser.AppDir"
    assert os.access(appdir / "AppRun", os.X_OK)
    assert (appdir / ".DirIcon").resolve() == (appdir / "hh-raiser.png")
    run("desktop-file-validate", appdir / "hh-raiser.desktop")
    # appimagetool was handed the AppDir and the AppImage's name
    appimage = out / f"HH_Raiser-{__version__}-{arch}.AppImage"
    assert (tmp_path / "called").read_text().split() == [
        f"ARCH={arch}",
        "--no-appstream",
        str(appdir),
        str(appimage),
    ]
    # the image the AppImage runtime mounts: the app starts from its files
    unpacked = tmp_path / "unpacked"
    run("unsquashfs", "-q", "-d", unpacked, out / "hh-raiser.squashfs")
    assert run(unpacked / "AppRun", "--version").strip() == f"hh-raiser {__version__}"


def test_the_dmg_holds_the_app_and_a_link_to_applications(tmp_path: Path) -> None:
    require_tools("genisoimage", "isoinfo", installed_by=PACKAGING_DEPS)
    dist = tmp_path / "dist"
    app = dist / "HH Raiser.app" / "Contents" / "MacOS"
    app.mkdir(parents=True)
    (app / "hh-raiser").write_text("stand-in")
    out = tmp_path / "release"
    run(ROOT / "scripts" / "package", "macos", "--dist", dist, "--out", out)
    listing = run("isoinfo", "-R", "-l", "-i", out / f"hh-raiser-{__version__}-macos.dmg")
    assert "HH Raiser.app" in listing
    assert "Applications -> /Applications" in listing


def release_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    for name in (
        f"hh-raiser-{__version__}-windows-setup.exe",
        f"hh-raiser-{__version__}-windows-x64.zip",
        f"hh-raiser-{__version__}-macos.dmg",
        f"HH_Raiser-{__version__}-x86_64.AppImage",
        f"hh-raiser-{__version__}-linux-x86_64.tar.gz",
        f"hh_raiser-{__version__}-py3-none-any.whl",
    ):
        (folder / name).write_text(name)
    run(ROOT / "scripts" / "package", "checksums", "--out", folder)
    return folder


def fake_gh(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/gh-args\n')
    gh.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_publish_release_attaches_every_download_and_its_sums(tmp_path: Path) -> None:
    folder = release_folder(tmp_path)
    sums = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 6
    run(ROOT / "scripts" / "publish-release", f"v{__version__}", folder, env=fake_gh(tmp_path))
    args = (tmp_path / "gh-args").read_text().split()
    assert args[:4] == ["release", "create", f"v{__version__}", "--verify-tag"]
    assert args[-1] == "SHA256SUMS"
    assert sorted(args[-7:-1]) == sorted(line.split()[1] for line in sums)


def test_publish_release_refuses_a_wrong_tag_a_partial_set_or_a_changed_file(
    tmp_path: Path,
) -> None:
    folder = release_folder(tmp_path)
    env = fake_gh(tmp_path)
    script = ROOT / "scripts" / "publish-release"
    assert "not the app's version" in fails(script, "v9.9.9", folder, env=env)
    (folder / f"hh-raiser-{__version__}-macos.dmg").write_text("changed")
    assert "did NOT match" in fails(script, f"v{__version__}", folder, env=env)
    assert not (tmp_path / "gh-args").exists()
    (folder / f"hh-raiser-{__version__}-macos.dmg").unlink()
    run(ROOT / "scripts" / "package", "checksums", "--out", folder)
    assert "not releasing a partial set" in fails(script, f"v{__version__}", folder, env=env)
    assert not (tmp_path / "gh-args").exists()


def test_smoke_built_app_passes_for_the_build_and_fails_for_a_wrong_one(tmp_path: Path) -> None:
    exe = built_executable()
    output = run(ROOT / "scripts" / "smoke-built-app", exe, timeout=120)
    assert output.startswith(f"hh-raiser {__version__}\n") and '"problems": []' in output
    impostor = tmp_path / "hh-raiser"
    impostor.write_text("#!/bin/sh\necho hh-raiser 0.0.1\n")
    impostor.chmod(0o755)
    assert "not 'hh-raiser" in fails(ROOT / "scripts" / "smoke-built-app", impostor)


def test_platform_tests_name_only_tests_that_exist() -> None:
    named = re.findall(r"tests/\w+\.py", (ROOT / "scripts" / "platform-tests").read_text())
    output = run(ROOT / "scripts" / "platform-tests", "--collect-only", "-q", timeout=600)
    collected = dict(re.findall(r"^(tests/\w+\.py): (\d+)$", output, re.MULTILINE))
    assert named and sorted(collected) == sorted(set(named)), output
    assert all(int(count) > 0 for count in collected.values())
