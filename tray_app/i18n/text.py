"""Turns core events, attempts and errors into the user's language and local time.

Shared by every adapter (console, tray, notifications) so they say the same thing.
"""

from __future__ import annotations

import shlex
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from tray_app.core.errors import (
    BadUserAgent,
    ConfigError,
    NoKeyringError,
    RemoteError,
    SecretFileUnreadable,
    SecretKeyMissing,
    SecretKeyUnusable,
    SecretStoreError,
    TelegramConflict,
    TelegramError,
    TelegramMisconfigured,
    TransientError,
)
from tray_app.core.events import (
    AuthChanged,
    ChannelProblem,
    ChannelState,
    Event,
    RaiseAttempted,
    ResumeSkipped,
    TelegramStatusChanged,
    TokenRefreshed,
    TransientFailure,
)
from tray_app.core.models import Attempt, AuthState, Outcome
from tray_app.core.redact import redactor
from tray_app.core.updates import UpdateKind, UpdateView
from tray_app.core.views import NotDue, Snapshot, Status
from tray_app.i18n import invalid_text, t

if TYPE_CHECKING:
    from tray_app.storage.secret_choice import StoreInfo

# where the messages suggest the key when the error does not know the user's folders
DEFAULT_KEY_FILE = "~/.config/hh-raiser/secrets.key"
DEFAULT_PLAIN_FILE = "~/.local/share/hh-raiser/secrets.json"


def local_time(moment: datetime | None, language: str, tz: tzinfo | None = None) -> str:
    """Local wall time; the date too when it is not today."""
    if moment is None:
        return t("nothing_planned", language)
    local = moment.astimezone(tz)
    today = datetime.now(local.tzinfo).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%d.%m %H:%M:%S")


def reason_text(reason: str | None, language: str) -> str:
    key = f"reason.{reason}"
    try:
        return t(key, language)
    except KeyError:
        return reason or "?"


def attempt_text(
    attempt: Attempt | NotDue, next_raise: datetime | None, language: str, tz: tzinfo | None = None
) -> str:
    if isinstance(attempt, NotDue):
        return t(
            "not_due",
            language,
            title=attempt.title,
            next=local_time(attempt.next_raise_at, language, tz),
        )
    return t(
        f"outcome.{attempt.outcome.value}",
        language,
        title=attempt.title or attempt.resume_id,
        time=local_time(attempt.at, language, tz),
        next=local_time(next_raise, language, tz),
        reason=reason_text(attempt.detail, language),
        detail=attempt.detail or "?",
    )


def auth_text(state: AuthState, language: str, captcha_url: str | None = None) -> str:
    return t(f"auth.{state.value}", language, url=captcha_url or "https://hh.ru")


def event_text(event: Event, language: str, tz: tzinfo | None = None) -> str | None:
    """One line for the console, or None for events not worth a line."""
    if isinstance(event, RaiseAttempted):
        if event.attempt.outcome is Outcome.NOT_PUBLISHABLE:
            return None
        return attempt_text(event.attempt, event.next_raise_at, language, tz)
    if isinstance(event, ResumeSkipped):
        return t(
            "outcome.not_publishable",
            language,
            title=event.resume.title,
            reason=reason_text(event.reason, language),
        )
    if isinstance(event, AuthChanged) and event.state.needs_user:
        return auth_text(event.state, language, event.captcha_url)
    if isinstance(event, TokenRefreshed):
        return t("token_refreshed", language)
    if isinstance(event, TelegramStatusChanged):
        if event.state is ChannelState.OK:
            return t("telegram.ok", language)
        return telegram_problem_text(event.reason, event.detail, language)
    if isinstance(event, TransientFailure):
        return t(
            "transient", language, error=event.error, time=local_time(event.retry_at, language, tz)
        )
    return None


def status_lines(
    status: Status, language: str, tz: tzinfo | None = None, *, numbered: bool = False
) -> list[str]:
    """``status`` for people (from this process or from the running instance).

    ``numbered`` puts each resume's number in front (``/raise 2`` in Telegram).
    """
    lines = [
        t(
            "status.header",
            language,
            auth=auth_text(status.auth_state, language, status.captcha_url),
        )
    ]
    if status.paused:
        lines.append(t("status.paused", language))
    telegram = status.telegram
    if telegram.state in (ChannelState.UNREACHABLE, ChannelState.MISCONFIGURED):
        lines.append(telegram_problem_text(telegram.reason, telegram.detail, language))
    if not status.resumes:
        lines.append(t("status.no_resumes", language))
    elif not status.auth_state.needs_user:
        why = nothing_planned_text(status, language)
        if why:
            lines.append(why)
    never = t("never", language)
    for number, r in enumerate(status.resumes, 1):
        lines.append(
            (f"{number}. " if numbered else "")
            + t(
                "status.line",
                language,
                mark="[x]" if r.enabled else "[ ]",
                title=r.title,
                last=local_time(r.last_raise_at, language, tz) if r.last_raise_at else never,
                outcome=t(f"outcome_name.{r.last_outcome.value}", language)
                if r.last_outcome
                else never,
                next=local_time(r.next_raise_at, language, tz),
            )
        )
    return lines


