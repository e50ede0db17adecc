"""macOS: a LaunchAgent with RunAtLoad in ~/Library/LaunchAgents."""

from __future__ import annotations

import plistlib
from pathlib import Path

LABEL = "io.github.hh-raiser"


class MacAutostart:
    def __init__(self, command: list[str], agents_dir: Path) -> None:
        self.command = command
        self.path = agents_dir / f"{LABEL}.plist"

    def is_enabled(self) -> bool:
        try:
            agent = plistlib.loads(self.path.read_bytes())
        except (OSError, plistlib.InvalidFileException):
            return False
        return bool(agent.get("RunAtLoad")) and not agent.get("Disabled", False)

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        agent = {
            "Label": LABEL,
            "ProgramArguments": self.command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",  # the GUI session: the menu bar exists
        }
        self.path.write_bytes(plistlib.dumps(agent))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
