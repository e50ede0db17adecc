"""Sign-in and setup as use-cases: what ``hh-raiser`` and the settings window both do.

Each use-case takes what it needs explicitly (a :class:`Runtime`, paths, callables for
the browser and the user's answers, a stop event, a timeout) and returns a typed result;
none prints, prompts on its own or exits. The CLI and the settings window are two
presenters of the same results, so they cannot drift apart (the window used to run the
CLI and parse its last output line).

Progress that a person should see while a use-case runs (the address to open, "waiting
for the redirect") is reported as typed steps through a ``progress`` callable; the
presenter decides how to show them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tray_app.adapters.control import ControlClient, InstanceUnavailable, NotHHRaiser
from tray_app.adapters.login import LoopbackReceiver, authorize_url, parse_redirect, redirect_uri
from tray_app.adapters.web_login import (
    WebLogin,
    cookies_from_firefox,
    cookies_from_text,
    sign_in_with_cookies,
)
from tray_app.core.errors import (
    ApplicantApiClosed,
    ConfigError,
    HHRaiserError,
    Problem,
    RemoteError,
    SessionExpired,
    SessionImportError,
)
from tray_app.core.models import TokenPair, TransportKind
from tray_app.storage.envfile import EnvFileError, NotUtf8Error, decode_env, read_env
from tray_app.storage.paths import AppPaths
from tray_app.storage.secrets import CLIENT_SECRET, TELEGRAM_BOT_TOKEN, TokenStore
from tray_app.storage.settings import validate
from tray_app.wiring import Runtime

# ---- telling the running instance ----------------------------------------------------


class InstanceReply(StrEnum):
    APPLIED = "applied"
    NOT_RUNNING = "not_running"  # nothing to tell: the change waits for the next start
    # as NOT_RUNNING, but control.json's port is held by another program (``port``),
    # probably since a crash: nothing was sent to it, and the user should know why
    NOT_HH_RAISER = "not_hh_raiser"
    FAILED = "failed"  # saved, but the live pick-up failed; ``detail`` says why


@dataclass(frozen=True)
class Told:
    reply: InstanceReply
    detail: str = ""
    port: int | None = None  # NOT_HH_RAISER: the port another program holds


def tell_instance(paths: AppPaths, what: str) -> Told:
    """Asks the running instance (if any) to reload ``settings`` or ``credentials``."""
    try:
        ControlClient(paths.control_file).reload(what)
    except NotHHRaiser as exc:
        return Told(InstanceReply.NOT_HH_RAISER, port=exc.port)
    except InstanceUnavailable:
        return Told(InstanceReply.NOT_RUNNING)
    except (RuntimeError, OSError) as exc:
        return Told(InstanceReply.FAILED, str(exc))
    return Told(InstanceReply.APPLIED)


# ---- OAuth sign-in ---------------------------------------------------------------------


@dataclass(frozen=True)
class PortBusy:
    """The redirect listener could not bind; the code has to be pasted."""

    port: int
    detail: str


@dataclass(frozen=True)
class OpenAuthorizeUrl:
    url: str


@dataclass(frozen=True)
class WaitingForRedirect:
    redirect: str
    timeout: float


@dataclass(frozen=True)
class RedirectTimedOut:
    pass


OAuthStep = PortBusy | OpenAuthorizeUrl | WaitingForRedirect | RedirectTimedOut


class OAuthFailure(StrEnum):
    NO_CLIENT_ID = "no_client_id"
    NO_CLIENT_SECRET = "no_client_secret"  # none stored and nobody to ask
    DENIED = "denied"  # ``detail``: hh.ru's error, or "no code"
    FOREIGN_STATE = "foreign_state"  # a pasted answer to someone else's request
    NO_REDIRECT = "no_redirect"  # timed out or stopped, and no paste fallback
    PORT_BUSY = "port_busy"  # ``port``: no listener, and no paste fallback either
    EXCHANGE_FAILED = "exchange_failed"  # ``error``: why hh.ru gave no tokens


@dataclass(frozen=True)
class OAuthSignIn:
    """The tokens stored, or why there are none. ``api_closed``: signed in, but hh.ru
    does not serve this application's resumes (raise through the website instead)."""

    tokens: TokenPair | None = field(default=None, repr=False)
    api_closed: bool = False
    failure: OAuthFailure | None = None
    detail: str = ""
    error: HHRaiserError | None = None
    port: int | None = None

    @property
    def ok(self) -> bool:
        return self.tokens is not None


def _ignore(_step: Any) -> None:
    pass


