"""``hh-raiser self-check``: what this installation (or built executable) really
uses — keyring backend, tray backend, menus, notifications, the sign-in window, paths —
so a user's report says it, and a build can be checked before it ships.

A line that fails says what is wrong and what to do about it, and the verdict names
the lines that failed. What is merely absent where it is not needed (no screen on a
server: no tray icon, no sign-in window) is information, not a failure."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from typing import Any

from tray_app import __version__
from tray_app.adapters.autostart import launch_command
from tray_app.adapters.bundle import asset_path, is_frozen
from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli
from tray_app.adapters.tray.app import LINUX_INSTALL
from tray_app.adapters.web_window import window_support
from tray_app.core.errors import ConfigError, SecretStoreError
from tray_app.i18n import t
from tray_app.storage.secrets import SecretStore
from tray_app.storage.settings import SettingsStore


@dataclass(frozen=True)
class SignInWindowCheck:
    """Whether ``login --web --window`` can show its window here. Information only:
    a server has no screen and signs in another way."""

    available: bool
    engine: str | None  # WebView2, WKWebView, WebKitGTK 4.1
    missing: str | None  # a ``WindowMissing`` value
    problem: str | None  # its ``window.missing.*`` text
    detail: str  # ``WindowSupport.detail``: the engine, or what ruled it out


@dataclass(frozen=True)
class TrayCheck:
    """The tray as ``run`` would load it here."""

    backend: str | None  # pystray's backend module
    problem: str | None  # why it would have no menu
    menus: bool
    notifications: bool
    display: bool = True  # False: no screen at all; ``run`` goes on without an icon


@dataclass(frozen=True)
class Problem:
    """A failed line: its key (as in the report and the ``selfcheck.*`` labels), what
    is wrong, and what to do about it."""

    line: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Report:
    version: str
    frozen: bool
    executable: str
    python: str
    system: str
    keyring: str | None
    keyring_problem: str | None
    tray_backend: str | None
    tray_problem: str | None
    menus: bool
    notifications: bool
    display: bool
    sign_in_window: SignInWindowCheck
    transport: str
    web_host: str
    config_dir: str
    data_dir: str
    log_dir: str
    assets: str | None  # the app icon in the bundle (or the checkout); None if missing
    start_at_login: list[str]
    child_library_path: str | None  # what programs we open (browser, xdg-open) inherit

    def problems(self, *, headless: bool, language: str) -> list[Problem]:
        """A missing keyring, a tray without a menu on a screen (not ``headless``), a
        bundle without its icon. A server's missing screen is none of them."""
        found = []
        if self.keyring is None:
            fix = "keyring_plaintext" if "plain-text" in str(self.keyring_problem) else "keyring"
            found.append(
                Problem("keyring", str(self.keyring_problem), t(f"selfcheck.fix.{fix}", language))
            )
        if not headless and self.display and not self.menus:
            fix = t("selfcheck.fix.menus", language, command=LINUX_INSTALL)
            found.append(Problem("menus", t("selfcheck.problem.menus", language), fix))
        if self.assets is None:
            missing = t("selfcheck.problem.assets", language)
            found.append(Problem("assets", missing, t("selfcheck.fix.assets", language)))
        return found


def _keyring(cli: Cli) -> tuple[str | None, str | None]:
    """The backend in use, after a read that proves it answers."""
    try:
        secrets = SecretStore(cli.keyring_backend, service=cli.paths.keyring_service)
        secrets.get("self-check")
    except SecretStoreError as exc:
        return None, str(exc)
    return secrets.backend_name, None


def _tray(language: str) -> TrayCheck:
    """pystray's backend as this process would load it, and what it can do."""
    from tray_app.adapters.tray.app import (
        TrayUnavailable,
        load_pystray,
        notifications_available,
    )

    try:
        pystray = load_pystray(language)
    except TrayUnavailable as exc:
        if exc.no_display:
            return TrayCheck(None, None, False, False, display=False)
        try:
            import pystray as bare  # a menu-less backend still names itself
        except Exception:  # noqa: BLE001 - nothing loads at all
            return TrayCheck(None, str(exc), False, False)
        return TrayCheck(bare.Icon.__module__, str(exc), False, bool(bare.Icon.HAS_NOTIFICATION))
    return TrayCheck(pystray.Icon.__module__, None, True, notifications_available(pystray))


