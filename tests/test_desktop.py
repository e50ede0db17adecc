"""The virtual desktop's own tools, on a real X server (Xvfb)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import require_tools
from .desktop import _start_xvfb, close_window

RESUME_AFTER = 0.5
"""How long the X server is held still after the closer's last question to it."""


@pytest.fixture
def xvfb() -> Iterator[tuple[str, int]]:
    """A bare X server: its display and its process id."""
    require_tools("Xvfb", "xdotool", installed_by="scripts/test")
    display, process = _start_xvfb()
    try:
        yield display, process.pid
    finally:
        os.kill(process.pid, signal.SIGCONT)  # never leave it stopped
        process.terminate()
        process.wait(timeout=10)


def test_a_close_request_reaches_the_window_from_a_server_slow_to_read_it(
    xvfb: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded CI machine: the X server reads the closer's request only after the
    closer has hung up. It drops what a gone client left unread, so the window
    never got ``WM_DELETE_WINDOW`` (the sign-in window "did not exit"). Here the
    server is held still right after the closer's last round trip, as load did."""
    from Xlib import X, display  # type: ignore[import-untyped]

    name, server = xvfb
    receiver = display.Display(name)
    screen = receiver.screen()
    window = screen.root.create_window(0, 0, 10, 10, 0, screen.root_depth)
    window.map()
    receiver.sync()
    delete_window = receiver.intern_atom("WM_DELETE_WINDOW")

    intern_atom = display.Display.intern_atom

    def then_hold_the_server(self: Any, atom_name: str, *args: Any, **kwargs: Any) -> Any:
        atom = intern_atom(self, atom_name, *args, **kwargs)
        if atom_name == "WM_DELETE_WINDOW":  # the closer's last question before it sends
            os.kill(server, signal.SIGSTOP)
            threading.Timer(RESUME_AFTER, os.kill, (server, signal.SIGCONT)).start()
        return atom

    monkeypatch.setattr(display.Display, "intern_atom", then_hold_the_server)
    close_window({"DISPLAY": name}, str(window.id))
    monkeypatch.undo()

    received: list[int] = []
    deadline = time.monotonic() + RESUME_AFTER + 5
    while not received and time.monotonic() < deadline:
        while receiver.pending_events():
            event = receiver.next_event()
            if event.type == X.ClientMessage and event.window.id == window.id:
                received.append(event.data[1][0])
        time.sleep(0.05)
    receiver.close()
    assert received == [delete_window]