def sign_in_oauth(
    runtime: Runtime,
    *,
    open_browser: Callable[[str], bool],
    ask_secret: Callable[[], str] | None,
    paste: Callable[[], str] | None,
    progress: Callable[[OAuthStep], None] = _ignore,
    timeout: float = 300.0,
    paste_only: bool = False,
    stop: threading.Event | None = None,
) -> OAuthSignIn:
    """The browser flow with a loopback redirect; falls back to ``paste`` (the address
    hh.ru redirected to, or the code) when the listener cannot bind or times out.

    ``ask_secret`` is asked only when no client_secret is stored; what it answers is
    stored. A sign-in that works switches raising to the API, unless hh.ru keeps the
    applicant API closed to this application.
    """
    settings = runtime.settings()
    if not settings.client_id:
        return OAuthSignIn(failure=OAuthFailure.NO_CLIENT_ID)
    secret = runtime.secrets.get(CLIENT_SECRET)
    if not secret:
        if ask_secret is None:
            return OAuthSignIn(failure=OAuthFailure.NO_CLIENT_SECRET)
        secret = ask_secret().strip()
        runtime.secrets.set(CLIENT_SECRET, secret)
    port = settings.redirect_port
    state = secrets.token_urlsafe(24)
    redirect = redirect_uri(port)
    url = authorize_url(runtime.endpoints.oauth, settings.client_id, state, redirect)
    receiver: LoopbackReceiver | None = None
    if not paste_only:
        try:
            receiver = LoopbackReceiver(port, state, settings.language)
        except OSError as exc:
            busy = str(exc.strerror or exc)
            if paste is None:
                return OAuthSignIn(failure=OAuthFailure.PORT_BUSY, detail=busy, port=port)
            progress(PortBusy(port, busy))
    progress(OpenAuthorizeUrl(url))
    code: str | None = None
    if receiver is not None:
        open_browser(url)
        progress(WaitingForRedirect(redirect, timeout))
        answer = receiver.wait(timeout, stop)
        if answer is None:
            progress(RedirectTimedOut())
        elif answer.error or not answer.code:
            return OAuthSignIn(failure=OAuthFailure.DENIED, detail=answer.error or "no code")
        else:
            code = answer.code
    if code is None:
        if paste is None or (stop is not None and stop.is_set()):
            return OAuthSignIn(failure=OAuthFailure.NO_REDIRECT)
        pasted = parse_redirect(paste())
        if pasted.error:
            return OAuthSignIn(failure=OAuthFailure.DENIED, detail=pasted.error)
        if pasted.state is not None and pasted.state != state:
            return OAuthSignIn(failure=OAuthFailure.FOREIGN_STATE)
        if not pasted.code:
            return OAuthSignIn(failure=OAuthFailure.DENIED, detail="no code")
        code = pasted.code
    try:
        tokens = runtime.tokens.exchange_code(
            code, client_id=settings.client_id, client_secret=secret, redirect_uri=redirect
        )
    except HHRaiserError as exc:
        return OAuthSignIn(failure=OAuthFailure.EXCHANGE_FAILED, error=exc)
    api_closed = applicant_api_closed(runtime)
    if not api_closed:  # signing in to the API means raising through it (it works)
        runtime.settings.update(transport=TransportKind.API)
    return OAuthSignIn(tokens=tokens, api_closed=api_closed)


def applicant_api_closed(runtime: Runtime) -> bool:
    """After an OAuth sign-in: does hh.ru refuse this application's resumes?"""
    try:
        runtime.api.list_resumes()
    except ApplicantApiClosed:
        return True
    except RemoteError:
        return False  # anything else shows up, with its own message, when raising
    return False


# ---- website sign-in -------------------------------------------------------------------


@dataclass(frozen=True)
class CookieText:
    """A Cookie header, a cookies.txt or a "Copy as cURL" command, as text."""

    text: str = field(repr=False)
    label: str = "pasted cookies"  # where it came from, for the log


@dataclass(frozen=True)
class CookieFile:
    path: str  # as the user wrote it, so an error names it the same way


@dataclass(frozen=True)
class FirefoxCookies:
    """The first Firefox profile with current cookies, or this one."""

    profile: Path | None = None
    environ: Mapping[str, str] | None = None  # where to look for profiles


@dataclass(frozen=True)
class BrowserCookies:
    """Cookies read from a web view (the sign-in window), HttpOnly ones included."""

    cookies: Mapping[str, str] = field(repr=False)
    label: str = "sign-in window"


CookieSource = CookieText | CookieFile | FirefoxCookies | BrowserCookies


@dataclass(frozen=True)
class UsingFirefoxProfile:
    profile: Path


@dataclass(frozen=True)
class CheckingSession:
    host: str


WebStep = UsingFirefoxProfile | CheckingSession


@dataclass(frozen=True)
class WebSignIn:
    """The session stored (and raising switched to the website), or the error that
    stopped it (SessionImportError or a RemoteError) with nothing written."""

    host: str
    login: WebLogin | None = None
    error: HHRaiserError | None = None

    @property
    def ok(self) -> bool:
        return self.login is not None

    @property
    def needs_sign_in(self) -> bool:
        """The site did not accept the session (the user has to log in again)."""
        return isinstance(self.error, SessionExpired)


def read_cookie_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionImportError(f"{path}: {exc}") from None


