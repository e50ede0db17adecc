"""Files only the user can touch: the app's folders 0700, its files 0600.

History, settings, the log and the instance lock say when and where the user looks
for work; another account on the machine must not read them, nor hold the lock to
keep HH Raiser from starting.

POSIX only: on Windows ``chmod`` only toggles the read-only flag and there is no
umask, and the per-user AppData folders are private to their user already, so every
function here does nothing there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

POSIX = os.name == "posix"
OWNER_ONLY = 0o700
"""The permission bits kept: the owner's; group and others get nothing."""
PRIVATE_UMASK = 0o077

log = logging.getLogger(__name__)
_umask_lock = threading.Lock()
_user_umask: int | None = None  # the umask the process started with, once restricted


def restrict_new_files() -> None:
    """Every file this process creates from now on is 0600 and every folder 0700,
    whoever creates it (the log, history, the lock, the web view's profile).

    Called once, first thing, by the real process; our own child processes (the
    settings and sign-in windows) do the same, other programs we start get the
    user's umask back (:func:`user_umask`)."""
    global _user_umask
    if not POSIX:
        return
    with _umask_lock:
        previous = os.umask(PRIVATE_UMASK)
        if _user_umask is None:
            _user_umask = previous


def user_umask() -> int:
    """The umask the user gave this process: for programs we start that are not us
    (``xdg-open``); -1 (``subprocess``'s "leave it") when it was never changed."""
    return -1 if _user_umask is None else _user_umask


@contextlib.contextmanager
def users_umask() -> Iterator[None]:
    """The user's umask for a call that starts a program we cannot pass it to
    (``webbrowser.open``): a browser started from here must not make the user's
    downloads private. Another thread creating a file meanwhile gets the user's
    mode, inside our 0700 folders; the next start tightens it."""
    if _user_umask is None:
        yield
        return
    with _umask_lock:
        restricted = os.umask(_user_umask)
        try:
            yield
        finally:
            os.umask(restricted)


def private_folder(folder: Path) -> None:
    """Creates ``folder`` 0700 (missing parents too), or takes others' access away
    from the one there. Only for folders that are ours alone: never ``~/.config``."""
    folder.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
    if not POSIX:
        return
    try:
        _restrict(folder, os.stat(folder).st_mode)
    except OSError as exc:  # another owner's folder: what we can do in it still works
        log.warning("could not make %s private: %s", folder, exc)


def tighten(roots: Iterable[Path]) -> list[Path]:
    """Takes group and other access from every folder and file under ``roots`` (an
    older version left them 0755 and 0644); returns what changed.

    Symbolic links are neither changed nor followed. A folder is tightened before
    anything in it is looked at, so once a root is 0700 nobody else can swap an
    entry for a link between our look and our change. What cannot be changed
    (another owner's file) is left as it is: the app still starts."""
    changed: list[Path] = []
    if not POSIX:
        return changed
    for root in roots:
        with contextlib.suppress(OSError):
            if _restrict(root, os.stat(root).st_mode):
                changed.append(root)
        for folder, dirs, files in os.walk(root, followlinks=False):
            for name in (*dirs, *files):
                path = Path(folder, name)
                try:
                    info = os.lstat(path)
                    if stat.S_ISLNK(info.st_mode):
                        continue
                    if _restrict(path, info.st_mode):
                        changed.append(path)
                except OSError:
                    if name in dirs:
                        dirs.remove(name)  # still open to others: not ours to walk
    return changed


def _restrict(path: Path, mode: int) -> bool:
    """Drops group and other bits (0755 → 0700, 0644 → 0600); True if it changed."""
    if not stat.S_IMODE(mode) & ~OWNER_ONLY:
        return False
    new = stat.S_IMODE(mode) & OWNER_ONLY
    if os.chmod in os.supports_follow_symlinks:  # lchmod: macOS, BSDs
        os.chmod(path, new, follow_symlinks=False)
    else:  # Linux: ``path`` was just seen not to be a link, in a folder only we can change
        os.chmod(path, new)
    return True
