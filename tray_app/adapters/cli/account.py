"""Settings and credentials: ``config``, ``import-env``, ``login``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, EXIT_SIGN_IN, Cli, notify_instance
from tray_app.adapters.login import LoginError, obtain_code, redirect_uri
from tray_app.adapters.web_login import (
    cookies_from_firefox,
    cookies_from_text,
    done_text,
    problem_text,
    sign_in_with_cookies,
)
from tray_app.core.errors import (
    ApplicantApiClosed,
    ConfigError,
    RemoteError,
    SessionExpired,
    SessionImportError,
)
from tray_app.core.models import TokenPair, TransportKind
from tray_app.i18n import t
from tray_app.storage.envfile import EnvFileError, read_env
from tray_app.storage.proxy import save_telegram_proxy
from tray_app.storage.secrets import CLIENT_SECRET, TELEGRAM_BOT_TOKEN, SecretStore, TokenStore
from tray_app.storage.settings import FIELDS, SettingsStore, to_text, validate
from tray_app.wiring import Runtime


def cmd_config(cli: Cli, args: argparse.Namespace) -> int:
    store = SettingsStore(cli.paths.settings_file)
    if args.action == "list":
        settings = store.load()
        for key in FIELDS:
            cli.say(f"{key} = {to_text(getattr(settings, key))}")
    elif args.action == "get":
        cli.say(to_text(getattr(store.load(), args.key)))
    else:
        if args.key == "telegram_proxy":
            secrets = SecretStore(cli.keyring_backend, service=cli.paths.keyring_service)
            settings = save_telegram_proxy(args.value, store, secrets)
        else:
            settings = store.update(**{args.key: args.value})
        cli.say(
            t("config.set", cli.language, key=args.key, value=to_text(getattr(settings, args.key)))
        )
        notify_instance(cli, "settings")
    return EXIT_OK


def cmd_import_env(cli: Cli, args: argparse.Namespace) -> int:
    lang = cli.language
    path = Path(args.path)
    try:
        env = read_env(path)
    except EnvFileError as exc:
        cli.complain(t("import.bad", lang, path=path, line=exc.line_number, reason=exc.reason))
        return EXIT_FAILURE
    values = env.values
    if ("ACCESS_TOKEN" in values) != ("REFRESH_TOKEN" in values):
        cli.complain(t("import.partial_tokens", lang))
        return EXIT_FAILURE
    setting_keys = {
        "RESUME_ID": "enabled_resumes",
        "CLIENT_ID": "client_id",
        "CONTACT_EMAIL": "contact_email",
        "CHAT_ID": "telegram_chat_id",
    }
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key in setting_keys:
            try:
                updates[setting_keys[key]] = validate(setting_keys[key], value)
            except ConfigError as exc:
                line = env.line_of[key]
                cli.complain(t("import.bad", lang, path=path, line=line, reason=exc))
                return EXIT_FAILURE
    runtime = cli.runtime()  # fails clearly without a keyring, before anything is written
    items: list[str] = []
    if "ACCESS_TOKEN" in values:
        TokenStore(runtime.secrets).save(TokenPair(values["ACCESS_TOKEN"], values["REFRESH_TOKEN"]))
        items.append(t("import.tokens", lang))
    if values.get("CLIENT_SECRET"):
        runtime.secrets.set(CLIENT_SECRET, values["CLIENT_SECRET"])
        items.append(t("import.client_secret", lang))
    if values.get("TELEGRAM_TOKEN"):
        runtime.secrets.set(TELEGRAM_BOT_TOKEN, values["TELEGRAM_TOKEN"])
        items.append(t("import.telegram", lang))
    runtime.close()
    if updates:
        runtime.settings.update(**updates)
    labels = {
        "enabled_resumes": lambda v: _resumes_label(v, lang),
        "client_id": lambda v: t("import.client_id", lang),
        "contact_email": lambda v: t("import.email", lang),
        "telegram_chat_id": lambda v: t("import.chat", lang, id=v),
    }
    items.extend(labels[key](value) for key, value in updates.items())
    if env.unknown_keys:
        cli.complain(t("import.unknown", lang, keys=", ".join(env.unknown_keys)))
    if not items:
        cli.complain(t("import.nothing", lang, path=path))
        return EXIT_FAILURE
    cli.say(t("import.done", lang, path=path, items=", ".join(items)))
    notify_instance(cli, "credentials")
    return EXIT_OK


def _resumes_label(enabled: tuple[str, ...] | None, lang: str) -> str:
    if enabled is None:
        return t("import.resume_all", lang)
    if not enabled:
        return t("import.resume_none", lang)
    return t("import.resume", lang, id=to_text(enabled))


def cmd_login(cli: Cli, args: argparse.Namespace) -> int:
    if args.web or args.cookies is not None or args.firefox is not None:
        return _login_web(cli, args)
    lang = cli.language
    runtime = cli.runtime()
    try:
        settings = runtime.settings()
        if not settings.client_id:
            cli.complain(t("login.need_client", lang))
            return EXIT_FAILURE
        secret = runtime.secrets.get(CLIENT_SECRET)
        if not secret:
            secret = cli.secret_prompt(t("login.secret_prompt", lang)).strip()
            runtime.secrets.set(CLIENT_SECRET, secret)
        code = obtain_code(
            oauth_base=runtime.endpoints.oauth,
            client_id=settings.client_id,
            port=settings.redirect_port,
            language=lang,
            open_browser=cli.open_browser,
            prompt=cli.prompt,
            say=cli.say,
            timeout=args.timeout,
            paste_only=args.paste,
        )
        runtime.tokens.exchange_code(
            code,
            client_id=settings.client_id,
            client_secret=secret,
            redirect_uri=redirect_uri(settings.redirect_port),
        )
        api_closed = _applicant_api_closed(runtime)
    except LoginError as exc:
        cli.complain(str(exc))
        return EXIT_FAILURE
    finally:
        runtime.close()
    cli.say(t("login.done", lang, backend=runtime.secrets.backend_name))
    if api_closed:
        cli.complain(t("login.api_closed", lang))
    else:  # signing in to the API means raising through it (it works)
        runtime.settings.update(transport=TransportKind.API)
    notify_instance(cli, "credentials")
    return EXIT_OK


def _applicant_api_closed(runtime: Runtime) -> bool:
    """After an OAuth sign-in: does hh.ru still serve this application's resumes?"""
    try:
        runtime.api.list_resumes()
    except ApplicantApiClosed:
        return True
    except RemoteError:
        return False  # anything else shows up, with its own message, when raising
    return False


