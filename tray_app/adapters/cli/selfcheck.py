"""``hh-raiser self-check``: what this installation (or built executable) really
uses — the secret store (and whether it is safe), tray backend, menus, notifications,
the sign-in window, paths — so a user's report says it, and a build can be checked
before it ships."""

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
from tray_app.adapters.web_window import window_support
from tray_app.core.errors import ConfigError, SecretStoreError
from tray_app.i18n import t
from tray_app.i18n.text import config_error_text, error_text, store_text
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
class SecretStoreCheck:
    """The store in use (``secrets status`` says the same): its kind, how it was
    chosen, where it is, and whether it is safe; ``problem`` (in the user's
    language) why it cannot be used, and what to do."""

    kind: str | None
    chosen_by: str | None
    where: str | None
    key_from: str | None
    key_file: str | None
    safe: bool
    text: str  # the line self-check prints
    problem: str | None


@dataclass(frozen=True)
class Report:
    version: str
    frozen: bool
    executable: str
    python: str
    system: str
    keyring: str | None
    keyring_problem: str | None
    secret_store: SecretStoreCheck
    tray_backend: str | None
    tray_problem: str | None
    menus: bool
    notifications: bool
    sign_in_window: SignInWindowCheck
    transport: str
    web_host: str
    config_dir: str
    data_dir: str
    log_dir: str
    assets: str | None  # the app icon in the bundle (or the checkout); None if missing
    start_at_login: list[str]
    child_library_path: str | None  # what programs we open (browser, xdg-open) inherit

    def problems(self, *, headless: bool, language: str) -> list[str]:
        """Each as ``part: what is wrong``: the part is this report's name for it (for
        scripts), the rest is for people, in their language."""
        found = [f"keyring: {self.keyring_problem}"] if self.keyring is None else []
        if not headless and not self.menus:
            found.append(f"tray: {self.tray_problem or t('selfcheck.no_menu', language)}")
        if self.assets is None:
            found.append(f"assets: {t('selfcheck.no_icon', language)}")
        return found


def _keyring(cli: Cli) -> tuple[str | None, str | None, SecretStoreCheck]:
    """The store in use, after a read that proves it answers; else what is wrong, as
    every other command says it."""
    try:
        secrets, info = cli.secrets()
        secrets.get("self-check")
    except (SecretStoreError, ConfigError) as exc:
        problem = error_text(exc, cli.language)
        check = SecretStoreCheck(None, None, None, None, None, False, problem, problem)
        return None, problem, check
    json_info = info.as_json()
    check = SecretStoreCheck(
        kind=json_info["kind"],
        chosen_by=json_info["chosen_by"],
        where=info.where,
        key_from=json_info["key_from"],
        key_file=json_info["key_file"],
        safe=info.safe,
        text=store_text(info, cli.language),
        problem=None,
    )
    return secrets.backend_name, None, check


def _tray(language: str) -> tuple[str | None, str | None, bool, bool]:
    """pystray's backend as this process would load it, and what it can do."""
    from tray_app.adapters.tray.app import (
        TrayUnavailable,
        load_pystray,
        notifications_available,
    )

    try:
        pystray = load_pystray(language)
    except TrayUnavailable as exc:
        try:
            import pystray as bare  # a menu-less backend still names itself
        except Exception:  # noqa: BLE001 - no display: nothing loads at all
            return None, str(exc), False, False
        return bare.Icon.__module__, str(exc), False, bool(bare.Icon.HAS_NOTIFICATION)
    return pystray.Icon.__module__, None, True, notifications_available(pystray)


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
        transport = web_host = f"? ({config_error_text(exc, cli.language)})"
    keyring_name, keyring_problem, secret_store = _keyring(cli)
    tray, tray_problem, menus, notifications = _tray(cli.language)
    return Report(
        version=__version__,
        frozen=is_frozen(),
        executable=sys.executable,
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        keyring=keyring_name,
        keyring_problem=keyring_problem,
        secret_store=secret_store,
        tray_backend=tray,
        tray_problem=tray_problem,
        menus=menus,
        notifications=notifications,
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
    """Exit 1 when no keyring is usable, or (unless ``--headless``) the tray would
    have no menu."""
    report = collect(cli)
    problems = report.problems(headless=args.headless, language=cli.language)
    if args.json:
        cli.say(json.dumps({**asdict(report), "problems": problems}, ensure_ascii=False))
        return EXIT_FAILURE if problems else EXIT_OK
    lang = cli.language
    yes, no = t("selfcheck.yes", lang), t("selfcheck.no", lang)
    window = report.sign_in_window
    store = report.secret_store
    rows: list[tuple[str, Any]] = [
        ("version", f"{report.version} ({'frozen' if report.frozen else 'python'})"),
        ("executable", report.executable),
        ("system", f"{report.system}, Python {report.python}"),
        ("keyring", report.secret_store.text if report.keyring else f"{no}: {store.problem}"),
        ("tray", report.tray_backend or no),
        ("menus", yes if report.menus else f"{no}: {report.tray_problem}"),
        ("notifications", yes if report.notifications else no),
        ("sign_in_window", window.engine if window.available else f"{no}: {window.problem}"),
        ("transport", f"{report.transport} ({report.web_host})"),
        ("config", report.config_dir),
        ("data", report.data_dir),
        ("logs", report.log_dir),
        ("assets", report.assets or no),
        ("autostart", " ".join(report.start_at_login)),
    ]
    for key, value in rows:
        cli.say(f"{t(f'selfcheck.{key}', lang)}: {value}")
    cli.say(t("selfcheck.ok" if not problems else "selfcheck.problems", lang, n=len(problems)))
    return EXIT_FAILURE if problems else EXIT_OK
