"""The crash soak, short: ``kill -9`` of ``run --headless`` during token refreshes,
cookie rotations, raises and settings writes, against the simulator and a real Secret
Service (see ``benchmarks/crash_soak.py``; ``scripts/bench crash-soak`` runs it long)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.crash_soak import crash_soak

from .test_cli_integration import secret_service  # noqa: F401  (the autouse check)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("transport", ["api", "web"])
def test_kill_9_at_any_moment_loses_nothing_outside_the_named_window(transport: str) -> None:
    result = crash_soak(transport, 8, [sys.executable, "-m", "tray_app"], seed=7)
    summary = result.summary()
    assert result.accepted_raises >= 2, summary  # raises happened between the kills
    assert (result.refreshes if transport == "api" else result.rotations) >= 2, summary
    assert sum(not r.trigger_missed for r in result.rounds) >= 6, summary  # aimed kills
    assert result.premature_raises == 0, summary  # nothing raised again in a cooldown
    assert result.losses_outside_window == 0, summary
    assert all(r.settings_ok for r in result.rounds), summary
    assert result.history_missing == 0, summary  # every raise hh.ru took is on record