def sign_in_web(
    runtime: Runtime,
    host: str,
    source: CookieSource,
    progress: Callable[[WebStep], None] = _ignore,
) -> WebSignIn:
    """Takes the session from ``source``, checks it on ``host`` (a logged-in job seeker
    with resumes), then stores it and switches raising to the website."""
    try:
        if isinstance(source, FirefoxCookies):
            cookies, used = cookies_from_firefox(host, runtime, source.profile, source.environ)
            progress(UsingFirefoxProfile(used))
            label = f"Firefox {used.name}"
        elif isinstance(source, BrowserCookies):
            cookies, label = dict(source.cookies), source.label
        elif isinstance(source, CookieFile):
            cookies = cookies_from_text(read_cookie_file(source.path), host, runtime)
            label = "cookies file"
        else:
            cookies, label = cookies_from_text(source.text, host, runtime), source.label
        progress(CheckingSession(host))
        login = sign_in_with_cookies(runtime, cookies, host, label)
    except (SessionImportError, RemoteError) as exc:
        return WebSignIn(host, error=exc)
    return WebSignIn(host, login=login)


# ---- the old script's .env -------------------------------------------------------------


class ImportedSecret(StrEnum):
    """What went to the keyring, in the order it is reported."""

    TOKENS = "tokens"
    CLIENT_SECRET = "client_secret"
    TELEGRAM_TOKEN = "telegram_token"


class EnvRefusal(StrEnum):
    BAD_LINE = "bad_line"  # ``line`` and ``reason`` (a Problem) say what is wrong
    PARTIAL_TOKENS = "partial_tokens"
    MISSING = "missing"
    FOLDER = "folder"
    UNREADABLE = "unreadable"  # ``reason``: what the OS said
    NOT_UTF8 = "not_utf8"  # ``line``: where the first byte that is not UTF-8 is


# the .env key -> the setting it fills
ENV_SETTINGS = {
    "RESUME_ID": "enabled_resumes",
    "CLIENT_ID": "client_id",
    "CONTACT_EMAIL": "contact_email",
    "CHAT_ID": "telegram_chat_id",
}


@dataclass(frozen=True)
class EnvImport:
    """What was imported (secrets, then settings in the file's order) and what was
    skipped; or, when ``refused``, why nothing was written."""

    path: Path
    secrets: tuple[ImportedSecret, ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()  # (setting, its validated value)
    skipped: tuple[str, ...] = ()  # keys the old script did not know either
    refused: EnvRefusal | None = None
    line: int = 0
    reason: Problem | str = ""  # the OS's words are a str

    @property
    def imported_anything(self) -> bool:
        return bool(self.secrets or self.settings)


def import_env(
    path: Path, open_runtime: Callable[[], Runtime], data: bytes | None = None
) -> EnvImport:
    """Imports the old script's ``.env``: tokens and secrets to the keyring, the rest to
    the settings. The file is checked completely before ``open_runtime`` is called, so a
    bad file is reported as such even where no keyring works. ``data``: the file's
    bytes when they came another way (standard input); ``path`` then only names it."""
    if data is None and path.is_dir():  # Windows says "permission denied" for a folder
        return EnvImport(path, refused=EnvRefusal.FOLDER)
    try:
        env = read_env(path) if data is None else decode_env(data)
    except FileNotFoundError:
        return EnvImport(path, refused=EnvRefusal.MISSING)
    except OSError as exc:
        return EnvImport(path, refused=EnvRefusal.UNREADABLE, reason=exc.strerror or str(exc))
    except NotUtf8Error as exc:
        return EnvImport(path, refused=EnvRefusal.NOT_UTF8, line=exc.line_number)
    except EnvFileError as exc:
        return EnvImport(path, refused=EnvRefusal.BAD_LINE, line=exc.line_number, reason=exc.reason)
    values = env.values
    if ("ACCESS_TOKEN" in values) != ("REFRESH_TOKEN" in values):
        return EnvImport(path, refused=EnvRefusal.PARTIAL_TOKENS)
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key in ENV_SETTINGS:
            try:
                updates[ENV_SETTINGS[key]] = validate(ENV_SETTINGS[key], value)
            except ConfigError as exc:
                return EnvImport(
                    path,
                    refused=EnvRefusal.BAD_LINE,
                    line=env.line_of[key],
                    reason=exc.problem or str(exc),
                )
    runtime = open_runtime()  # fails clearly without a keyring, before anything is written
    stored: list[ImportedSecret] = []
    try:
        if "ACCESS_TOKEN" in values:
            pair = TokenPair(values["ACCESS_TOKEN"], values["REFRESH_TOKEN"])
            TokenStore(runtime.secrets).save(pair)
            stored.append(ImportedSecret.TOKENS)
        if values.get("CLIENT_SECRET"):
            runtime.secrets.set(CLIENT_SECRET, values["CLIENT_SECRET"])
            stored.append(ImportedSecret.CLIENT_SECRET)
        if values.get("TELEGRAM_TOKEN"):
            runtime.secrets.set(TELEGRAM_BOT_TOKEN, values["TELEGRAM_TOKEN"])
            stored.append(ImportedSecret.TELEGRAM_TOKEN)
    finally:
        runtime.close()
    if updates:
        runtime.settings.update(**updates)
    return EnvImport(
        path,
        secrets=tuple(stored),
        settings=tuple(updates.items()),
        skipped=env.unknown_keys,
    )
