"""What the built app (``scripts/build``) carries but never reads: the list to slim
``build.spec`` by, with sizes.

How: a copy of ``dist/hh-raiser`` gets every file's access time set a day before its
modification time; then the end-to-end tests of the built app run against the copy
(``tests/test_built_app.py`` and the ``[built]`` cases of ``tests/test_tray_e2e.py``:
the tray under Xvfb with its menu, a raise, the settings window (Tk), signals; the
sign-in window with the system's WebKitGTK; self-check; ``run --headless``; both
sign-in flows). The file system (relatime) moves a file's access time on its first
read after that, and reading includes ``mmap`` and the dynamic loader mapping a
library, in any process the app starts: what still has the old time was never opened
for reading, by anything.

Not every file listed can go: the virtual desktop's tray (trayer) speaks only XEmbed,
so AppIndicator's libraries stay unread there and are needed on GNOME and KDE; a
library another bundled library names as DT_NEEDED must stay while that one does (the
``needed by`` column says which). ``build.spec`` says, group by group, what it leaves out.

Run through ``scripts/bench bundle-usage`` (a throwaway keyring and session bus).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent
TESTS = ("tests/test_built_app.py", "tests/test_tray_e2e.py")
SELECT = "built"  # all of test_built_app.py, and the built app's cases of the tray's
DAY = 24 * 3600
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Usage:
    """The bundle's files (relative to its ``_internal`` folder, with their sizes) split
    by whether the scenarios read them, and which bundled files need which library."""

    read: dict[str, int]
    unread: dict[str, int]
    readers: dict[str, list[str]]  # a file read: the tests during which it was
    libraries: set[str]  # the ELF files' paths
    needed_by: dict[str, list[str]]  # a library's file name: the bundled files naming it
    failed: list[str]


def age_access_times(folder: Path) -> None:
    """Access time a day before modification time: relatime updates it on the next read."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            mtime = path.stat().st_mtime
            os.utime(path, (mtime - DAY, mtime))


def was_read(path: Path) -> bool:
    stat = path.stat()
    return stat.st_atime > stat.st_mtime


def dt_needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file; none for anything else."""
    with path.open("rb") as file:
        if file.read(4) != b"\x7fELF":
            return []
    dynamic = subprocess.run(
        ["readelf", "-d", "-W", str(path)], capture_output=True, text=True, check=False
    ).stdout
    return [
        line.split("[", 1)[1].rstrip("]")
        for line in dynamic.splitlines()
        if "(NEEDED)" in line and "[" in line
    ]


def scenarios() -> list[str]:
    """The test ids of the built app's end-to-end tests."""
    listed = subprocess.run(
        [*PYTEST, "--collect-only", "-k", SELECT, *TESTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in listed.splitlines() if "::" in line]


def run_scenario(test: str, exe: Path, log: Path) -> bool:
    """One end-to-end test against ``exe``; True when it passed."""
    env = {**os.environ, "HH_RAISER_BUILT_EXE": str(exe), "PYTHONPATH": str(ROOT)}
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run(
            [*PYTEST, test],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return done.returncode == 0


def measure(folder: Path, log: Path) -> Usage:
    with tempfile.TemporaryDirectory(prefix="hh-raiser-usage-") as tmp:
        copy = Path(tmp) / folder.name
        shutil.copytree(folder, copy, symlinks=True)
        internal = copy / "_internal"
        files = {
            str(path.relative_to(internal if internal in path.parents else copy)): path
            for path in sorted(copy.rglob("*"))
            if path.is_file() and not path.is_symlink()
        }
        # read before the ageing: reading the ELF headers must not count as use
        needed_by: dict[str, list[str]] = {}
        for path in files.values():
            for library in dt_needed(path):
                needed_by.setdefault(library, []).append(path.name)
        log.write_text("", encoding="utf-8")
        readers: dict[str, list[str]] = {}
        failed: list[str] = []
        for test in scenarios():
            age_access_times(copy)  # each test's reads apart: which scenario needs what
            if not run_scenario(test, copy / folder.name, log):
                failed.append(test)
            for name, path in files.items():
                if was_read(path):
                    readers.setdefault(name, []).append(test.split("::", 1)[1])
        sizes = {name: path.stat().st_size for name, path in files.items()}
        return Usage(
            read={name: size for name, size in sizes.items() if name in readers},
            unread={name: size for name, size in sizes.items() if name not in readers},
            readers=readers,
            libraries={name for name in files if name.endswith(".so") or ".so." in name},
            needed_by=needed_by,
            failed=failed,
        )


def report(usage: Usage, smallest: int = 64 * 1024) -> dict[str, object]:
    """Unread libraries one by one, other unread files by folder, largest first; and
    the largest files read, with the tests that read them (one read only by the sign-in
    window may be a dependency of the system's WebKitGTK, which the system has)."""
    mib = 1024 * 1024
    groups: dict[str, int] = {}
    for name, size in usage.unread.items():
        key = name if name in usage.libraries or "/" not in name else f"{Path(name).parent}/"
        groups[key] = groups.get(key, 0) + size
    largest_read = sorted(usage.read.items(), key=lambda item: -item[1])[:20]
    return {
        "failed_tests": usage.failed,
        "read_files": len(usage.read),
        "read_mib": round(sum(usage.read.values()) / mib, 1),
        "unread_files": len(usage.unread),
        "unread_mib": round(sum(usage.unread.values()) / mib, 1),
        "unread_largest_kib": [
            [key, round(size / 1024), sorted(set(usage.needed_by.get(Path(key).name, [])))]
            for key, size in sorted(groups.items(), key=lambda kv: -kv[1])
            if size >= smallest
        ],
        "read_largest_kib": [
            [name, round(size / 1024), usage.readers[name]] for name, size in largest_read
        ],
    }


def bundle_usage(folder: Path, lists: Path | None = None) -> dict[str, object]:
    """Runs the scenarios and returns the report; the tests' output goes to a log file,
    and with ``lists`` every file read and unread, with its size, to that JSON file."""
    if not (folder / folder.name).is_file():
        raise SystemExit(f"no built app in {folder}: run scripts/build")
    log = Path(tempfile.gettempdir()) / "hh-raiser-bundle-usage.log"
    usage = measure(folder, log)
    if lists is not None:
        lists.write_text(
            json.dumps({"unread": usage.unread, "read": usage.read, "readers": usage.readers})
        )
    return {**report(usage), "tests_log": str(log)}
