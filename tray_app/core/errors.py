"""The error hierarchy: one class per case the engine and the user must tell apart.

Catch :class:`HHRaiserError` for everything of ours, :class:`RemoteError` for what
hh.ru answered, :class:`TransientError` for what is worth retrying later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tray_app.core.events import ChannelProblem


@dataclass(frozen=True)
class Problem:
    """What is wrong with something the user gave, as a text key (``invalid.KEY`` in
    :mod:`tray_app.i18n`) and the values it names; a value may be a Problem itself.
    Each adapter says it in the user's language, while the exception's own message,
    for the log, stays English."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)


class HHRaiserError(Exception):
    """Base of every error this application raises on purpose."""


class ConfigError(HHRaiserError):
    """A setting or a settings file is invalid; the message names the key and why,
    ``problem`` (when set) says the same for people in their language."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


class SecretStoreError(HHRaiserError):
    """The OS keyring could not be used."""


class NoKeyringError(SecretStoreError):
    """No secure keyring backend exists on this machine. ``key_file`` and
    ``plain_file`` are the paths the message suggests for the other stores."""

    def __init__(
        self, message: str, *, key_file: str | None = None, plain_file: str | None = None
    ) -> None:
        super().__init__(message)
        self.key_file = key_file
        self.plain_file = plain_file


class SecretKeyMissing(SecretStoreError):
    """The encrypted-file store was chosen but no key file was found; ``looked`` is
    where, in order; ``suggested`` where the message proposes to make one."""

    def __init__(self, looked: tuple[str, ...], suggested: str | None = None) -> None:
        super().__init__("no key for the encrypted secrets file; looked in " + ", ".join(looked))
        self.looked = looked
        self.suggested = suggested


class SecretKeyUnusable(SecretStoreError):
    """The key file gives no key: ``problem`` is ``missing`` (the file the variable
    names is not there), ``os`` (``detail`` has the OS's words) or ``format``."""

    def __init__(self, path: str, problem: str, detail: str = "") -> None:
        super().__init__(f"{path}: {problem}" + (f" ({detail})" if detail else ""))
        self.path = path
        self.problem = problem
        self.detail = detail


class SecretFileUnreadable(SecretStoreError):
    """The secrets file cannot be read: ``problem`` is ``wrong_key``, ``damaged``,
    ``newer`` (a newer HH Raiser's format) or ``os`` (``detail`` has the OS's words).
    Nothing was written to it."""

    def __init__(self, path: str, problem: str, detail: str = "") -> None:
        super().__init__(f"{path}: {problem}" + (f" ({detail})" if detail else ""))
        self.path = path
        self.problem = problem
        self.detail = detail


class SecretTooLarge(SecretStoreError):
    """A value larger than the smallest keyring allows (Windows: 2560 bytes)."""


class SessionImportError(HHRaiserError):
    """What the user gave as a website session (cookies) cannot be used; says why."""


class SignInWindowClosed(SessionImportError):
    """The sign-in window was closed (or timed out) before hh.ru showed a logged-in
    job seeker."""


class AlreadyRunningError(HHRaiserError):
    """Another instance holds the per-user lock."""


class RemoteError(HHRaiserError):
    """hh.ru answered something other than success (or did not answer)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class TooEarly(RemoteError):
    """429 ``touch_limit_exceeded``: the resume's cooldown has not ended."""


class AuthError(RemoteError):
    """The credentials did not work."""


class TokenExpired(AuthError):
    """403 ``oauth/token_expired``: refresh the pair and retry."""


class SignInNeeded(AuthError):
    """The user must sign in again (revoked token, ``invalid_grant``, no tokens)."""


class SessionExpired(SignInNeeded):
    """The hh.ru website session is gone: logged out, expired, or refused."""


class AnonymousSession(SessionExpired):
    """The cookies belong to a visitor who is not logged in (or not as an applicant)."""


class NotApplicant(AnonymousSession):
    """Logged in, but as another kind of account (an employer): signing in again as
    the same account cannot help."""

    def __init__(self, message: str, account_type: str) -> None:
        super().__init__(message)
        self.account_type = account_type


class RefreshTooEarly(AuthError):
    """``invalid_grant: token not expired``: the current access token still works."""


class CaptchaRequired(RemoteError):
    """hh.ru wants a human to solve a captcha (or pass a VPN/bot check) at
    :attr:`captcha_url`."""

    def __init__(
        self,
        message: str,
        *,
        captcha_url: str | None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.captcha_url = captcha_url


class NotPublishable(RemoteError):
    """400 ``bad_request`` on publish: mandatory fields missing, moderation, block."""


class ResumeNotFound(RemoteError):
    """404: the resume is gone or belongs to someone else."""


class ApplicantApiClosed(RemoteError):
    """403 ``forbidden`` without an OAuth reason: hh.ru closed the applicant API
    to this application (the December 2025 change)."""


class BotCheck(RemoteError):
    """hh.ru's bot protection answered instead of the site: DDoS-Guard's challenge
    page, or a connection dropped without an answer (public hh.ru tools' code).

    Neither a dead session nor garbage: the user opens hh.ru in the browser (which
    passes the check) and, if the site logged them out, imports the session again.
    ``fingerprint`` describes what came back, redacted, for the log and bug reports.
    """

    def __init__(
        self,
        message: str,
        *,
        fingerprint: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.fingerprint = fingerprint


class BadUserAgent(RemoteError):
    """400 ``bad_user_agent``: the ``HH-User-Agent`` is unset or blacklisted."""


class UnexpectedResponse(RemoteError):
    """An answer no documented case covers."""


class TransientError(RemoteError):
    """Worth retrying later: the server or the network failed, not the request."""


class ServerError(TransientError):
    """5xx, possibly with an empty or HTML body."""


class RateLimited(TransientError):
    """429 other than the resume cooldown: hh.ru asks us to slow down."""


class RequestTimeout(TransientError):
    """No answer within the timeout."""


class ConnectionFailed(TransientError):
    """No connection (network down, DNS, proxy), or it broke mid-answer.

    ``reached_server`` is False only when the request certainly never left this
    machine, which is when resending a one-time secret (a refresh token) is safe.
    """

    def __init__(self, message: str, *, reached_server: bool = True) -> None:
        super().__init__(message)
        self.reached_server = reached_server


class ConnectionDropped(ConnectionFailed):
    """A connection was made and then dropped with no answer (closed, reset, cut TLS).

    DDoS-Guard does this to clients it distrusts (public hh.ru tools' code), so it is told apart
    from a network that is down. The request may have arrived: only a GET is resent.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, reached_server=True)


class InvalidResponse(TransientError):
    """A body that should be JSON was not (a proxy's or DDoS-protection page)."""


class TelegramError(HHRaiserError):
    """The Telegram Bot API answered something other than success (or did not answer)."""

    def __init__(self, message: str, *, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class TelegramMisconfigured(TelegramError):
    """Retrying cannot help until the user changes something; ``reason`` says what."""

    reason: ChannelProblem = ChannelProblem.MISCONFIGURED


class BotTokenInvalid(TelegramMisconfigured):
    """401: the bot token is wrong or was revoked in @BotFather."""

    reason = ChannelProblem.BAD_TOKEN


class ChatNotFound(TelegramMisconfigured):
    """400 ``chat not found``: the user never wrote to the bot, or the id is wrong."""

    reason = ChannelProblem.CHAT_NOT_FOUND


class BotBlocked(TelegramMisconfigured):
    """403: the user blocked the bot (or the bot cannot write to that chat)."""

    reason = ChannelProblem.BOT_BLOCKED


class TelegramRejected(TelegramError):
    """Another 400: this message will never be accepted (not worth retrying)."""


class TelegramRetryAfter(TelegramError):
    """429: Telegram asks to wait ``retry_after`` seconds before the next request."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, error_code=429)
        self.retry_after = retry_after


class TelegramConflict(TelegramError):
    """409: another ``getUpdates`` poller (or a webhook) uses this bot."""


class TelegramUnavailable(TelegramError):
    """No usable answer (network, proxy, timeout, 5xx, not JSON): retry later."""
