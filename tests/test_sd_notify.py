"""systemd's notify protocol: a real datagram socket stands for systemd. READY=1 once
the scheduler runs, WATCHDOG=1 from the scheduler's loop (so a hung loop goes
silent and systemd would restart it), STATUS= with the next raise, STOPPING=1 on
SIGTERM — in-process pieces and the real ``run --headless`` process."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tray_app.adapters.os_service.sd_notify import Notifier, watchdog_seconds
from tray_app.core.scheduler import Keepalive, Scheduler
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths

from .conftest import CHAT, make_runtime, wait_until
from .test_cli_integration import A, env, hh, import_tokens, require_secret_service

__all__ = ["env"]  # a fixture shared with the command's own tests


@dataclass(frozen=True)
class Message:
    at: float  # time.monotonic() on arrival
    fields: dict[str, str]


class FakeSystemd:
    """The receiving end of ``$NOTIFY_SOCKET``: a bound datagram socket and a thread
    that keeps every message with its arrival time."""

    def __init__(self, address: str) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address if not address.startswith("@") else "\0" + address[1:])
        self.socket.settimeout(0.1)
        self.address = address
        self.messages: list[Message] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                continue
            lines = data.decode("utf-8").split("\n")
            fields = dict(line.split("=", 1) for line in lines if "=" in line)
            self.messages.append(Message(time.monotonic(), fields))

    def times(self, key: str) -> list[float]:
        return [m.at for m in list(self.messages) if key in m.fields]

    def values(self, key: str) -> list[str]:
        return [m.fields[key] for m in list(self.messages) if key in m.fields]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def systemd() -> Iterator[FakeSystemd]:
    """An abstract socket, as systemd itself uses (``@…`` in ``$NOTIFY_SOCKET``)."""
    fake = FakeSystemd(f"@hh-raiser-test/{uuid.uuid4().hex}")
    yield fake
    fake.close()


def test_a_path_socket_and_an_abstract_one_both_receive() -> None:
    with tempfile.TemporaryDirectory(prefix="sd") as folder:  # short: sun_path is 108 bytes
        for address in (os.path.join(folder, "notify"), f"@hh-raiser-test/{uuid.uuid4().hex}"):
            fake = FakeSystemd(address)
            try:
                notifier = Notifier.from_environ({"NOTIFY_SOCKET": address})
                assert notifier is not None
                notifier.ready("Следующее поднятие: 14:00")
                notifier.status("Следующее поднятие: 14:00")  # unchanged: not sent again
                notifier.status("Приостановлено\nпользователем")  # one line
                notifier.ping()
                notifier.stopping()
                received = fake.messages
                wait_until(lambda: len(received) == 4)  # noqa: B023 - waited for in the loop
                assert [m.fields for m in fake.messages] == [
                    {"READY": "1", "STATUS": "Следующее поднятие: 14:00"},
                    {"STATUS": "Приостановлено пользователем"},
                    {"WATCHDOG": "1"},
                    {"STOPPING": "1"},
                ]
                notifier.close()
            finally:
                fake.close()


def test_no_socket_no_notifier_and_the_watchdog_is_for_its_own_process() -> None:
    assert Notifier.from_environ({}) is None
    assert Notifier.from_environ({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "120000000"}) == 120.0
    assert watchdog_seconds({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": str(os.getpid())}) == 120
    # inherited by a child process: not this process's watchdog
    assert watchdog_seconds({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "soon"}) is None


def test_a_send_to_a_socket_gone_is_logged_once_and_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = Notifier(f"\0hh-raiser-test/{uuid.uuid4().hex}")  # nobody listens
    assert notifier.send("WATCHDOG=1") is False
    assert notifier.send("WATCHDOG=1") is False
    assert len([r for r in caplog.records if "could not notify systemd" in r.message]) == 1
    notifier.close()


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_the_scheduler_loop_beats_and_a_hung_job_stops_the_beats(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = make_runtime(environ, keyring_backend, sim)
    beats: list[float] = []
    scheduler = Scheduler(
        runtime.engine,
        runtime.clock,
        refresh_minutes=lambda: 60,
        keepalive=Keepalive(lambda: beats.append(time.monotonic()), every=0.2),
    )
    runtime.bus.subscribe(scheduler.on_event)
    scheduler.start()
    try:
        wait_until(lambda: len(beats) >= 5)
        assert max(gaps(beats)) < 1.0  # idle: a beat every 0.2 s, not every 15 s heartbeat
        release = threading.Event()
        hung = scheduler.submit(lambda: release.wait(10))  # a job that does not return
        time.sleep(0.3)
        count = len(beats)
        time.sleep(1.5)
        assert len(beats) == count, "beats went on while the loop was stuck"
        release.set()
        hung.result(5)
        wait_until(lambda: len(beats) >= count + 3)
    finally:
        scheduler.stop()
        runtime.close()


@pytest.mark.integration
def test_run_headless_under_systemd_ready_watchdog_status_and_stopping(
    env: dict[str, str],
    sim: HHSimulator,
    tg: TelegramSimulator,
    tmp_path: Path,
    systemd: FakeSystemd,
) -> None:
    """The real process: READY=1 with a STATUS, WATCHDOG=1 every WATCHDOG_USEC/2 (here
    0.5 s) while idle; a raise held by hh.ru for 4 s stops the pings for as long;
    SIGTERM sends STOPPING=1 and exits 0."""
    require_secret_service()
    env = {**env, "HH_RAISER_TIMEOUT": "30"}
    import_tokens(env, sim, tmp_path, telegram_token=tg.token, chat_id=CHAT)
    sim.config.cooldown = 3600  # one raise, then quiet
    for resume_id in sim.resumes:
        sim.open_window(resume_id, in_seconds=3600)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "run", "--headless"],
        env={**env, "NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "1000000"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: systemd.times("READY"), 20)
        assert app_paths(env).control_file.exists()  # ready: commands reach it
        assert systemd.values("STATUS"), "READY=1 came without a STATUS"
        wait_until(lambda: len(systemd.times("WATCHDOG")) >= 5, 10)
        idle = systemd.times("WATCHDOG")
        assert max(gaps(idle)) < 1.5, gaps(idle)  # every 0.5 s (a busy machine may lag)
        # hh.ru holds the raise's answer: the loop is stuck in it, the pings stop
        sim.make_due(A)
        sim.inject("hold", "/resumes/", method="POST", seconds=4)
        raised = hh(env, "raise-now", "--resume", A)
        assert raised.returncode == 0, raised.stdout + raised.stderr
        count = len(systemd.times("WATCHDOG"))
        wait_until(lambda: len(systemd.times("WATCHDOG")) >= count + 4, 10)
        pings = systemd.times("WATCHDOG")
        assert max(gaps(pings)) > 3.5, "the pings went on while the loop hung"
        assert sorted(gaps(pings))[-2] < 2.0, "only the hung raise may stop the pings"
        assert systemd.values("STATUS")[-1].startswith("Всё в порядке. Следующее поднятие: ")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert systemd.times("STOPPING"), "no STOPPING=1 on SIGTERM"
    assert systemd.times("STOPPING")[0] > systemd.times("READY")[0] > started
