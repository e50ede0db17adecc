"""The daily digest: raises of the last 24 hours per resume, and the next ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from tray_app.core.models import Attempt, AuthState, Outcome
from tray_app.core.views import Snapshot
from tray_app.i18n import t
from tray_app.i18n.text import auth_text, local_time, reason_text

PERIOD = timedelta(hours=24)


def digest_text(
    history: Sequence[Attempt],
    snapshot: Snapshot,
    now: datetime,
    language: str,
    tz: tzinfo | None = None,
) -> str:
    since = now - PERIOD
    recent = [a for a in history if a.at > since]
    lines = [t("digest.header", language)]
    for resume in snapshot.resumes:
        raises = [a.at for a in recent if a.resume_id == resume.id and a.outcome is Outcome.RAISED]
        failures = sum(
            1 for a in recent if a.resume_id == resume.id and a.outcome is Outcome.FAILED
        )
        if not resume.enabled:
            upcoming = t("digest.disabled", language)
        elif resume.note:
            upcoming = reason_text(resume.note, language)
        else:
            upcoming = local_time(resume.next_raise_at, language, tz)
        lines.append(
            t(
                "digest.line",
                language,
                title=resume.title,
                count=len(raises),
                last=local_time(max(raises), language, tz) if raises else t("never", language),
                next=upcoming,
            )
        )
        if failures:
            lines.append(t("digest.failures", language, count=failures))
    if not snapshot.resumes:
        lines.append(t("status.no_resumes", language))
    if snapshot.paused:
        lines.append(t("status.paused", language))
    if snapshot.auth_state not in (AuthState.OK, AuthState.UNKNOWN):
        lines.append(auth_text(snapshot.auth_state, language, snapshot.captcha_url))
    return "\n".join(lines)
