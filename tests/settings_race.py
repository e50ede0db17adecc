"""Processes writing settings.json at once, and the writes that did not survive.

Shared by ``tests/test_settings.py`` (a quick run) and ``benchmarks/bench.py
settings-race`` (the numbers in the README). Two kinds of writer, as the app has them:

``keys``: each process owns one setting (like ``config set``, a Telegram ``/pause``
    and the tray, each changing its own key) and sets it to a new value each time
    through ``SettingsStore.update``. A write is lost when, before the same process
    writes again, the file no longer has its value: another process wrote settings
    it had read before that write.
``list``: every write adds one resume id to ``enabled_resumes`` computed from the
    settings as they are (like the tray's per-resume switch). A write is lost when
    its id is missing from the file at the end.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from tray_app.storage.settings import Settings, SettingsStore, validate


def _clock(n: int) -> str:
    return f"{n // 60 % 24:02d}:{n % 60:02d}"


# one setting per process, and its n-th value as a user would type it
OWNED: tuple[tuple[str, Callable[[int], str]], ...] = (
    ("margin_seconds", lambda n: str(n + 1)),
    ("jitter_seconds", lambda n: str(n + 1)),
    ("redirect_port", lambda n: str(2000 + n)),
    ("refresh_minutes", lambda n: str(10 + n)),
    ("anchor_time", _clock),
    ("digest_time", _clock),
    ("contact_email", lambda n: f"w{n}@example.com"),
    ("client_id", lambda n: f"client{n}"),
    ("telegram_chat_id", lambda n: str(1000 + n)),
    ("telegram_api_url", lambda n: f"https://tg{n}.example.com"),
    ("web_host", lambda n: f"w{n}.hh.ru"),
)


def _add_resume(store: SettingsStore, resume_id: str) -> None:
    """Adds one id to what is enabled now."""

    def added(settings: Settings) -> dict[str, Any]:
        return {"enabled_resumes": (*(settings.enabled_resumes or ()), resume_id)}

    modify = getattr(store, "modify", None)
    if modify is not None:
        modify(added)
    else:  # the code before settings writes were serialized: the tray's load, then update
        store.update(**added(store.load()))


def _writer(
    path: str, index: int, writes: int, scenario: str, start: Barrier, report: Queue[int]
) -> None:
    """Runs in its own process; reports how many of its writes it saw lost."""
    store = SettingsStore(Path(path))
    start.wait()
    lost = 0
    if scenario == "list":
        for n in range(writes):
            _add_resume(store, f"p{index}w{n}")
    else:
        key, value = OWNED[index]
        for n in range(writes):
            if n and getattr(store.load(), key) != validate(key, value(n - 1)):
                lost += 1
            store.update(**{key: value(n)})
    report.put(lost)


def race(path: Path, processes: int, writes: int, scenario: str) -> dict[str, Any]:
    """``processes`` writers of ``writes`` each, started together; the writes lost."""
    if scenario == "keys" and processes > len(OWNED):
        raise ValueError(f"at most {len(OWNED)} processes own a setting each")
    store = SettingsStore(path)
    store.update(enabled_resumes=())
    context = multiprocessing.get_context("spawn")  # what separate programs would be
    start = context.Barrier(processes + 1)
    report: Queue[int] = context.Queue()
    writers = [
        context.Process(target=_writer, args=(str(path), i, writes, scenario, start, report))
        for i in range(processes)
    ]
    for writer in writers:
        writer.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    seen_lost = sum(report.get(timeout=600) for _ in writers)
    seconds = time.perf_counter() - began
    for writer in writers:
        writer.join()
    final = store.load()
    if scenario == "list":
        wanted = {f"p{i}w{n}" for i in range(processes) for n in range(writes)}
        lost = len(wanted - set(final.enabled_resumes or ()))
    else:
        lost = seen_lost + sum(
            getattr(final, key) != validate(key, value(writes - 1))
            for key, value in OWNED[:processes]
        )
    total = processes * writes
    return {
        "scenario": scenario,
        "processes": processes,
        "writes": total,
        "lost": lost,
        "seconds": round(seconds, 3),
        "writes_per_second": round(total / seconds, 1),
    }