def _sign_in_window(cli: Cli) -> SignInWindowCheck:
    support = window_support(cli.environ)
    if support.missing is None:
        return SignInWindowCheck(True, support.detail, None, None, support.detail)
    problem = t(f"window.missing.{support.missing.value}", cli.language, detail=support.detail)
    return SignInWindowCheck(False, None, support.missing.value, problem, support.detail)


def collect(cli: Cli) -> Report:
    paths = cli.paths
    transport: str
    try:
        settings = SettingsStore(paths.settings_file).load()
        transport, web_host = settings.transport, settings.web_host
    except ConfigError as exc:
        transport = web_host = f"? ({exc})"
    keyring_name, keyring_problem = _keyring(cli)
    tray = _tray(cli.language)
    return Report(
        version=__version__,
        frozen=is_frozen(),
        executable=sys.executable,
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        keyring=keyring_name,
        keyring_problem=keyring_problem,
        tray_backend=tray.backend,
        tray_problem=tray.problem,
        menus=tray.menus,
        notifications=tray.notifications,
        display=tray.display,
        sign_in_window=_sign_in_window(cli),
        transport=transport,
        web_host=web_host,
        config_dir=str(paths.config_dir),
        data_dir=str(paths.data_dir),
        log_dir=str(paths.log_dir),
        assets=str(icon.parent) if (icon := asset_path("hh-raiser.png")).exists() else None,
        start_at_login=launch_command(cli.environ),
        child_library_path=os.environ.get("LD_LIBRARY_PATH"),
    )


def cmd_self_check(cli: Cli, args: argparse.Namespace) -> int:
    """Exit 1 when no keyring is usable, the tray on this screen would have no menu
    (unless ``--headless``), or the bundle lacks its icon."""
    report = collect(cli)
    lang = cli.language
    problems = report.problems(headless=args.headless, language=lang)
    if args.json:
        document = {**asdict(report), "problems": [asdict(p) for p in problems]}
        cli.say(json.dumps(document, ensure_ascii=False))
        return EXIT_FAILURE if problems else EXIT_OK
    yes, no = t("selfcheck.yes", lang), t("selfcheck.no", lang)
    window = report.sign_in_window
    if report.menus:
        menus = yes
    elif report.display:
        menus = f"{no}: {t('selfcheck.problem.menus', lang)}"
    else:
        menus = t("selfcheck.no_display", lang)
    rows: list[tuple[str, Any]] = [
        ("version", f"{report.version} ({'frozen' if report.frozen else 'python'})"),
        ("executable", report.executable),
        ("system", f"{report.system}, Python {report.python}"),
        ("keyring", report.keyring or f"{no}: {report.keyring_problem}"),
        ("tray", report.tray_backend or no),
        ("menus", menus),
        ("notifications", yes if report.notifications else no),
        ("sign_in_window", window.engine if window.available else f"{no}: {window.problem}"),
        ("transport", f"{report.transport} ({report.web_host})"),
        ("config", report.config_dir),
        ("data", report.data_dir),
        ("logs", report.log_dir),
        ("assets", report.assets or no),
        ("autostart", " ".join(report.start_at_login)),
    ]
    failed = {p.line: p for p in problems}
    for key, value in rows:
        label = t(f"selfcheck.{key}", lang)
        problem = failed.get(key)
        if problem is None:
            cli.say(f"{label}: {value}")
        else:
            cli.say(t("selfcheck.failed_line", lang, label=label, value=value, fix=problem.fix))
    if not problems:
        cli.say(t("selfcheck.ok", lang))
        return EXIT_OK
    labels = ", ".join(
        t("selfcheck.quoted", lang, label=t(f"selfcheck.{p.line}", lang)) for p in problems
    )
    cli.say(t("selfcheck.problems", lang, n=len(problems), lines=labels))
    return EXIT_FAILURE
