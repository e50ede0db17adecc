"""The README reads right for a new user: each half in its own language, each with a
screenshot the demo makes, and it says how to get the ``hh-raiser`` command."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app.simulator.hh import SimConfig, demo_resumes

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUSSIAN, ENGLISH = README.split("\n# HH Raiser (English)\n")
CYRILLIC = re.compile(r"[\u0400-\u04ff]+(?:[ -][\u0400-\u04ff]+)*")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def test_the_english_half_is_in_english() -> None:
    """Russian there only as data: the demo's resume titles."""
    titles = {resume.title for resume in demo_resumes(datetime.now(UTC), SimConfig())}
    words = {word for title in titles for word in CYRILLIC.findall(title)}
    russian = [
        line
        for line in ENGLISH.splitlines()
        if any(found not in words for found in CYRILLIC.findall(line))
    ]
    assert russian == []


@pytest.mark.parametrize(
    ("half", "screenshot"),
    [(RUSSIAN, "docs/tray-menu.png"), (ENGLISH, "docs/tray-menu-en.png")],
    ids=["ru", "en"],
)
def test_each_half_shows_the_demos_menu_and_says_where_hh_raiser_is(
    half: str, screenshot: str
) -> None:
    assert f"]({screenshot})" in half and (ROOT / screenshot).is_file()
    commands = "\n".join(FENCE.findall(half))
    for way in ("source .venv/bin/activate", "pipx install .", ".venv/bin/hh-raiser"):
        assert way in commands
