"""The tray menu as plain data, built from the running instance's :class:`Status`.

Kept free of pystray so it can be built and checked anywhere; ``app.py`` turns it
into the backend's menu. Each item names an action (``raise_all``, ``raise:<id>``,
``toggle:<id>``, ...) that :class:`~tray_app.adapters.tray.app.TrayApp` carries out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from tray_app import APP_NAME
from tray_app.core.events import ChannelState
from tray_app.core.models import AuthState
from tray_app.core.updates import UpdateKind
from tray_app.core.views import ResumeStatus, Status
from tray_app.i18n import t
from tray_app.i18n.text import local_time, nothing_planned_text, reason_text


@dataclass(frozen=True)
class Item:
    text: str
    action: str | None = None
    checked: bool | None = None  # None: not a check item
    enabled: bool = True
    submenu: tuple[Item, ...] = ()


SEPARATOR = Item("-")
SIGN_IN_STATES = frozenset(
    {
        AuthState.NOT_CONFIGURED,
        AuthState.SESSION_EXPIRED,
        AuthState.SIGN_IN_NEEDED,
        AuthState.BOT_CHECK,  # passed by signing in again in a real browser
    }
)
"""The website session is missing or ended: the menu offers the sign-in window."""


def status_line(status: Status, language: str, tz: tzinfo | None = None) -> str:
    """The one line that says whether all is well, and if not, what to do."""
    if status.paused:
        return t("tray.paused", language)
    if status.auth_state.needs_user:
        return t(f"tray.auth.{status.auth_state.value}", language)
    if status.telegram.state is ChannelState.MISCONFIGURED:
        return t("tray.telegram_problem", language)
    why = nothing_planned_text(status, language)
    if why:
        return why
    if status.failing:
        return t("tray.failing", language)
    return t("tray.ok", language, next=local_time(status.earliest_next_raise(), language, tz))


def tooltip(status: Status, language: str, tz: tzinfo | None = None) -> str:
    return f"{APP_NAME} — {status_line(status, language, tz)}"


def resume_line(resume: ResumeStatus, language: str, tz: tzinfo | None = None) -> str:
    """Title, last raise and its outcome, next raise (or why there is none)."""
    title = resume.title
    if not resume.enabled:
        return t("tray.resume_disabled", language, title=title)
    if resume.note == "refused" and resume.next_raise_at:
        return t(
            "tray.resume_refused",
            language,
            title=title,
            next=local_time(resume.next_raise_at, language, tz),
        )
    if resume.note:
        return t(
            "tray.resume_blocked",
            language,
            title=title,
            reason=reason_text(resume.note, language),
        )
    upcoming = local_time(resume.next_raise_at, language, tz)
    if resume.last_raise_at is None or resume.last_outcome is None:
        return t("tray.resume_new", language, title=title, next=upcoming)
    return t(
        "tray.resume",
        language,
        title=title,
        last=local_time(resume.last_raise_at, language, tz),
        outcome=t(f"outcome_name.{resume.last_outcome.value}", language),
        next=upcoming,
    )


def build_menu(
    status: Status,
    *,
    autostart: bool | None,
    language: str,
    tz: tzinfo | None = None,
) -> tuple[Item, ...]:
    """``autostart`` None: this system has no start-at-login writer (item disabled)."""
    resumes = status.resumes
    items: list[Item] = [Item(status_line(status, language, tz), enabled=False)]
    if status.auth_state in SIGN_IN_STATES:
        items.append(Item(t("tray.sign_in_window", language), "sign_in_window"))
    items.append(SEPARATOR)
    if not resumes:
        items.append(Item(t("status.no_resumes", language), enabled=False))
    items.extend(
        Item(resume_line(r, language, tz), f"toggle:{r.id}", checked=r.enabled) for r in resumes
    )
    items.append(SEPARATOR)
    items.append(Item(t("tray.raise_all", language), "raise_all", enabled=bool(resumes)))
    items.append(
        Item(
            t("tray.raise_one", language),
            enabled=bool(resumes),
            submenu=tuple(Item(r.title, f"raise:{r.id}") for r in resumes),
        )
    )
    paused = status.paused
    items.append(Item(t("tray.resume_raising" if paused else "tray.pause", language), "pause"))
    items.append(SEPARATOR)
    items.append(
        Item(
            t("tray.autostart", language),
            "autostart",
            checked=bool(autostart),
            enabled=autostart is not None,
        )
    )
    if status.update.kind is UpdateKind.AVAILABLE:
        items.append(Item(t("tray.update", language, version=status.update.version), "update"))
    items.append(Item(t("tray.settings", language), "settings"))
    items.append(Item(t("tray.log", language), "log"))
    items.append(Item(t("tray.about", language), "about"))
    items.append(SEPARATOR)
    items.append(Item(t("tray.quit", language), "quit"))
    return tuple(items)
