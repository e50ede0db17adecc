"""``hh-raiser self-check``: what this installation (or built executable) really
uses — the secret store (and whether it is safe), tray backend, menus, notifications,
the sign-in window, paths — so a user's report says it, and a build can be checked
before it ships.

A line that fails says what to do about it right under it, and the verdict names the
lines that failed. What is merely absent where it is not needed (no screen on a
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
from tray_app.adapters.tray.packages import install_command, this_installation
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
class TrayCheck:
    """The tray as ``run`` would load it here."""

    backend: str | None  # pystray's backend module
    problem: str | None  # why it would have no menu
    menus: bool
    notifications: bool
    display: bool = True  # False: no screen at all; ``run`` goes on without an icon


@dataclass(frozen=True)
class Failed:
    """A failed part: its name for scripts (``keyring``, ``tray``, ``assets``), what
    is wrong and what to do, both in the user's language."""

    part: str
    problem: str
    fix: str

    @property
    def line(self) -> str:
        """The line of the text report it belongs under."""
        return "menus" if self.part == "tray" else self.part


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

    def failed(self, *, headless: bool, language: str) -> list[Failed]:
        """No usable secret store; a tray with no menu on this screen (unless
        ``headless``); a bundle without its icon. No screen at all is none of them."""
        found = []
        if self.keyring is None:
            problem = str(self.keyring_problem)  # it says what to do itself
            found.append(Failed("keyring", problem, problem))
        if not headless and self.display and not self.menus:
            problem = self.tray_problem or t("selfcheck.no_menu", language)
            command = install_command(this_installation())
            fix = t("selfcheck.fix.menus", language, command=command)
            found.append(Failed("tray", problem, fix))
        if self.assets is None:
            fix = t("selfcheck.fix.assets", language)
            found.append(Failed("assets", t("selfcheck.no_icon", language), fix))
        return found

    def problems(self, *, headless: bool, language: str) -> list[str]:
        """Each as ``part: what is wrong``: the part is this report's name for it (for
        scripts), the rest is for people, in their language."""
        return [f"{f.part}: {f.problem}" for f in self.failed(headless=headless, language=language)]


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
        transport = web_host = f"? ({config_error_text(exc, cli.language)})"
    keyring_name, keyring_problem, secret_store = _keyring(cli)
    tray = _tray(cli.language)
    return Report(
        version=__version__,
        frozen=is_frozen(),
        executable=sys.executable,
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        keyring=keyring_name,
        keyring_problem=keyring_problem,
        secret_store=secret_store,
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
    """Exit 1 when no secret store is usable, the tray on this screen would have no
    menu (unless ``--headless``), or the bundle lacks its icon."""
    report = collect(cli)
    lang = cli.language
    failed = report.failed(headless=args.headless, language=lang)
    if args.json:
        document = {
            **asdict(report),
            "problems": report.problems(headless=args.headless, language=lang),
            "fixes": {f.part: f.fix for f in failed},
        }
        cli.say(json.dumps(document, ensure_ascii=False))
        return EXIT_FAILURE if failed else EXIT_OK
    yes, no = t("selfcheck.yes", lang), t("selfcheck.no", lang)
    window = report.sign_in_window
    store = report.secret_store
    if report.menus:
        menus = yes
    elif report.display:
        menus = f"{no}: {t('selfcheck.no_menu', lang)}"
    else:
        menus = t("selfcheck.no_display", lang)
    fixes = {f.line: f.fix for f in failed}
    rows: list[tuple[str, Any]] = [
        ("version", f"{report.version} ({'frozen' if report.frozen else 'python'})"),
        ("executable", report.executable),
        ("system", f"{report.system}, Python {report.python}"),
        (
            "keyring",
            store.text if report.keyring else (no if "keyring" in fixes else store.problem),
        ),
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
    for key, value in rows:
        cli.say(f"{t(f'selfcheck.{key}', lang)}: {value}")
        if key in fixes:  # what to do, right under the line it is about
            cli.say("  ✗ " + fixes[key].replace("\n", "\n    "))
    if not failed:
        cli.say(t("selfcheck.ok", lang))
        return EXIT_OK
    lines = ", ".join(
        t("selfcheck.quoted", lang, label=t(f"selfcheck.{f.line}", lang)) for f in failed
    )
    cli.say(t("selfcheck.problems", lang, n=len(failed), lines=lines))
    return EXIT_FAILURE
