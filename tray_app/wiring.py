"""The composition root: builds the core and its storage and transports from the
environment. Adapters (CLI, tray) call :func:`build_runtime` and nothing else."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keyring.backend import KeyringBackend

from tray_app import __version__
from tray_app.core.clock import Clock, ServerClock, SystemClock
from tray_app.core.engine import Engine, EngineOptions
from tray_app.core.errors import ConfigError
from tray_app.core.events import EventBus, TokenRefreshed
from tray_app.core.models import TokenPair, TransportKind
from tray_app.core.updates import UpdateChecker
from tray_app.storage.history import History
from tray_app.storage.in_flight import InFlightFile
from tray_app.storage.paths import AppPaths, app_paths
from tray_app.storage.secret_choice import StoreInfo, open_chosen
from tray_app.storage.secrets import SecretStore, TokenStore
from tray_app.storage.settings import DEFAULTS, Settings, SettingsStore
from tray_app.storage.update_state import UpdateStateFile
from tray_app.storage.web_session import HeldSession, WebSessionStore
from tray_app.telegram.delivery import TelegramNotifier, TelegramTargets
from tray_app.telegram.digest import digest_text
from tray_app.telegram.outbox import Outbox
from tray_app.transports.browser import BrowserClient
from tray_app.transports.hh_api import ApiTransport, hh_user_agent
from tray_app.transports.hh_web import WebTransport
from tray_app.transports.http import CONNECT_TIMEOUT, READ_TIMEOUT, HttpClient
from tray_app.transports.oauth import OAuthClient, TokenManager
from tray_app.transports.releases import DEFAULT_RELEASES_URL, GitHubReleases
from tray_app.transports.selected import SelectedTransport

log = logging.getLogger(__name__)

API_URL_ENV = "HH_RAISER_API_URL"
OAUTH_URL_ENV = "HH_RAISER_OAUTH_URL"
TELEGRAM_URL_ENV = "HH_RAISER_TELEGRAM_URL"
WEB_URL_ENV = "HH_RAISER_WEB_URL"
RELEASES_URL_ENV = "HH_RAISER_RELEASES_URL"
TIMEOUT_ENV = "HH_RAISER_TIMEOUT"
DEFAULT_API_URL = "https://api.hh.ru"
DEFAULT_OAUTH_URL = "https://hh.ru"


@dataclass(frozen=True)
class Endpoints:
    api: str
    oauth: str
    telegram: str | None  # overrides the telegram_api_url setting
    read_timeout: float
    web: str | None = None  # overrides https://<web_host>
    releases: str = DEFAULT_RELEASES_URL  # GitHub's API, for the update check

    def web_url(self, host: str) -> str:
        return (self.web or f"https://{host}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Endpoints:
        raw_timeout = environ.get(TIMEOUT_ENV, "")
        try:
            timeout = float(raw_timeout) if raw_timeout else READ_TIMEOUT
        except ValueError:
            raise ConfigError(f"{TIMEOUT_ENV}: expected seconds, got {raw_timeout!r}") from None
        return cls(
            api=environ.get(API_URL_ENV) or DEFAULT_API_URL,
            oauth=environ.get(OAUTH_URL_ENV) or DEFAULT_OAUTH_URL,
            telegram=environ.get(TELEGRAM_URL_ENV) or None,
            read_timeout=timeout,
            web=environ.get(WEB_URL_ENV) or None,
            releases=environ.get(RELEASES_URL_ENV) or DEFAULT_RELEASES_URL,
        )


class SettingsProvider:
    """The current settings, re-read when the file changes on disk.

    A file made invalid by hand does not stop the app: the last good settings stay
    in force and the error is logged once for each change of the file (it is looked
    at on every wake).
    """

    def __init__(self, store: SettingsStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._settings: Settings = DEFAULTS
        self._bad_mtime: float | None = None
        self.reload_if_changed(strict=True)

    def reload_if_changed(self, *, strict: bool = False) -> bool:
        """True when the settings changed. ``strict`` raises on a bad file."""
        mtime = self.store.mtime()
        with self._lock:
            if mtime == self._mtime or (mtime is not None and mtime == self._bad_mtime):
                return False
            try:
                settings = self.store.load()
            except ConfigError as exc:
                if strict:
                    raise
                self._bad_mtime = mtime
                log.error("%s; keeping the previous settings", exc)
                return False
            changed = settings != self._settings
            self._settings, self._mtime = settings, mtime
            return changed

    def update(self, **changes: Any) -> Settings:
        """Writes through the store (see :meth:`SettingsStore.update`) and holds the
        result at once, so this process sees its own write without waiting for a
        reload."""
        return self._hold(lambda: self.store.update(**changes))

    def modify(self, change: Callable[[Settings], Mapping[str, Any]]) -> Settings:
        """A change computed from the settings on disk (see :meth:`SettingsStore.modify`)."""
        return self._hold(lambda: self.store.modify(change))

    def _hold(self, write: Callable[[], Settings]) -> Settings:
        """The file's time is not taken as this write's: another process may have
        written right after it, so the next reload reads the file again."""
        with self._lock:
            settings = write()
            self._settings, self._mtime, self._bad_mtime = settings, None, None
            return settings

    def __call__(self) -> Settings:
        return self._settings


@dataclass
class Runtime:
    paths: AppPaths
    endpoints: Endpoints
    settings: SettingsProvider
    clock: Clock
    server_clock: ServerClock
    bus: EventBus
    history: History
    secrets: SecretStore
    secret_store: StoreInfo
    tokens: TokenManager
    api: ApiTransport
    transport: SelectedTransport
    engine: Engine
    telegram_targets: TelegramTargets
    telegram: TelegramNotifier
    make_web_transport: Callable[[str, HeldSession], WebTransport]
    updates: UpdateChecker
    releases: GitHubReleases
    http_clients: list[HttpClient] = field(default_factory=list)

    def web_sessions(self, host: str | None = None) -> WebSessionStore:
        return WebSessionStore(self.secrets, host or self.settings().web_host)

    def has_account(self) -> bool:
        """Whether the chosen transport has credentials (tokens, or a site session)."""
        if self.settings().transport == TransportKind.WEB:
            return bool(self.secrets.get(self.web_sessions().index_name))
        return TokenStore(self.secrets).load() is not None

    def close(self) -> None:
        for client in self.http_clients:
            client.close()
        self.releases.close()
        self.transport.close()


def set_up_before(paths: AppPaths) -> bool:
    """Whether anything was set up here (a settings file) or ever raised (a history).
    An account's secrets are in the keyring: without one these are the only signs
    left that an account may exist."""
    return paths.settings_file.exists() or paths.history_file.exists()


def build_runtime(
    environ: Mapping[str, str] | None = None,
    *,
    keyring_backend: KeyringBackend | None = None,
    clock: Clock | None = None,
    engine_options: EngineOptions | None = None,
) -> Runtime:
    """Wires everything; raises ConfigError / SecretStoreError with a clear message.
    ``keyring_backend`` replaces the OS keyring when the chosen store is the keyring."""
    env = os.environ if environ is None else environ
    paths = app_paths(dict(env)).ensure()
    endpoints = Endpoints.from_env(env)
    settings = SettingsProvider(SettingsStore(paths.settings_file))
    clock = clock or SystemClock()
    server_clock = ServerClock()
    bus = EventBus()
    secrets, store_info = open_chosen(paths, env, settings(), keyring_backend)
    token_store = TokenStore(secrets)

    def user_agent() -> dict[str, str]:
        agent = hh_user_agent(settings().contact_email)
        return {"HH-User-Agent": agent, "User-Agent": agent}

    def http_client(base_url: str, sampled_clock: ServerClock) -> HttpClient:
        return HttpClient(
            base_url,
            headers={"Accept": "application/json"},
            clock=clock,
            server_clock=sampled_clock,
            timeout=(CONNECT_TIMEOUT, endpoints.read_timeout),
            dynamic_headers=user_agent,
        )

    api_http = http_client(endpoints.api, server_clock)
    # hh.ru's site and API may differ in clock; only the API's clock plans raises
    oauth_http = http_client(endpoints.oauth, ServerClock())

    def on_refreshed(pair: TokenPair) -> None:
        bus.publish(TokenRefreshed(pair.expires_at))

    oauth = OAuthClient(api_http, oauth_http, server_clock, clock)
    tokens = TokenManager(token_store, oauth, server_clock, clock, on_refreshed)
    api = ApiTransport(api_http, tokens)

    def web_transport(
        host: str, store: WebSessionStore | HeldSession | None = None
    ) -> WebTransport:
        # the site's clock plans raises when raising through the site
        browser = BrowserClient(
            clock=clock,
            server_clock=server_clock,
            timeout=(CONNECT_TIMEOUT, endpoints.read_timeout),
        )
        store = store or WebSessionStore(secrets, host)
        return WebTransport(browser, store, server_clock, clock, endpoints.web_url)

    transport = SelectedTransport(settings, api, web_transport)
    history = History(paths.history_file)
    in_flight = InFlightFile(paths.in_flight_file)
    engine = Engine(
        transport, settings, history, bus, clock, server_clock, engine_options, in_flight
    )
    tz = engine_options.tz if engine_options else None
    telegram_targets = TelegramTargets(settings, secrets, endpoints.telegram)

    def digest() -> str:
        return digest_text(history.read(), engine.snapshot(), clock.now(), settings().language, tz)

    telegram = TelegramNotifier(
        telegram_targets,
        Outbox(paths.telegram_outbox_file, clock),
        bus,
        settings,
        clock,
        digest=digest,
        tz=tz,
    )
    releases = GitHubReleases(
        endpoints.releases, clock, timeout=(CONNECT_TIMEOUT, endpoints.read_timeout)
    )
    updates = UpdateChecker(
        releases,
        UpdateStateFile(paths.update_state_file),
        clock,
        current_version=__version__,
        enabled=lambda: settings().check_for_updates,
    )
    return Runtime(
        paths=paths,
        endpoints=endpoints,
        settings=settings,
        clock=clock,
        server_clock=server_clock,
        bus=bus,
        history=history,
        secrets=secrets,
        secret_store=store_info,
        tokens=tokens,
        api=api,
        transport=transport,
        engine=engine,
        telegram_targets=telegram_targets,
        telegram=telegram,
        make_web_transport=web_transport,
        updates=updates,
        releases=releases,
        http_clients=[api_http, oauth_http],
    )