def update_text(view: UpdateView, language: str, tz: tzinfo | None = None) -> str:
    """The update check's line in ``status``."""
    if view.kind is UpdateKind.AVAILABLE:
        return t("update.available", language, version=view.version, url=view.url)
    if view.kind is UpdateKind.CURRENT:
        return t("update.current", language, time=local_time(view.checked_at, language, tz))
    return t(f"update.{view.kind.value}", language)


def nothing_planned_text(snapshot: Snapshot, language: str) -> str | None:
    """Why nothing will be raised, in words; None when something will."""
    why = snapshot.nothing_planned()
    if why is None:
        return None
    notes = [r.note for r in snapshot.enabled if r.note]
    reason = ", ".join(dict.fromkeys(reason_text(note, language) for note in notes))
    return t(f"tray.none_planned.{why.value}", language, reason=reason)


def telegram_problem_text(reason: ChannelProblem | None, detail: str | None, language: str) -> str:
    """What is wrong with Telegram and what the user can do about it (a reason with
    no text of its own, ``misconfigured``, falls back to ``detail``)."""
    try:
        text = t(f"telegram.reason.{reason}", language, detail=detail or "?")
    except KeyError:
        text = detail or reason or "?"
    return redactor(text)


def config_error_text(exc: ConfigError, language: str) -> str:
    """What is wrong with a setting or the settings file, in the user's language
    (the exception's own English where it carries no :class:`Problem`)."""
    return invalid_text(exc.problem, language) if exc.problem is not None else str(exc)


def error_text(exc: BaseException, language: str) -> str:
    """A clear message for an error that reached the user (secrets masked)."""
    return redactor(_error_text(exc, language))


def _error_text(exc: BaseException, language: str) -> str:
    if isinstance(exc, TelegramMisconfigured):
        return telegram_problem_text(exc.reason, str(exc), language)
    if isinstance(exc, TelegramConflict):
        return telegram_problem_text(ChannelProblem.CONFLICT, str(exc), language)
    if isinstance(exc, TelegramError):
        return telegram_problem_text(ChannelProblem.UNREACHABLE, str(exc), language)
    if isinstance(exc, NoKeyringError):
        return t(
            "err.no_keyring",
            language,
            detail=exc,
            key=_shell_path(exc.key_file or DEFAULT_KEY_FILE),
            plain=exc.plain_file or DEFAULT_PLAIN_FILE,
        )
    if isinstance(exc, SecretKeyMissing):
        looked = "\n".join(f"  {path}" for path in exc.looked)
        key = _shell_path(exc.suggested or DEFAULT_KEY_FILE)
        return t("err.secret_key_missing", language, looked=looked, key=key)
    if isinstance(exc, SecretKeyUnusable):
        path = _shell_path(exc.path)
        return t(f"err.secret_key.{exc.problem}", language, path=path, detail=exc.detail)
    if isinstance(exc, SecretFileUnreadable):
        return t(f"err.secrets_file.{exc.problem}", language, path=exc.path, detail=exc.detail)
    if isinstance(exc, SecretStoreError):
        return t("err.keyring", language, detail=exc)
    if isinstance(exc, ConfigError):
        return t("err.config", language, detail=config_error_text(exc, language))
    if isinstance(exc, BadUserAgent):
        return t("err.bad_user_agent", language)
    if isinstance(exc, TransientError):
        return t("err.unreachable", language, detail=exc)
    if isinstance(exc, RemoteError):
        return t("err.remote", language, detail=exc)
    return str(exc)


def _shell_path(path: str) -> str:
    """A path to paste into a POSIX shell: ``~/`` kept (the shell expands it), the
    rest quoted where it needs to be."""
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)


def store_text(info: StoreInfo, language: str) -> str:
    """The secret store in use, how it was chosen and whether it is safe, in one line
    (``secrets status``, ``self-check``, the settings window)."""
    if info.key is not None:
        origin = t(f"secrets.key_from.{info.key.origin.value}", language)
        kind = t(
            "secrets.kind.encrypted", language, path=info.where, key=info.key.path, origin=origin
        )
    else:
        kind = t(f"secrets.kind.{info.kind.value}", language, where=info.where)
    if info.safe:
        safety = t("secrets.safe", language)
    elif info.key_exposed:
        safety = t("secrets.unsafe_key", language)
    else:
        safety = t("secrets.unsafe_plain", language)
    chosen = t(f"secrets.chosen_by.{info.chosen_by.value}", language)
    return f"{kind}; {chosen} — {safety}"
