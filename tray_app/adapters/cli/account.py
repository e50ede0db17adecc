"""Settings and credentials: ``config``, ``import-env``, ``login``.

The sign-in and import logic are use-cases (:mod:`tray_app.adapters.usecases`); these
commands read arguments, prompt, and print the use-cases' results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tray_app.adapters.bundle import tell_stacks_on_sigusr2
from tray_app.adapters.cli.base import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_SIGN_IN,
    EXIT_USAGE,
    Cli,
    notify_instance,
)
from tray_app.adapters.login_text import failure_text, step_text
from tray_app.adapters.usecases import (
    CheckingSession,
    CookieFile,
    CookieSource,
    CookieText,
    EnvImport,
    EnvRefusal,
    FirefoxCookies,
    ImportedSecret,
    UsingFirefoxProfile,
    WebSignIn,
    WebStep,
    import_env,
    sign_in_oauth,
    sign_in_web,
)
from tray_app.adapters.web_login import done_text, problem_text
from tray_app.adapters.web_window import SignInWindow, window_support
from tray_app.core.errors import ConfigError, SessionImportError, SignInNeeded
from tray_app.i18n import invalid_text, t
from tray_app.i18n.text import error_text
from tray_app.storage.proxy import save_telegram_proxy, split_credentials
from tray_app.storage.settings import FIELDS, SettingsStore, to_text, validate


def cmd_config(cli: Cli, args: argparse.Namespace) -> int:
    store = SettingsStore(cli.paths.settings_file)
    if args.action == "list":
        settings = store.load()
        for key in FIELDS:
            cli.say(f"{key} = {to_text(getattr(settings, key))}")
    elif args.action == "get":
        cli.say(to_text(getattr(store.load(), args.key)))
    else:
        # a value the setting does not take is a usage error (2), told before anything
        # is read or written; a settings file that cannot be read stays a failure (1)
        typed = args.value
        if args.key == "telegram_proxy":  # its user:password goes to the keyring
            typed = split_credentials(typed.strip())[0]
        try:
            validate(args.key, typed)
        except ConfigError as exc:
            cli.complain(error_text(exc, cli.language))
            return EXIT_USAGE
        if args.key == "telegram_proxy":
            settings = save_telegram_proxy(args.value, store, cli.secrets()[0])
        else:
            settings = store.update(**{args.key: args.value})
        cli.say(
            t("config.set", cli.language, key=args.key, value=to_text(getattr(settings, args.key)))
        )
        if args.key == "secret_store":  # a choice of where to look: nothing is moved
            cli.say(t("config.secret_store", cli.language, value=settings.secret_store))
        notify_instance(cli, "settings")
    return EXIT_OK


def cmd_import_env(cli: Cli, args: argparse.Namespace) -> int:
    data: bytes | None = None
    if args.path == "-":  # `docker compose run -T hh-raiser import-env - < .env`
        if cli.stdin is None:
            cli.complain(t("import.no_stdin", cli.language))
            return EXIT_FAILURE
        raw = cli.stdin.buffer.read() if hasattr(cli.stdin, "buffer") else cli.stdin.read()
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    result = import_env(Path(args.path), cli.runtime, data)
    if result.refused is not None:
        cli.complain(_refusal_text(result, cli.language))
        return EXIT_FAILURE
    if result.skipped:
        cli.complain(t("import.unknown", cli.language, keys=", ".join(result.skipped)))
    if not result.imported_anything:
        cli.complain(t("import.nothing", cli.language, path=result.path))
        return EXIT_FAILURE
    items = ", ".join(import_items(result, cli.language))
    cli.say(t("import.done", cli.language, path=result.path, items=items))
    notify_instance(cli, "credentials")
    return EXIT_OK


def _refusal_text(result: EnvImport, lang: str) -> str:
    if result.refused == EnvRefusal.BAD_LINE:
        reason = invalid_text(result.reason, lang)
        return t("import.bad", lang, path=result.path, line=result.line, reason=reason)
    if result.refused == EnvRefusal.PARTIAL_TOKENS:
        return t("import.partial_tokens", lang)
    if result.refused == EnvRefusal.MISSING:
        return t("import.missing", lang, path=result.path)
    if result.refused == EnvRefusal.FOLDER:
        return t("import.folder", lang, path=result.path, example=result.path / ".env")
    if result.refused == EnvRefusal.NOT_UTF8:
        return t("import.not_utf8", lang, path=result.path, line=result.line)
    return t("import.unreadable", lang, path=result.path, detail=result.reason)


_SECRET_LABELS = {
    ImportedSecret.TOKENS: "import.tokens",
    ImportedSecret.CLIENT_SECRET: "import.client_secret",
    ImportedSecret.TELEGRAM_TOKEN: "import.telegram",
}


def import_items(result: EnvImport, lang: str) -> list[str]:
    """What was imported, secrets first, in words."""
    items = [t(_SECRET_LABELS[secret], lang) for secret in result.secrets]
    labels = {
        "enabled_resumes": lambda v: _resumes_label(v, lang),
        "client_id": lambda v: t("import.client_id", lang),
        "contact_email": lambda v: t("import.email", lang),
        "telegram_chat_id": lambda v: t("import.chat", lang, id=v),
    }
    items.extend(labels[key](value) for key, value in result.settings)
    return items


def _resumes_label(enabled: tuple[str, ...] | None, lang: str) -> str:
    if enabled is None:
        return t("import.resume_all", lang)
    if not enabled:
        return t("import.resume_none", lang)
    return t("import.resume", lang, id=to_text(enabled))


def cmd_login(cli: Cli, args: argparse.Namespace) -> int:
    if args.web or args.window or args.cookies is not None or args.firefox is not None:
        return _login_web(cli, args)
    lang = cli.language
    runtime = cli.runtime()
    try:
        result = sign_in_oauth(
            runtime,
            open_browser=cli.open_browser,
            ask_secret=lambda: cli.secret_prompt(t("login.secret_prompt", lang)),
            paste=lambda: cli.prompt(t("login.paste", lang)),
            progress=lambda step: cli.say(step_text(step, lang)),
            timeout=args.timeout,
            paste_only=args.paste,
            stop=cli.stop,
        )
    finally:
        runtime.close()
    if not result.ok:
        cli.complain(failure_text(result, lang))
        return EXIT_SIGN_IN if isinstance(result.error, SignInNeeded) else EXIT_FAILURE
    cli.say(t("login.done", lang, backend=runtime.secrets.backend_name))
    if result.api_closed:
        cli.complain(t("login.api_closed", lang))
    notify_instance(cli, "credentials")
    return EXIT_OK


def _read_cookie_text(cli: Cli, host: str, *, whole: bool) -> str:
    """The session on stdin: all of it (``--cookies -``, a pipe), or pasted
    interactively up to an empty line."""
    if cli.stdin is None:  # a windowed build started without a console
        raise SessionImportError("no input: use --cookies FILE or --firefox")
    if whole or not cli.stdin.isatty():
        return cli.stdin.read()
    cli.say(t("web.paste", cli.language, host=host))
    lines = []
    for line in cli.stdin:
        if not line.strip():
            break
        lines.append(line)
    return "".join(lines)


def web_step_text(step: WebStep, lang: str) -> str:
    if isinstance(step, UsingFirefoxProfile):
        return t("web.firefox_profile", lang, profile=step.profile)
    assert isinstance(step, CheckingSession)
    return t("web.checking", lang, host=step.host)


def _login_in_window(cli: Cli, args: argparse.Namespace) -> int:
    """``login --web --window``: hh.ru's own login page in a window of ours."""
    lang = cli.language
    support = window_support(cli.environ)
    if support.missing is not None:
        cli.complain(t(f"window.missing.{support.missing.value}", lang, detail=support.detail))
        return EXIT_FAILURE
    runtime = cli.runtime()
    try:
        host = validate("web_host", args.host) if args.host else runtime.settings().web_host
        backend = runtime.secrets.backend_name

        def last_word(result: WebSignIn) -> str:
            if result.login is not None:
                return done_text(result.login, backend, lang)
            assert result.error is not None
            return problem_text(result.error, result.host, lang)

        cli.say(t("window.opening", lang, host=host))
        cli.exit_at_once = True
        tell_stacks_on_sigusr2(cli.err)
        window = SignInWindow(runtime, host, title=t("window.title", lang), last_word=last_word)
        result = window.run()
    finally:
        runtime.close()
    if result.login is None:
        cli.complain(last_word(result))
        return EXIT_SIGN_IN if result.needs_sign_in else EXIT_FAILURE
    cli.say(last_word(result))
    notify_instance(cli, "credentials")
    return EXIT_OK


