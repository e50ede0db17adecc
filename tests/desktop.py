"""A virtual desktop for tray tests: Xvfb, a system tray (trayer), xdotool, and
ImageMagick's ``import`` for screenshots. The session bus comes from
``scripts/with-test-keyring`` (dbus-run-session)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import require_tools

TOOLS = ("Xvfb", "trayer", "xdotool", "import")


@contextmanager
def virtual_desktop() -> Iterator[dict[str, str]]:
    """The environment of a fresh virtual screen with a system tray on it."""
    display, xvfb = _start_xvfb()
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    tray = subprocess.Popen(
        [
            *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
            *("--height", "32", "--transparent", "false", "--tint", "0x333333"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_for_window(env, "--class", "trayer")
        except AssertionError:
            tray.terminate()
            raise AssertionError(f"trayer on {display}: {tray.communicate()[1]!r}") from None
        yield env
    finally:
        for process in (tray, xvfb):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a loaded machine: do not fail the test for it
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def desktop() -> Iterator[dict[str, str]]:
    if not sys.platform.startswith("linux"):  # Windows and macOS runners: no X to drive
        pytest.skip("a virtual X desktop (Xvfb, xdotool): Linux only")
    require_tools(*TOOLS, installed_by="scripts/test")
    with virtual_desktop() as env:
        yield env


def _start_xvfb(attempts: int = 3) -> tuple[str, subprocess.Popen[bytes]]:
    """An Xvfb that answers X requests. Its socket file alone was seen to exist while
    the server was gone (trayer: "cannot open display"), so a client must get through;
    a server that dies is replaced by one on another free number. ``-noreset``: by
    default Xvfb resets when its last client leaves, so the probe's own disconnect
    opened a window in which the next client (trayer) was refused."""
    for _ in range(attempts):
        display = _free_display()
        xvfb = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"],
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while xvfb.poll() is None and time.monotonic() < deadline:
            answered = subprocess.run(
                ["xdotool", "getdisplaygeometry"],
                env={**os.environ, "DISPLAY": display},
                capture_output=True,
                timeout=10,
            )
            if answered.returncode == 0:
                return display, xvfb
            time.sleep(0.05)
        xvfb.terminate()
        xvfb.wait(timeout=10)
    raise AssertionError(f"Xvfb did not start in {attempts} attempts")


def _free_display() -> str:
    """A display number nobody uses, away from :0 (a stale :0 socket was seen to make
    the next server on :0 unreachable)."""
    for number in random.sample(range(100, 1000), 900):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return f":{number}"
    raise AssertionError("no free X display")


def xdotool(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=10)
    return result.stdout.strip()


def wait_for_window(env: dict[str, str], *search: str, timeout: float = 20) -> str:
    """The first window ``xdotool search`` finds (``--name REGEX`` or ``--class``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = xdotool(env, "search", *search)
        if found:
            return found.splitlines()[0]
        time.sleep(0.1)
    raise AssertionError(f"no window {search} within {timeout} s")


def window_gone(env: dict[str, str], window: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if window not in xdotool(env, "search", "--name", "").splitlines():
            return True
        time.sleep(0.1)
    return False


def screenshot(env: dict[str, str], path: Path) -> Path:
    subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, timeout=20)
    return path


def stack_dump(pid: int) -> str:
    """Where a process that would not end is stuck: each thread's Python and native
    stack (py-spy, when installed) and kernel wait channel. The app's windows also
    print their Python stacks to their stderr when sent SIGUSR2 (faulthandler)."""
    parts = []
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGUSR2)
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy:
        dump = subprocess.run(
            [spy, "dump", "--native", "--pid", str(pid)], capture_output=True, text=True, timeout=60
        )
        parts.append(dump.stdout + dump.stderr)
    else:
        time.sleep(1.0)  # for its faulthandler to write
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            parts.append(f"thread {task.name} {name}: {(task / 'wchan').read_text()}")
    return "\n".join(parts) or f"no trace of process {pid}"


def communicate_or_dump(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """``communicate`` that, when the process does not end in time, fails with where
    it is stuck (a hang seen once in a while under load must say where it was)."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        dump = stack_dump(process.pid)
        process.kill()
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a child of its holds the pipes
            err = "(its output is held open by a process it started)"
        raise AssertionError(
            f"process {process.pid} did not end within {timeout} s; its threads:\n{dump}\n"
            f"its stderr (with its stacks, on SIGUSR2):\n{(err or '')[-6000:]}"
        ) from None


def close_window(env: dict[str, str], window: str) -> None:
    """What a window manager's close button does: send ``WM_DELETE_WINDOW``. (No
    window manager runs here, and destroying the X window under a toolkit crashes it.)

    The request is waited for (``sync``) before the connection closes: an X server
    that sees a client hang up before it has read the client's requests drops them
    (a hang-up is an error to its poll loop), so a busy server lost the close and the
    window stayed open."""
    from Xlib import X, display, protocol  # type: ignore[import-untyped]

    screen = display.Display(env["DISPLAY"])
    try:
        target = screen.create_resource_object("window", int(window))
        message = protocol.event.ClientMessage(
            window=target,
            client_type=screen.intern_atom("WM_PROTOCOLS"),
            data=(32, [screen.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
        )
        target.send_event(message, event_mask=X.NoEventMask)
        screen.sync()  # the server has delivered it: hanging up cannot lose it now
    finally:
        screen.close()
