"""Where the app keeps its files: platform folders, or one folder under ``HH_RAISER_HOME``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from tray_app import APP_ID
from tray_app.storage.privacy import private_folder, tighten

HOME_ENV = "HH_RAISER_HOME"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    keyring_service: str = APP_ID
    """``hh-raiser``; under ``HH_RAISER_HOME`` the home's path is appended, so a
    portable or test home never reads or overwrites the user's own tokens."""
    log_root: Path | None = None
    """The app's own folder that holds ``log_dir``, when that is not ``log_dir``
    itself: on Linux the log is in ``~/.local/state/hh-raiser/log``."""

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.jsonl"

    @property
    def in_flight_file(self) -> Path:
        """Raises sent whose outcome is not yet in the history."""
        return self.data_dir / "raises-in-flight.json"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "instance.lock"

    @property
    def control_file(self) -> Path:
        return self.data_dir / "control.json"

    @property
    def telegram_outbox_file(self) -> Path:
        """Important notifications not yet delivered to Telegram."""
        return self.data_dir / "telegram-outbox.json"

    @property
    def telegram_offset_file(self) -> Path:
        return self.data_dir / "telegram-offset.json"

    @property
    def update_state_file(self) -> Path:
        """The update check: when it last asked, and the latest release it found."""
        return self.data_dir / "update-check.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{APP_ID}.log"

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """The folders that are ours alone, everything in them included; never their
        parents (``~/.config``, ``~/.local/share``, the folder ``HH_RAISER_HOME``
        names), which belong to the user and other programs."""
        return tuple(dict.fromkeys((self.config_dir, self.data_dir, self.log_root or self.log_dir)))

    def ensure(self) -> AppPaths:
        """Creates the folders, 0700 (POSIX), or takes others' access from them."""
        for folder in dict.fromkeys((*self.private_dirs, self.log_dir)):
            folder.parent.mkdir(parents=True, exist_ok=True)  # the system's, as it makes them
            private_folder(folder)
        return self

    def make_private(self) -> list[Path]:
        """At start: what an older version (or another program) left open to others
        in our folders is made private, and the folders are made; returns what
        changed, for the log."""
        changed = tighten(self.private_dirs)
        self.ensure()
        return changed


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    """``HH_RAISER_HOME`` puts everything under one folder (tests, portable use)."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(root / "config", root / "data", root / "logs", f"{APP_ID}@{root.resolve()}")
    log_dir = Path(platformdirs.user_log_dir(APP_ID, appauthor=False))
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
        log_dir,
        # Linux: ~/.local/state/hh-raiser/log; macOS ~/Library/Logs/hh-raiser is its own
        log_root=log_dir.parent if log_dir.parent.name == APP_ID else None,
    )