def _login_web(cli: Cli, args: argparse.Namespace) -> int:
    """``login --web``: the session from the user's browser, checked, then stored."""
    lang = cli.language
    if args.window:
        return _login_in_window(cli, args)
    runtime = cli.runtime()
    try:
        host = validate("web_host", args.host) if args.host else runtime.settings().web_host
        source: CookieSource
        if args.firefox is not None:
            profile = Path(args.firefox).expanduser() if args.firefox else None
            source = FirefoxCookies(profile, cli.environ)
        elif args.cookies not in (None, "-"):
            source = CookieFile(args.cookies)
        else:
            try:
                source = CookieText(_read_cookie_text(cli, host, whole=args.cookies == "-"))
            except SessionImportError as exc:
                cli.complain(problem_text(exc, host, lang))
                return EXIT_FAILURE
        result = sign_in_web(runtime, host, source, lambda step: cli.say(web_step_text(step, lang)))
    finally:
        runtime.close()
    if result.login is None:
        assert result.error is not None
        cli.complain(problem_text(result.error, host, lang))
        return EXIT_SIGN_IN if result.needs_sign_in else EXIT_FAILURE
    cli.say(done_text(result.login, runtime.secrets.backend_name, lang))
    notify_instance(cli, "credentials")
    return EXIT_OK
