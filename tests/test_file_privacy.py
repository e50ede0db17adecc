"""Issue 14: files others on the machine can touch, and the one process that rotates
the log. Real processes of ``hh-raiser`` against the simulator, as a user runs them."""

from __future__ import annotations

import logging
import os
import signal
import stat
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.adapters import bundle, logs
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.lock import InstanceLock
from tray_app.storage.paths import app_paths

from .conftest import wait_until
from .test_cli_integration import env, hh, import_tokens, require_secret_service, start_headless

__all__ = ["env"]  # a fixture shared with the command's own tests


@pytest.fixture
def keyring_env(env: dict[str, str]) -> dict[str, str]:
    """The command's environment, for commands that read the keyring."""
    require_secret_service()
    return env


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under ``root`` (links not followed) with its mode."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode):
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(info.st_mode))
    return found


def leaks(root: Path) -> dict[str, str]:
    """What is not 0700 (folders) or 0600 (files)."""
    wrong = {}
    for name, mode in modes(root).items():
        want = "0o700" if (root / name).is_dir() else "0o600"
        if mode != want:
            wrong[name] = mode
    return wrong


@pytest.fixture
def user_umask() -> Iterator[None]:
    """The umask a desktop session usually gives (files 0644); put back afterwards."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.integration
def test_a_real_run_leaves_every_folder_0700_and_every_file_0600(
    keyring_env: dict[str, str], sim: HHSimulator, tmp_path: Path, user_umask: None
) -> None:
    """history, the log, the lock, settings, Telegram's files, control.json: all
    written by the real processes under a usual umask (0022)."""
    env = keyring_env
    import_tokens(env, sim, tmp_path)
    hh(env, "config", "set", "enabled_resumes", "")
    paths = app_paths(env)
    process = start_headless(env)
    try:
        wait_until(lambda: any(p.accepted for p in sim.publishes), 20)
        wait_until(paths.history_file.exists, 10)
        assert hh(env, "status").returncode == 0  # a command beside the instance
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert hh(env, "raise-now").returncode in (0, 3)  # alone: holds the lock itself
    home = Path(env["HH_RAISER_HOME"])
    written = modes(home)
    for path in (paths.history_file, paths.lock_file, paths.log_file, paths.settings_file):
        assert str(path.relative_to(home)) in written
    assert leaks(home / "config") == {}
    assert leaks(home / "data") == {}
    assert leaks(home / "logs") == {}


def test_what_an_older_version_left_open_is_tightened_once_links_not_followed(
    tmp_path: Path, user_umask: None
) -> None:
    """0755 folders and 0644 files (an older version's) become 0700 and 0600 on the
    next start of any command, said once in the log; a link's target, and the folder
    the home is in, are not ours and stay as they are."""
    home = tmp_path / "home"
    os.mkdir(home, 0o755)
    os.chmod(home, 0o755)
    paths = app_paths({"HH_RAISER_HOME": str(home)})
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("the user's own file")
    os.chmod(outside, 0o644)
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir, paths.data_dir / "webview"):
        os.makedirs(folder, 0o755, exist_ok=True)
        os.chmod(folder, 0o755)
    old_files = [
        paths.history_file,
        paths.lock_file,
        paths.log_file,
        paths.settings_file,
        paths.data_dir / "webview" / "cookies.db",
    ]
    for path in old_files:
        path.write_text("{}\n" if path == paths.settings_file else "")
        os.chmod(path, 0o644)
    (paths.data_dir / "link").symlink_to(outside)
    assert len(leaks(home / "data")) == 5

    result = hh({**os.environ, "HH_RAISER_HOME": str(home)}, "config", "list")

    assert result.returncode == 0, result.stderr
    for name in ("config", "data", "logs"):
        assert leaks(home / name) == {}, name
    assert (paths.data_dir / "link").is_symlink()
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # the user's folder, not ours
    log = paths.log_file.read_text()
    assert log.count("made private") == 1 and "history.jsonl" in log
    again = hh({**os.environ, "HH_RAISER_HOME": str(home)}, "config", "list")
    assert again.returncode == 0 and paths.log_file.read_text().count("made private") == 1


def test_the_instance_lock_is_private_and_never_followed_through_a_link(
    tmp_path: Path, user_umask: None
) -> None:
    """Another user who can open the lock file can hold the lock: 0600, and a link
    in its place (to a file of the user's) is replaced, its target untouched."""
    folder = tmp_path / "data"
    with InstanceLock(folder / "instance.lock").acquire():
        assert stat.S_IMODE((folder / "instance.lock").stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (folder / "linked.lock").symlink_to(precious)
    with InstanceLock(folder / "linked.lock").acquire():
        assert not (folder / "linked.lock").is_symlink()
    assert precious.read_text() == "keep me"


def test_programs_we_start_get_the_users_umask_back(
    monkeypatch: pytest.MonkeyPatch, user_umask: None
) -> None:
    """Our umask makes our files private; a browser we start is the user's program,
    whose downloads must not become private."""
    from tray_app.storage import privacy

    monkeypatch.setattr(privacy, "_user_umask", None)
    privacy.restrict_new_files()
    seen: list[int] = []

    def browser(url: str) -> bool:
        current = os.umask(0)
        os.umask(current)
        seen.append(current)
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    assert bundle.open_in_browser("https://hh.ru")
    assert seen == [0o022]
    assert privacy.user_umask() == 0o022
    current = os.umask(0)
    os.umask(current)
    assert current == 0o077  # ours again after the browser started


def fill_log(path: Path) -> int:
    """A log just short of its limit: the next line would rotate it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = "2026-11-27 09:00:00,000 INFO old [MainThread] an older line\n"
    path.write_text(line * ((logs.MAX_BYTES - 200) // len(line)))
    return path.stat().st_size


@pytest.mark.integration
def test_a_command_appends_to_the_log_and_only_the_instance_rotates_it(
    keyring_env: dict[str, str], sim: HHSimulator, tmp_path: Path
) -> None:
    env = keyring_env
    import_tokens(env, sim, tmp_path)
    paths = app_paths(env)
    backup = paths.log_dir / (paths.log_file.name + ".1")
    size = fill_log(paths.log_file)
    result = hh(env, "-v", "status")  # no instance runs: it even holds the lock meanwhile
    assert result.returncode == 0, result.stderr
    assert not backup.exists()
    grown = paths.log_file.stat().st_size
    assert grown > size and paths.log_file.read_text().startswith("2026-11-27")

    process = start_headless(env)
    try:
        wait_until(backup.exists, 20)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert backup.read_text().startswith("2026-11-27")  # the whole old file, renamed
    assert paths.log_file.stat().st_size < logs.MAX_BYTES


def test_the_log_is_appended_to_until_rotate_log(tmp_path: Path) -> None:
    """The handler every process installs; only the one that calls rotate_log (run,
    holding the instance lock) renames the file."""
    log_file = tmp_path / "app.log"
    fill_log(log_file)
    logs.setup_logging(log_file, console=False)
    try:
        logger = logging.getLogger("test.rotation")
        for _ in range(50):
            logger.info("a command's line %s", "x" * 100)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["app.log"]
        assert log_file.stat().st_size > logs.MAX_BYTES
        logs.rotate_log()
        logger.info("the instance's line")
        assert (tmp_path / "app.log.1").exists()
        assert log_file.read_text().endswith("the instance's line\n")
        for _ in range(logs.BACKUPS + 2):
            for _ in range(logs.MAX_BYTES // 10_000 + 1):
                logger.info("filler %s", os.urandom(5_000).hex())  # no secret to mask
        assert len(list(tmp_path.glob("app.log.*"))) == logs.BACKUPS
    finally:
        for handler in list(logging.getLogger().handlers):
            if isinstance(handler, logs.LogFile):
                logging.getLogger().removeHandler(handler)
                handler.close()