def _read_cookie_text(cli: Cli, source: str | None, host: str) -> str:
    if source not in (None, "-"):
        try:
            return Path(source).expanduser().read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionImportError(f"{source}: {exc}") from None
    if cli.stdin is None:  # a windowed build started without a console
        raise SessionImportError("no input: use --cookies FILE or --firefox")
    if source == "-" or not cli.stdin.isatty():
        return cli.stdin.read()
    cli.say(t("web.paste", cli.language, host=host))
    lines = []
    for line in cli.stdin:
        if not line.strip():
            break
        lines.append(line)
    return "".join(lines)


def _login_web(cli: Cli, args: argparse.Namespace) -> int:
    """``login --web``: the session from the user's browser, checked, then stored."""
    lang = cli.language
    runtime = cli.runtime()
    try:
        host = validate("web_host", args.host) if args.host else runtime.settings().web_host
        if args.firefox is not None:
            profile = Path(args.firefox).expanduser() if args.firefox else None
            cookies, used = cookies_from_firefox(host, runtime, profile, cli.environ)
            cli.say(t("web.firefox_profile", lang, profile=used))
            source = f"Firefox {used.name}"
        else:
            cookies = cookies_from_text(_read_cookie_text(cli, args.cookies, host), host, runtime)
            source = "cookies file" if args.cookies not in (None, "-") else "pasted cookies"
        cli.say(t("web.checking", lang, host=host))
        login = sign_in_with_cookies(runtime, cookies, host, source)
    except (SessionImportError, RemoteError) as exc:
        cli.complain(problem_text(exc, host, lang))
        return EXIT_SIGN_IN if isinstance(exc, SessionExpired) else EXIT_FAILURE
    finally:
        runtime.close()
    cli.say(done_text(login, runtime.secrets.backend_name, lang))
    notify_instance(cli, "credentials")
    return EXIT_OK
