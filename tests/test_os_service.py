"""``hh-raiser service install|uninstall|status``: the unit as ``systemd-analyze
verify`` reads it, the command's answers without a user manager, start at login
turned off in the service's favour, and the whole life of the service under a real
systemd user manager (started in a private mount namespace where the machine
allows): installed, ready through the notify protocol, raising, killed by the
watchdog when a raise hangs and restarted, removed."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.adapters.autostart.linux import LinuxAutostart
from tray_app.adapters.cli import EXIT_FAILURE, EXIT_OK, Cli, main
from tray_app.adapters.os_service import for_this_system
from tray_app.adapters.os_service.systemd import (
    UNIT_NAME,
    UnitSpec,
    exec_line,
    unit_spec,
    unit_text,
)
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths

from .conftest import CHAT, in_ci, make_runtime, wait_until
from .test_cli_integration import A, hh

REPO = Path(__file__).resolve().parent.parent
TRICKY = "My Apps 100%h $HOME «Мои»"  # a space, a specifier (%h), a variable, not ASCII


def need(tool: str) -> str:
    """The tool's path; skipped (failed in CI) when the machine has none."""
    path = shutil.which(tool)
    if path is None:
        message = f"needs {tool}: install systemd (scripts/linux-desktop-deps --test does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def launcher(folder: Path) -> Path:
    """The app as one executable (as an AppImage is): a script that runs this checkout."""
    folder.mkdir(parents=True)
    script = folder / "hh raiser"
    script.write_text(
        f"#!/bin/sh\nPYTHONPATH='{REPO}' exec '{sys.executable}' -m tray_app \"$@\"\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify --user``: it needs a runtime folder of the user's."""
    need("systemd-analyze")
    runtime = tempfile.mkdtemp(prefix="sd")
    try:
        return subprocess.run(
            ["systemd-analyze", "verify", "--user", str(unit)],
            env={**os.environ, "XDG_RUNTIME_DIR": runtime},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_the_unit_passes_systemd_analyze_verify_with_awkward_paths(tmp_path: Path) -> None:
    script = launcher(tmp_path / TRICKY)
    key = tmp_path / TRICKY / "secrets key"
    key.write_bytes(os.urandom(32))
    environ = {
        "HH_RAISER_HOME": str(tmp_path / TRICKY / "home"),
        "HH_RAISER_SECRET_STORE": "encrypted-file",
        "HH_RAISER_SECRETS_KEY_FILE": str(key),
        "HH_RAISER_TIMEOUT": "20",
        "HTTPS_PROXY": "http://user:password@proxy:3128",  # never copied into the unit
    }
    spec = unit_spec([str(script)], environ, log_format="json")
    assert spec.command == [str(script), "run", "--headless", "--log-format", "json"]
    unit = tmp_path / "units" / UNIT_NAME
    unit.parent.mkdir()
    unit.write_text(unit_text(spec), encoding="utf-8")
    checked = verify(unit)
    # verify exits 0 even for keys it ignores: its silence is the verdict
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    text = unit.read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "WatchdogSec=600",
        "StandardOutput=journal",
        "WantedBy=default.target",
        f"LoadCredential=hh-raiser-secrets-key:{str(key).replace('%', '%%')}",
        'Environment="HH_RAISER_SECRET_STORE=encrypted-file"',
    ):
        assert line in text.splitlines(), line
    assert "password" not in text and "HH_RAISER_SECRETS_KEY_FILE" not in text
    assert "100%%h" in text  # not the home folder


def test_verify_does_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a wrong key, a bad value, a missing program."""
    unit = tmp_path / UNIT_NAME
    text = unit_text(UnitSpec([str(tmp_path / "no such program"), "run", "--headless"]))
    unit.write_text(text.replace("WatchdogSec=600", "WatchdogSec=ten minutes") + "Bogus=1\n")
    checked = verify(unit)
    said = checked.stdout + checked.stderr
    assert "ten minutes" in said and "Bogus" in said and "no such program" in said


def test_exec_line_quotes_only_what_needs_it() -> None:
    assert exec_line(["/usr/bin/hh-raiser", "run", "--headless"]) == (
        "/usr/bin/hh-raiser run --headless"
    )
    assert exec_line(["/opt/a $b/x", "50%", "$HOME", 'say "hi"\\']) == (
        '"/opt/a $b/x" 50%% $$HOME "say \\"hi\\"\\\\"'
    )


def test_other_systems_are_told_what_to_use_instead(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    assert for_this_system({}, platform="darwin") is None
    assert for_this_system({}, platform="win32") is None
    monkeypatch.setattr(sys, "platform", "win32")
    err = io.StringIO()
    code = main(["service", "install"], Cli(environ=environ, out=io.StringIO(), err=err))
    assert code == EXIT_FAILURE
    assert "Планировщик заданий" in err.getvalue() and "launchd" in err.getvalue()


def cli_for(
    environ: dict[str, str], backend: MemoryKeyring
) -> tuple[Cli, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Cli(environ=environ, out=out, err=err, keyring_backend=backend), out, err


@pytest.fixture
def desktop(environ: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A user's config folder, and a runtime folder where no user manager listens
    (as after ``su``): the real ``systemctl --user`` cannot reach one."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    return {
        **environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "PATH": os.environ["PATH"],
    }


def test_without_a_user_manager_the_unit_is_written_and_the_commands_shown(
    desktop: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    need("systemctl")
    make_runtime(desktop, keyring_backend, sim).close()
    cli, out, err = cli_for(desktop, keyring_backend)
    assert main(["service", "install"], cli) == EXIT_FAILURE
    unit = Path(desktop["XDG_CONFIG_HOME"]) / "systemd" / "user" / UNIT_NAME
    assert f"Служба записана: {unit}" in out.getvalue()
    said = err.getvalue()
    assert "Не удалось связаться с systemd пользователя (Failed to connect to bus" in said
    assert "systemctl --user daemon-reload" in said
    assert "systemctl --user enable --now hh-raiser.service" in said
    assert "loginctl enable-linger" in out.getvalue()  # no logind here, or linger off
    text = unit.read_text()
    assert f'Environment="HH_RAISER_HOME={desktop["HH_RAISER_HOME"]}"' in text
    assert "run --headless" in text
    # status says it is not running; uninstall removes it and says what is left
    cli, out, err = cli_for(desktop, keyring_backend)
    assert main(["service", "status"], cli) == EXIT_FAILURE
    assert "Работает: unknown" in out.getvalue()
    cli, out, err = cli_for(desktop, keyring_backend)
    assert main(["service", "uninstall"], cli) == EXIT_FAILURE
    assert not unit.exists() and "systemctl --user stop hh-raiser.service" in err.getvalue()
    cli, out, err = cli_for(desktop, keyring_backend)
    assert main(["service", "uninstall"], cli) == EXIT_OK
    assert "не установлена" in out.getvalue()


def test_without_systemd_the_other_ways_are_named(
    desktop: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, tmp_path: Path
) -> None:
    """An Alpine server or a container: no systemctl at all."""
    make_runtime(desktop, keyring_backend, sim).close()
    nothing = tmp_path / "empty-bin"
    nothing.mkdir()
    cli, _, err = cli_for({**desktop, "PATH": str(nothing)}, keyring_backend)
    assert main(["service", "install"], cli) == EXIT_FAILURE
    assert "нет systemd" in err.getvalue() and "hh-raiser raise-now" in err.getvalue()


def test_start_at_login_is_an_alternative_not_a_second_instance(
    desktop: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    make_runtime(desktop, keyring_backend, sim).close()
    autostart = LinuxAutostart(
        ["/usr/bin/hh-raiser"], Path(desktop["XDG_CONFIG_HOME"]) / "autostart"
    )
    autostart.enable()
    unit = Path(desktop["XDG_CONFIG_HOME"]) / "systemd" / "user" / UNIT_NAME
    # nobody at the terminal to ask: refused, nothing changed
    cli, out, err = cli_for(desktop, keyring_backend)
    cli.stdin = io.StringIO("")
    assert main(["service", "install"], cli) == EXIT_FAILURE
    assert "--replace-autostart" in err.getvalue() and str(autostart.path) in err.getvalue()
    assert autostart.is_enabled() and not unit.exists()

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    # asked at a terminal, the user says no
    cli, out, err = cli_for(desktop, keyring_backend)
    cli.stdin, cli.prompt = Terminal(), lambda question: "n"
    assert main(["service", "install"], cli) == EXIT_FAILURE
    assert autostart.is_enabled() and not unit.exists()
    # ... and yes
    cli, out, err = cli_for(desktop, keyring_backend)
    cli.stdin, cli.prompt = Terminal(), lambda question: "да"
    main(["service", "install"], cli)
    assert not autostart.is_enabled() and unit.exists()
    assert "Запуск при входе в систему выключен" in out.getvalue()
    # the flag does it without asking
    autostart.enable()
    cli, out, err = cli_for(desktop, keyring_backend)
    main(["service", "install", "--replace-autostart"], cli)
    assert not autostart.is_enabled()


def test_a_missing_key_file_is_refused_before_anything_is_written(
    desktop: dict[str, str], keyring_backend: MemoryKeyring, tmp_path: Path
) -> None:
    missing = tmp_path / "hh-raiser.key"
    cli, _, err = cli_for({**desktop, "HH_RAISER_SECRETS_KEY_FILE": str(missing)}, keyring_backend)
    assert main(["service", "install"], cli) == EXIT_FAILURE
    assert f"hh-raiser secrets new-key {missing}" in err.getvalue()
    assert not (Path(desktop["XDG_CONFIG_HOME"]) / "systemd").exists()


# ---- a real systemd user manager ------------------------------------------------------


class UserManager:
    """``systemd --user`` in a private mount namespace: there a tmpfs on /run/systemd
    says "booted with systemd", which the manager asks for, without touching the
    machine's own /run. The runtime folder is a shared mount there, so the
    credentials systemd mounts in its helper reach the service."""

    SCRIPT = (
        "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system"
        ' && mount --bind "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR"'
        ' && mount --make-shared "$XDG_RUNTIME_DIR"'
        " && exec /usr/lib/systemd/systemd --user"
    )
    UNITS_OF_OTHERS = ("/usr/lib/systemd/user", "/etc/systemd/user")

    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ
        self._mask_sockets()
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", self.SCRIPT],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        private = Path(environ["XDG_RUNTIME_DIR"]) / "systemd" / "private"
        deadline = time.monotonic() + 20
        while not private.exists() and self.process.poll() is None:
            assert time.monotonic() < deadline, "systemd --user did not come up"
            time.sleep(0.1)

    def _mask_sockets(self) -> None:
        """No user bus, keyring or agents of this machine's user: the service must
        use the session bus the test gives it (its throwaway keyring), never start
        the user's real keyring daemon."""
        units = Path(self.environ["XDG_CONFIG_HOME"]) / "systemd" / "user"
        units.mkdir(parents=True)
        names = {"dbus.service", "gnome-keyring-daemon.service"}
        for folder in self.UNITS_OF_OTHERS:
            names.update(p.name for p in Path(folder).rglob("*.socket"))
        for name in names:
            (units / name).symlink_to(os.devnull)

    @property
    def up(self) -> bool:
        return self.process.poll() is None

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["systemctl", "--user", *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def why(self, log_file: Path) -> str:
        """For a failed assertion: the unit's state and the end of the app's log."""
        state = self.systemctl("status", UNIT_NAME, "--no-pager").stdout
        log = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else "(no log)"
        return f"{state}\n--- {log_file} ---\n{log}"

    def show(self, prop: str) -> str:
        return self.systemctl("show", UNIT_NAME, f"--property={prop}", "--value").stdout.strip()

    def stop(self) -> None:
        if self.up:
            self.systemctl("exit")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path: Path, sim: HHSimulator, tg: TelegramSimulator) -> dict[str, str]:
    """A server's shell: no D-Bus session (so no keyring), the app's home, the
    simulators; the secrets in the encrypted file, its key in a file of the user's."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if k != "DBUS_SESSION_BUS_ADDRESS" and not k.startswith(("XDG_", "HH_RAISER_"))
    }
    return {
        **kept,
        "HH_RAISER_HOME": str(tmp_path / "home"),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_WEB_URL": sim.url,
        "HH_RAISER_TELEGRAM_URL": tg.url,
        "HH_RAISER_TIMEOUT": "30",  # a raise hh.ru holds is not cut short by the timeout
        "HH_RAISER_SECRET_STORE": "encrypted-file",
        "HH_RAISER_SECRETS_KEY_FILE": str(tmp_path / TRICKY / "secrets key"),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def user_manager(server: dict[str, str], tmp_path: Path) -> Iterator[UserManager]:
    need("systemctl")
    need("unshare")
    if not Path("/usr/lib/systemd/systemd").exists() or os.geteuid() != 0:
        pytest.skip("a private systemd --user needs /usr/lib/systemd/systemd and root (unshare)")
    runtime = tempfile.mkdtemp(prefix="sd")  # short: the notify socket's path is in it
    os.chmod(runtime, 0o700)
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "XDG_RUNTIME_DIR": runtime,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    manager = UserManager(environ)
    if not manager.up:
        out = manager.process.stdout.read() if manager.process.stdout else ""
        shutil.rmtree(runtime, ignore_errors=True)
        pytest.skip(f"systemd --user cannot run here: {out.strip() or 'it exited'}")
    try:
        yield manager
    finally:
        manager.stop()
        shutil.rmtree(runtime, ignore_errors=True)


def accepted(sim: HHSimulator) -> int:
    return len([p for p in sim.publishes if p.accepted])


@pytest.mark.integration
def test_the_service_under_a_real_systemd_user_manager(
    server: dict[str, str],
    sim: HHSimulator,
    tg: TelegramSimulator,
    tmp_path: Path,
    user_manager: UserManager,
) -> None:
    """A server without D-Bus: the key comes to the service as a systemd credential.
    Installed, ready (notify), raising with refreshed tokens; one instance; a raise
    that hangs gets the process killed by the watchdog and restarted, and the new
    process works with the rotated tokens; uninstalled. No secret in plain text."""
    script = launcher(tmp_path / TRICKY)
    env = {
        **server,
        "XDG_RUNTIME_DIR": user_manager.environ["XDG_RUNTIME_DIR"],
        "XDG_CONFIG_HOME": user_manager.environ["XDG_CONFIG_HOME"],
        "APPIMAGE": str(script),  # launch_command: this one executable
    }
    key = Path(env["HH_RAISER_SECRETS_KEY_FILE"])
    assert hh(env, "secrets", "new-key", str(key)).returncode == 0
    imported = sim.issue_tokens()
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"ACCESS_TOKEN={imported.access_token}\nREFRESH_TOKEN={imported.refresh_token}\n"
        f"TELEGRAM_TOKEN={tg.token}\nCHAT_ID={CHAT}\nCONTACT_EMAIL=server@example.com\n"
    )
    assert hh(env, "import-env", str(dotenv)).returncode == 0
    assert hh(env, "config", "set", "margin_seconds", "0").returncode == 0
    dotenv.unlink()
    sim.config.cooldown = 3600
    for resume_id in sim.resumes:
        sim.open_window(resume_id, in_seconds=3600)
    sim.make_due(A)
    sim.expire_all_tokens()  # the service's first act is a refresh

    installed = hh(env, "service", "install")
    log_file = app_paths(env).log_file
    assert installed.returncode == 0, installed.stderr + user_manager.why(log_file)
    assert "Служба hh-raiser работает" in installed.stdout
    # Type=notify: "active" only once READY=1 came; STATUS= shows in systemctl
    assert user_manager.systemctl("is-active", UNIT_NAME).stdout.strip() == "active"
    assert user_manager.show("WatchdogUSec") == "10min"
    wait_until(lambda: accepted(sim) == 1, 30)
    wait_until(lambda: "Следующее поднятие" in user_manager.show("StatusText"), 10)
    status = hh(env, "service", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Работает: active" in status.stdout and "Включена: enabled" in status.stdout
    assert exec_line([str(script)]) in status.stdout and not status.stderr
    # the key reached the service as the systemd credential, the store's only key source
    pid = int(user_manager.show("MainPID"))
    service_env = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
        if "=" in item
    )
    # read as the service sees its files (its mount namespace is not this one's)
    credentials = Path(f"/proc/{pid}/root{service_env['CREDENTIALS_DIRECTORY']}")
    assert (credentials / "hh-raiser-secrets-key").read_bytes() == key.read_bytes()
    assert "HH_RAISER_SECRETS_KEY_FILE" not in service_env
    assert "DBUS_SESSION_BUS_ADDRESS" not in service_env
    assert service_env["HH_RAISER_HOME"] == env["HH_RAISER_HOME"]
    assert service_env["HH_RAISER_SECRET_STORE"] == "encrypted-file"
    # one instance: the service holds the lock
    second = hh(env, "run", "--headless", timeout=20)
    assert second.returncode == 5
    # a raise that hangs: the loop stops pinging, systemd kills and restarts the app
    dropin = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / f"{UNIT_NAME}.d"
    dropin.mkdir()
    (dropin / "quick.conf").write_text("[Service]\nWatchdogSec=3\nRestartSec=1\n")
    assert user_manager.systemctl("daemon-reload").returncode == 0
    assert user_manager.systemctl("restart", UNIT_NAME).returncode == 0
    first_pid = int(user_manager.show("MainPID"))
    history = app_paths(env).history_file
    raised_lines = history.read_text().count('"raised"')
    hold = 12.0
    sim.expire_all_tokens()  # the new process must refresh with the rotated token
    sim.inject("hold", "/resumes/", method="POST", seconds=hold)
    sim.make_due(A)
    held_from = time.monotonic()
    raised_before = accepted(sim)
    stuck = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "raise-now", "--resume", A],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: user_manager.show("NRestarts") == "1", 30)
        wait_until(lambda: user_manager.show("ActiveState") == "active", 30)
        assert int(user_manager.show("MainPID")) != first_pid
        # the new process writes the raise down: hh.ru's late answer to the hung
        # request (read back at start), or its own raise if it came first; never two
        wait_until(lambda: history.read_text().count('"raised"') > raised_lines, 30)
        time.sleep(max(0.0, held_from + hold + 1 - time.monotonic()))
        assert accepted(sim) == raised_before + 1
    finally:
        stuck.send_signal(signal.SIGTERM)
        stuck.wait(30)
    refreshes = [c for c in sim.calls("POST", "/token") if "refresh_token" in str(c.form)]
    assert len(refreshes) >= 2  # before the first raise, and by the restarted process
    # uninstall: stopped, disabled, gone
    pid = int(user_manager.show("MainPID"))
    removed = hh(env, "service", "uninstall")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not (Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / UNIT_NAME).exists()
    assert user_manager.systemctl("is-active", UNIT_NAME).stdout.strip() in ("inactive", "")
    last_pid = int(user_manager.show("MainPID") or 0)
    assert last_pid == 0 and not Path(f"/proc/{pid}").exists()
    # no secret in plain text in any file the app or the unit wrote
    secrets = [imported.access_token, imported.refresh_token, tg.token.split(":", 1)[1]]
    secrets += [v for t in sim.tokens.values() for v in (t.access_token, t.refresh_token)]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key]
    assert any(p.name.endswith(".log") for p in written)
    for path in written:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}… in {path}"
