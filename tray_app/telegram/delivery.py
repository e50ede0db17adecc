"""Delivering notices to Telegram from a worker thread of its own.

A raise never waits on Telegram: :meth:`TelegramNotifier.submit` only puts the
notice on a bounded queue. The worker sends oldest first (coalesced after an
outage), waits exactly ``retry_after`` on 429, backs off while Telegram is
unreachable, and stops trying on what only the user can fix (bad token, unknown
chat, blocked bot): that "misconfigured" state is logged and published once, shown
by ``status``, and cleared when the user changes the Telegram settings.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from tray_app.core.clock import Clock
from tray_app.core.errors import (
    ConfigError,
    SecretStoreError,
    TelegramError,
    TelegramMisconfigured,
    TelegramRejected,
    TelegramRetryAfter,
)
from tray_app.core.events import ChannelProblem, ChannelState, EventBus, TelegramStatusChanged
from tray_app.core.planner import next_daily
from tray_app.core.views import TelegramChannel
from tray_app.notify.notices import Notice
from tray_app.storage.proxy import with_credentials
from tray_app.storage.secrets import TELEGRAM_BOT_TOKEN, TELEGRAM_PROXY_AUTH, SecretStore
from tray_app.storage.settings import Settings, parse_hhmm
from tray_app.telegram.api import BotApiCache, BotConfig
from tray_app.telegram.html import coalesce
from tray_app.telegram.outbox import Outbox

log = logging.getLogger(__name__)

RETRY_FIRST = 2.0
RETRY_MAX = 30.0  # after an outage, messages follow within half a minute
INBOX_SIZE = 1000
DIGEST_GRACE = timedelta(hours=3)  # a digest missed by more (machine asleep) is skipped
MAX_WAIT = 300.0  # re-check the wall clock at least this often (sleep, clock changes)
_RECONFIGURE = object()
_STOP = object()


@dataclass(frozen=True)
class TelegramTarget:
    bot: BotConfig
    chat_id: str


class TelegramTargets:
    """The bot and chat to use now: the settings plus the bot token and the proxy's
    credentials from the keyring.

    Secrets are read once and cached; :meth:`forget_secrets` (credentials changed)
    makes the next use read them again.
    """

    def __init__(
        self,
        settings: Callable[[], Settings],
        secrets: SecretStore,
        url_override: str | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._url_override = url_override
        self._lock = threading.Lock()
        self._cache: dict[str, str | None] = {}

    def _secret(self, name: str) -> str | None:
        with self._lock:
            if name not in self._cache:
                try:
                    self._cache[name] = self._secrets.get(name)
                except SecretStoreError:
                    log.exception("could not read %s from the keyring", name)
                    return None
            return self._cache[name]

    def forget_secrets(self) -> None:
        with self._lock:
            self._cache.clear()

    def api_url(self) -> str:
        return self._url_override or self._settings().telegram_api_url

    def proxy(self) -> str:
        """``telegram_proxy`` with its credentials from the keyring, if any."""
        address = self._settings().telegram_proxy
        return with_credentials(address, self._secret(TELEGRAM_PROXY_AUTH)) if address else ""

    def current(self) -> TelegramTarget | None:
        settings = self._settings()
        token = self._secret(TELEGRAM_BOT_TOKEN)
        if not token or not settings.telegram_chat_id:
            return None
        return TelegramTarget(
            BotConfig(token, self.api_url(), self.proxy()), settings.telegram_chat_id
        )


class TelegramNotifier:
    """Queue in, Telegram out; see the module docstring for the rules."""

    def __init__(
        self,
        targets: TelegramTargets,
        outbox: Outbox,
        bus: EventBus,
        settings: Callable[[], Settings],
        clock: Clock,
        *,
        digest: Callable[[], str] | None = None,
        tz: tzinfo | None = None,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
    ) -> None:
        self._targets = targets
        self._outbox = outbox
        self._bus = bus
        self._settings = settings
        self._clock = clock
        self._digest = digest
        self._tz = tz
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._inbox: queue.Queue[object] = queue.Queue(INBOX_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state = ChannelState.OK
        self._reason: ChannelProblem | None = None
        self._detail: str | None = None
        self._since: datetime | None = None
        self._last_delivery: datetime | None = None
        self._failures = 0
        self._retry_at = 0.0  # time.monotonic(); retry waits are real network waits
        self._waiting_for_user = False
        self._apis = BotApiCache()
        self._digest_for: str | None = None
        self._digest_at: datetime | None = None
        self._overflow_logged = False
        self._one_by_one = 0  # after a coalesced message was refused: find the bad notice

    # ---- called from other threads --------------------------------------------------

    def submit(self, notice: Notice) -> None:
        """Never blocks; a full queue (the worker stuck for long) drops the notice.

        Runs on the raising thread, so it reads nothing: whether Telegram is set up
        (a keyring read, which a locked keyring could stall) is the worker's check."""
        try:
            self._inbox.put_nowait(notice)
        except queue.Full:
            if not self._overflow_logged:
                self._overflow_logged = True
                log.error("the Telegram queue is full; notifications are being dropped")

    def reconfigure(self) -> None:
        """The Telegram settings or token may have changed: use them, retry at once."""
        self._targets.forget_secrets()
        # a full queue means a stuck worker; it re-reads the settings before each send
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(_RECONFIGURE)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="telegram-notifier", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Queued important notices are on disk before this returns (or the timeout)."""
        if self._thread is None:
            return
        self._inbox.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def status(self) -> TelegramChannel:
        configured = self._targets.current() is not None  # may read the keyring: unlocked
        with self._lock:
            state = self._state if configured else ChannelState.NOT_CONFIGURED
            return TelegramChannel(
                state=state,
                reason=self._reason if state is not ChannelState.NOT_CONFIGURED else None,
                detail=self._detail if state is not ChannelState.NOT_CONFIGURED else None,
                since=self._since,
                pending=len(self._outbox),
                last_delivery_at=self._last_delivery,
            )

    # ---- the worker -----------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                item: object | None = self._inbox.get(timeout=self._wait_seconds())
            except queue.Empty:
                item = None
            while item is not None:
                stopping = self._take(item) or stopping
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    item = None
            try:
                self._send_digest_if_due()
                if not stopping or self._state is ChannelState.OK:
                    self._deliver()
            except Exception:
                log.exception("Telegram notifier failed; it keeps running")
                self._retry_at = time.monotonic() + self._retry_max
        self._apis.close()

    def _take(self, item: object) -> bool:
        if item is _STOP:
            return True
        if item is _RECONFIGURE:
            self._waiting_for_user = False
            self._failures = 0
            self._retry_at = 0.0
        elif isinstance(item, Notice) and self._targets.current() is not None:
            self._outbox.add(item)  # not set up: nothing is kept for a later setup
        return False

    def _wait_seconds(self) -> float | None:
        waits: list[float] = []
        if len(self._outbox) and not self._waiting_for_user:
            waits.append(max(0.0, self._retry_at - time.monotonic()))
        digest_at = self._digest_due()
        if digest_at is not None:
            seconds = (digest_at - self._clock.now()).total_seconds()
            waits.append(min(max(0.0, seconds), MAX_WAIT))
        return min(waits) if waits else None

    def _digest_due(self) -> datetime | None:
        digest_time = self._settings().digest_time
        if self._digest is None or not digest_time:
            self._digest_at = None
            return None
        if self._digest_for != digest_time or self._digest_at is None:
            self._digest_for = digest_time
            self._digest_at = next_daily(parse_hhmm(digest_time), self._clock.now(), self._tz)
        return self._digest_at

    def _send_digest_if_due(self) -> None:
        due = self._digest_due()
        now = self._clock.now()
        if due is None or now < due or self._digest is None:
            return
        self._digest_at = next_daily(parse_hhmm(self._digest_for or "00:00"), now, self._tz)
        if now - due > DIGEST_GRACE:
            log.info("skipping the digest due at %s (the machine was asleep)", due.isoformat())
            return
        if self._targets.current() is not None:
            self._outbox.add(Notice("digest", self._digest(), important=False, at=now))

    def _deliver(self) -> None:
        while not self._waiting_for_user and time.monotonic() >= self._retry_at:
            items = self._outbox.items()
            if not items:
                return
            target = self._targets.current()
            if target is None:
                self._set_state(ChannelState.NOT_CONFIGURED)
                self._waiting_for_user = True
                return
            if self._one_by_one:
                items = items[:1]
                self._one_by_one -= 1
            text, count = coalesce(items, self._settings().language, self._tz)
            batch = items[:count]
            try:
                api = self._apis.get(target.bot)
                try:
                    api.send_message(
                        target.chat_id, text, silent=not any(n.important for n in batch)
                    )
                except TelegramRejected as exc:
                    raise api.explain_rejection(target.chat_id, exc) from None
            except TelegramRetryAfter as exc:
                log.info("Telegram asks to wait %.0f s", exc.retry_after)
                self._retry_at = time.monotonic() + exc.retry_after
                return
            except TelegramMisconfigured as exc:
                self._stop_until_fixed(exc.reason, str(exc))
                return
            except TelegramRejected as exc:  # the chat is fine, the message is not
                if len(batch) > 1:  # send them one by one to find the one at fault
                    self._one_by_one = len(batch)
                    continue
                log.error("Telegram refused a notification, dropped: %s", exc)
                self._outbox.remove(batch)
                continue
            except ConfigError as exc:  # a proxy requests cannot use
                self._stop_until_fixed(ChannelProblem.PROXY, str(exc))
                return
            except TelegramError as exc:
                self._failures += 1
                delay = min(self._retry_max, self._retry_first * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                self._set_state(ChannelState.UNREACHABLE, ChannelProblem.UNREACHABLE, str(exc))
                log.debug("Telegram unreachable (%s); retry in %.0f s", exc, delay)
                return
            self._failures = 0
            with self._lock:
                self._last_delivery = self._clock.now()
            self._set_state(ChannelState.OK)
            self._outbox.remove(batch)  # last: "nothing pending" implies the state is told

    def _stop_until_fixed(self, reason: ChannelProblem, detail: str) -> None:
        self._waiting_for_user = True
        self._outbox.drop_routine()
        self._set_state(ChannelState.MISCONFIGURED, reason, detail)

    def _set_state(
        self,
        state: ChannelState,
        reason: ChannelProblem | None = None,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            changed = (self._state, self._reason) != (state, reason)
            self._state, self._reason, self._detail = state, reason, detail
            if changed:
                self._since = self._clock.now()
        if not changed:
            return
        if state is ChannelState.OK:
            log.info("Telegram: notifications are delivered again")
        else:
            log.warning("Telegram: %s (%s): %s", state.value, reason, detail)
        self._bus.publish(TelegramStatusChanged(state, reason, detail))
