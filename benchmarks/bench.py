"""Measures what the README reports, against the built-in hh.ru simulator.

``lag``:  raise lag after window + margin over N raises of ``hh-raiser run
          --headless`` with a short cooldown (p50, p95, max), and premature publishes,
          optionally with the server's clock ahead or behind; ``--web`` raises through
          the simulated website with a logged-in session whose cookies rotate;
          ``--fault-rate 0.15`` answers that share of all requests (lists, raises,
          probes) with a 5xx page, and counts raises per window and failed raise calls.
``tray``: time from start to the tray icon being visible (Xvfb + trayer, the real
          pystray backend), over several starts, and resident memory 10 s later.
``size``: the built app (``scripts/build``): its folder, the executable file, the
          folder as a .tar.gz download, and the largest parts.
``bundle-usage``: what the built app carries that its end-to-end tests never read
          (``benchmarks/bundle_usage.py``), with sizes; ``--lists FILE`` saves every
          file read and unread.
``--exe PATH`` (tray, idle): measure the executable built by ``scripts/build``
          instead of the pip-installed app.
``tray-soak``: resident memory of the tray app over a long run of simulated raises
          (three resumes, a short cooldown), sampled every minute.
``crash-soak``: ``kill -9`` of ``run --headless`` dozens of times during token
          refreshes, cookie rotations, raises and settings writes; what survived (see
          ``benchmarks/crash_soak.py``).
``settings-race``: processes writing settings.json at once (``tests/settings_race.py``):
          each owning one setting (``keys``), or each adding resume ids to one list
          (``list``); counts the writes lost and the writes per second.
``idle``: CPU seconds, wake-ups (context switches of all threads) and resident
          memory of an idle ``run --headless`` over one minute; ``--telegram`` adds a
          connected bot (the Telegram simulator) with commands on.

Run through ``scripts/bench`` (it provides a throwaway Secret Service keyring).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bundle_usage import bundle_usage
from benchmarks.crash_soak import crash_soak
from tests.desktop import virtual_desktop, wait_for_window
from tests.settings_race import race
from tray_app.core.models import TokenPair
from tray_app.simulator.hh import HHSimulator, SimConfig, demo_resumes
from tray_app.simulator.hh_web import TOUCH_PATH
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.paths import AppPaths, app_paths
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN, SecretStore, TokenStore
from tray_app.storage.settings import SettingsStore
from tray_app.storage.web_session import WebSession, WebSessionStore

BENCH_CHAT = 4242


def _signed_in_home(sim: HHSimulator, env: dict[str, str], margin: float) -> AppPaths:
    paths = app_paths(env).ensure()
    SettingsStore(paths.settings_file).update(
        margin_seconds=margin, contact_email="bench@example.com"
    )
    token = sim.issue_tokens()
    TokenStore(SecretStore(service=paths.keyring_service)).save(
        TokenPair(token.access_token, token.refresh_token, token.expires_at)
    )
    return paths


def app_command(exe: str | None) -> list[str]:
    """The pip-installed app, or the built executable."""
    return [exe] if exe else [sys.executable, "-m", "tray_app"]


@contextmanager
def headless_app(
    sim: HHSimulator,
    margin: float,
    tg: TelegramSimulator | None = None,
    *,
    web: bool = False,
    exe: str | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``hh-raiser run --headless`` in a fresh home, signed in to the simulator(s)
    (through the website session with ``web``)."""
    home = Path(tempfile.mkdtemp(prefix="hh-raiser-bench-"))
    env = {
        **os.environ,
        "HH_RAISER_HOME": str(home),
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
        "HH_RAISER_WEB_URL": sim.url,
    }
    paths = _signed_in_home(sim, env, margin)
    secrets = SecretStore(service=paths.keyring_service)
    store = SettingsStore(paths.settings_file)
    if web:
        session = WebSession("hh.ru", sim.web.login())
        WebSessionStore(secrets, "hh.ru").save(session, datetime.now(UTC))
        store.update(transport="web")
    if tg is not None:
        env["HH_RAISER_TELEGRAM_URL"] = tg.url
        tg.user_says(BENCH_CHAT, "/start")
        secrets.set(TELEGRAM_BOT_TOKEN, tg.token)
        store.update(telegram_chat_id=BENCH_CHAT)
    process = subprocess.Popen(
        [*app_command(exe), "run", "--headless"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not paths.control_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the app did not start")
        time.sleep(0.05)
    try:
        yield process, home
    finally:
        process.terminate()
        process.wait(timeout=30)


def bench_lag(
    raises: int,
    cooldown: float,
    margin: float,
    offset: float,
    web: bool,
    fault_rate: float = 0.0,
    fault_kind: str = "502_html",
) -> dict[str, object]:
    config = SimConfig(
        cooldown=cooldown, clock_offset=offset, fault_rate=fault_rate, fault_kind=fault_kind
    )
    sim = HHSimulator(config).start()
    sim.web.config.rotate_every = 3  # used with --web: hhtoken rotates every 3rd request
    try:
        with headless_app(sim, margin, web=web):
            deadline = time.monotonic() + raises * (cooldown + margin + 5) + 30
            while len([p for p in sim.publishes if p.accepted]) < raises:
                if time.monotonic() > deadline:
                    raise SystemExit("too few raises in time")
                time.sleep(0.2)
        accepted = [p for p in sim.publishes if p.accepted][:raises]
        lags = sorted(
            (p.at - p.window).total_seconds() - margin for p in accepted if p.window is not None
        )
        windows = {(p.resume_id, p.window) for p in accepted}  # each raised at most once?
        raise_calls = [
            r
            for r in sim.requests
            if r.method == "POST" and (r.path.endswith("/publish") or r.path == TOUCH_PATH)
        ]
        return {
            "transport": "web" if web else "api",
            "raises": len(lags),
            "windows": len(windows),
            "raises_per_window": round(len(accepted) / len(windows), 3),
            "fault_rate": fault_rate,
            "requests": len(sim.requests),
            "faults_injected": sim.random_faults,
            "raise_calls": len(raise_calls),
            "raise_calls_failed_5xx": len([r for r in raise_calls if r.status >= 500]),
            "cooldown_s": cooldown,
            "margin_s": margin,
            "server_clock_offset_s": offset,
            "lag_p50_s": round(statistics.median(lags), 3),
            "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 3),
            "lag_max_s": round(max(lags), 3),
            "lag_min_s": round(min(lags), 3),
            "premature_publishes": len(sim.premature_publishes()),
            "hhtoken_rotations": sum(s.rotations for s in sim.web.sessions.values()),
        }
    finally:
        sim.stop()


def _tray_env(desktop: dict[str, str], sim: HHSimulator) -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="hh-raiser-bench-")
    return {
        **desktop,
        "HH_RAISER_HOME": home,
        "HH_RAISER_API_URL": sim.url,
        "HH_RAISER_OAUTH_URL": sim.url,
    }


def _start_tray(env: dict[str, str], exe: str | None = None) -> subprocess.Popen[bytes]:
    """The tray app, returned once its icon is in the system tray."""
    process = subprocess.Popen(
        [*app_command(exe), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_window(env, "--name", "^HH Raiser")
    return process


def bench_tray_start(starts: int, exe: str | None) -> dict[str, object]:
    """Start to icon: from spawning the process to its window in the system tray;
    then the resident memory of the last start, 10 s after its icon appeared."""
    sim = HHSimulator(SimConfig()).start()
    times: list[float] = []
    rss_kib = 0
    try:
        with virtual_desktop() as desktop:
            env = _tray_env(desktop, sim)
            _signed_in_home(sim, env, margin=5.0)
            for number in range(starts):
                started = time.monotonic()
                process = _start_tray(env, exe)
                times.append(time.monotonic() - started)
                if number == starts - 1:
                    time.sleep(10)
                    rss_kib = _proc_totals(process.pid)[2]
                process.terminate()
                process.wait(timeout=30)
    finally:
        sim.stop()
    return {
        "app": exe or "pip-installed",
        "starts": starts,
        "rss_10s_after_icon_mib": round(rss_kib / 1024, 1),
        "start_to_icon_p50_s": round(statistics.median(times), 3),
        "start_to_icon_max_s": round(max(times), 3),
        "start_to_icon_min_s": round(min(times), 3),
    }


def bench_tray_soak(minutes: float, cooldown: float) -> dict[str, object]:
    """RSS of the tray app while it raises three resumes every ``cooldown`` seconds."""
    config = SimConfig(cooldown=cooldown)
    sim = HHSimulator(config, demo_resumes(datetime.now(UTC), config)).start()
    samples: list[tuple[float, float]] = []
    try:
        with virtual_desktop() as desktop:
            env = _tray_env(desktop, sim)
            _signed_in_home(sim, env, margin=0.5)
            process = _start_tray(env)
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < minutes * 60:
                rss = _proc_totals(process.pid)[2] / 1024
                samples.append((elapsed / 60, rss))
                print(
                    f"{elapsed / 60:6.1f} min  {rss:6.1f} MiB  raises {len(sim.publishes)}",
                    flush=True,
                )
                time.sleep(min(60.0, minutes * 60 / 10))
            rss = _proc_totals(process.pid)[2] / 1024
            samples.append(((time.monotonic() - started) / 60, rss))
            process.terminate()
            process.wait(timeout=60)
    finally:
        sim.stop()
    accepted = [p for p in sim.publishes if p.accepted]
    return {
        "minutes": minutes,
        "cooldown_s": cooldown,
        "raises": len(accepted),
        "premature_publishes": len(sim.premature_publishes()),
        "rss_first_mib": round(samples[0][1], 1),
        "rss_peak_mib": round(max(r for _, r in samples), 1),
        "rss_last_mib": round(samples[-1][1], 1),
    }


def _proc_totals(pid: int) -> tuple[float, int, int]:
    """(cpu seconds, context switches over all threads, RSS KiB) from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    switches = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        for line in status.read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS")
    )
    return cpu, switches, rss


def bench_idle(seconds: float, warmup: float, telegram: bool, exe: str | None) -> dict[str, object]:
    sim = HHSimulator(SimConfig()).start()  # 4 h cooldown: windows are hours away
    tg = TelegramSimulator().start() if telegram else None
    try:
        for resume_id in list(sim.resumes):
            sim.open_window(resume_id, in_seconds=3 * 3600)
        with headless_app(sim, margin=5.0, tg=tg, exe=exe) as (process, _):
            time.sleep(warmup)
            cpu0, switches0, _ = _proc_totals(process.pid)
            requests0 = len(sim.requests)
            telegram0 = len(tg.requests) if tg else 0
            time.sleep(seconds)
            cpu1, switches1, rss = _proc_totals(process.pid)
            requests1 = len(sim.requests)
            telegram1 = len(tg.requests) if tg else 0
        per_minute = 60.0 / seconds
        return {
            "app": exe or "pip-installed",
            "measured_s": seconds,
            "telegram": telegram,
            "cpu_s_per_idle_minute": round((cpu1 - cpu0) * per_minute, 4),
            "wakeups_per_idle_minute": round((switches1 - switches0) * per_minute, 1),
            "http_requests_per_idle_minute": round((requests1 - requests0) * per_minute, 2),
            "telegram_requests_per_idle_minute": round((telegram1 - telegram0) * per_minute, 2),
            "rss_mib": round(rss / 1024, 1),
        }
    finally:
        sim.stop()
        if tg is not None:
            tg.stop()


def bench_size(folder: Path) -> dict[str, object]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "hh-raiser.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        compressed = archive.stat().st_size
        xz_archive = Path(tmp) / "hh-raiser.tar.xz"
        with tarfile.open(xz_archive, "w:xz", preset=6) as tar:
            tar.add(folder, arcname=folder.name)
        xz_compressed = xz_archive.stat().st_size
    parts: dict[str, int] = {}
    internal = folder / "_internal"
    for path in files:
        top = path.relative_to(internal).parts[0] if internal in path.parents else path.name
        parts[top] = parts.get(top, 0) + path.stat().st_size
    mib = 1024 * 1024
    executable = next(p for p in (folder / "hh-raiser", folder / "hh-raiser.exe") if p.exists())
    return {
        "folder_mib": round(sum(p.stat().st_size for p in files) / mib, 1),
        "files": len(files),
        "executable_mib": round(executable.stat().st_size / mib, 1),
        "tar_gz_mib": round(compressed / mib, 1),
        "tar_xz_mib": round(xz_compressed / mib, 1),
        "largest_mib": {
            k: round(v / mib, 1) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:6]
        },
    }


def bench_settings_race(processes: int, writes: int, scenarios: list[str]) -> dict[str, object]:
    """``writes`` per process; a fresh settings.json for each scenario."""
    results: dict[str, object] = {}
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="hh-raiser-race-") as home:
            results[scenario] = race(Path(home) / "settings.json", processes, writes, scenario)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    lag = sub.add_parser("lag")
    lag.add_argument("--raises", type=int, default=24)
    lag.add_argument("--cooldown", type=float, default=3.0)
    lag.add_argument("--margin", type=float, default=1.0)
    lag.add_argument("--offset", type=float, default=0.0, help="server clock minus ours, s")
    lag.add_argument("--web", action="store_true", help="through the website session")
    lag.add_argument("--fault-rate", type=float, default=0.0, help="share of requests failed")
    lag.add_argument("--fault-kind", default="502_html", help="the simulator's fault to inject")
    size = sub.add_parser("size")
    size.add_argument("--folder", type=Path, default=Path("dist/hh-raiser"))
    usage = sub.add_parser("bundle-usage")
    usage.add_argument("--folder", type=Path, default=Path("dist/hh-raiser"))
    usage.add_argument("--lists", type=Path, help="a JSON file for every file read and unread")
    tray = sub.add_parser("tray")
    tray.add_argument("--starts", type=int, default=5)
    tray.add_argument("--exe", help="the built executable (scripts/build)")
    soak = sub.add_parser("tray-soak")
    soak.add_argument("--minutes", type=float, default=60.0)
    soak.add_argument("--cooldown", type=float, default=3.0)
    settings_race = sub.add_parser("settings-race")
    settings_race.add_argument("--processes", type=int, default=10)
    settings_race.add_argument("--writes", type=int, default=30, help="per process")
    settings_race.add_argument(
        "--scenario", choices=["keys", "list"], action="append", help="both if not given"
    )
    idle = sub.add_parser("idle")
    idle.add_argument("--seconds", type=float, default=60.0)
    idle.add_argument("--warmup", type=float, default=10.0)
    idle.add_argument("--telegram", action="store_true", help="with a connected bot")
    idle.add_argument("--exe", help="the built executable (scripts/build)")
    crash = sub.add_parser("crash-soak")
    crash.add_argument("--kills", type=int, default=40, help="kills per transport")
    crash.add_argument("--transport", choices=("api", "web", "both"), default="both")
    crash.add_argument("--seed", type=int, default=1)
    crash.add_argument("--exe", help="the built executable (scripts/build)")
    args = parser.parse_args()
    if args.what == "size":
        result = bench_size(args.folder)
    elif args.what == "bundle-usage":
        result = bundle_usage(args.folder, args.lists)
    elif args.what == "lag":
        result = bench_lag(
            args.raises,
            args.cooldown,
            args.margin,
            args.offset,
            args.web,
            args.fault_rate,
            args.fault_kind,
        )
    elif args.what == "tray":
        result = bench_tray_start(args.starts, args.exe)
    elif args.what == "tray-soak":
        result = bench_tray_soak(args.minutes, args.cooldown)
    elif args.what == "crash-soak":
        transports = ("api", "web") if args.transport == "both" else (args.transport,)
        result = {
            name: crash_soak(name, args.kills, app_command(args.exe), seed=args.seed).summary()
            for name in transports
        }
    elif args.what == "settings-race":
        scenarios = args.scenario or ["keys", "list"]
        result = bench_settings_race(args.processes, args.writes, scenarios)
    else:
        result = bench_idle(args.seconds, args.warmup, args.telegram, args.exe)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
