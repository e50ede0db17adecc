"""``hh-raiser doctor``: what hh.ru shows this account, and what HH Raiser makes of it.

Our picture of hh.ru comes from public tools' code and community reports, not from
hh.ru: this is how one real user's report corrects it in a day. It reads the resume list
once and shows hh.ru's raw words next to each conclusion we draw from them, the site's
page shape, which session and bot-protection cookies exist (names only), the server
clock, and, with ``--raise``, one real raise (through the engine, so never into a
cooldown we know of) with every request and answer. The same text goes to a report file
with no token, cookie value or e-mail in it.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from tray_app import __version__
from tray_app.core.errors import RemoteError
from tray_app.core.models import Attempt, Resume, TransportKind
from tray_app.core.redact import redact_report
from tray_app.core.views import NotDue, ResumeStatus
from tray_app.i18n import t
from tray_app.i18n.text import attempt_text, auth_text, error_text, reason_text
from tray_app.storage.atomic import write_atomic
from tray_app.transports.exchanges import Exchanges
from tray_app.transports.hh_web import WebTransport, regional_host
from tray_app.transports.protection import is_protection_cookie
from tray_app.wiring import Runtime

ID_SHOWN = 8  # a resume's id is in its public address: a prefix is enough to match


@dataclass(frozen=True)
class DoctorReport:
    text: str  # redacted, in the user's language
    list_read: bool
    raise_outcomes: tuple[str, ...] = ()


def _when(moment: datetime | None, tz: tzinfo | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _left(moment: datetime, now: datetime) -> str:
    seconds = max(int((moment - now).total_seconds()), 0)
    return str(timedelta(seconds=seconds))


class Doctor:
    """Collects the report's lines in the user's language; :meth:`run` returns it."""

    def __init__(self, runtime: Runtime, language: str, tz: tzinfo | None = None) -> None:
        self.runtime = runtime
        self.language = language
        self.tz = tz
        self.lines: list[str] = []

    def _say(self, key: str, **values: object) -> None:
        self.lines.append(t(f"doctor.{key}", self.language, **values))

    def run(self, raise_id: str | None = None) -> DoctorReport:
        runtime, settings = self.runtime, self.runtime.settings()
        now = runtime.clock.now()
        self._say("title", version=__version__, utc=now.strftime("%Y-%m-%d %H:%M:%S UTC"))
        self._say("system", system=f"{platform.platform()}, Python {platform.python_version()}")
        self._say("keyring", backend=runtime.secrets.backend_name)
        web = settings.transport == TransportKind.WEB
        if web:
            transport = runtime.transport.web()
            self._say(
                "transport_web",
                host=settings.web_host,
                url=runtime.endpoints.web_url(settings.web_host),
                client=transport.client_description,
            )
        else:
            self._say("transport_api", url=runtime.endpoints.api)
        if not runtime.has_account():
            self._say("no_account")
            return DoctorReport(self._text(), list_read=False)
        engine = runtime.engine
        list_read = engine.refresh()
        if not list_read:
            self._say("problem", error=engine.list_error or engine.snapshot().auth_detail)
        self._say("auth", auth=auth_text(engine.auth_state, self.language))
        if web:
            self._website(transport)
        else:
            self._api_account()
        clock = runtime.server_clock
        if clock.has_samples:
            self._say("clock", offset=clock.offset, uncertainty=clock.uncertainty)
        self._resumes()
        outcomes: tuple[str, ...] = ()
        if raise_id is not None:
            outcomes = self._raise(raise_id)
        return DoctorReport(self._text(), list_read, outcomes)

    def _text(self) -> str:
        return redact_report("\n".join(self.lines))

    def _website(self, transport: WebTransport) -> None:
        page = transport.last_page
        if page is not None:
            self._say(
                "page",
                user_type=page.user_type or "-",
                path=page.path,
                source=page.source,
                keys=", ".join(page.keys),
            )
        try:
            session = transport.session()
        except RemoteError:
            return
        names = sorted(session.cookies)
        protection = [n for n in names if is_protection_cookie(n)]
        session_names = [n for n in names if n not in protection]
        self._say("cookies", count=len(session_names), names=", ".join(session_names))
        self._say("protection" if protection else "no_protection", names=", ".join(protection))
        regional = regional_host(transport.host, session.cookies)
        if regional != transport.host:
            self._say("regional", host=regional)

    def _api_account(self) -> None:
        try:
            me = self.runtime.api.me()
        except RemoteError as exc:
            self._say("problem", error=error_text(exc, self.language))
            return
        self._say("api_account", auth_type=me.get("auth_type"), is_applicant=me.get("is_applicant"))

    def _resumes(self) -> None:
        engine = self.runtime.engine
        statuses = {r.id: r for r in engine.snapshot().resumes}
        resumes = engine.resumes()
        self._say("resumes", count=len(resumes))
        now = self.runtime.clock.now()
        for number, resume in enumerate(resumes, 1):
            self._say("resume", n=number, title=resume.title, id=resume.id[:ID_SHOWN])
            fields = "; ".join(f"{name}={value}" for name, value in resume.raw)
            self._say("raw", fields=fields or "-")
            self._say("verdict", verdict=self._verdict(resume, statuses.get(resume.id), now))

    def _verdict(self, resume: Resume, status: ResumeStatus | None, now: datetime) -> str:
        lang = self.language
        if not resume.raisable or status is None:
            return t("doctor.v_excluded", lang, reason=reason_text(resume.standing.value, lang))
        parts = []
        window = status.next_publish_at
        if window is None:
            parts.append(t("doctor.v_no_window", lang))
        elif window <= now:
            parts.append(t("doctor.v_open", lang, window=_when(window, self.tz)))
        else:
            parts.append(
                t("doctor.v_wait", lang, window=_when(window, self.tz), left=_left(window, now))
            )
        if status.note:
            parts.append(reason_text(status.note, lang))
        if not status.enabled:
            parts.append(t("doctor.v_disabled", lang))
        else:
            parts.append(t("doctor.v_next", lang, next=_when(status.next_raise_at, self.tz)))
        return "; ".join(parts)

    def _raise(self, wanted: str) -> tuple[str, ...]:
        """One real raise through the engine (never into a cooldown it knows of), with
        every request it made and every answer, redacted."""
        engine = self.runtime.engine
        matches = [r.id for r in engine.resumes() if r.id == wanted or r.id.startswith(wanted)]
        self._say("raise_header", id=wanted[:ID_SHOWN])
        if len(matches) != 1:
            self._say("raise_unknown", id=wanted)
            return ("unknown",)
        exchanges: Exchanges = self.runtime.transport.current().exchanges
        mark = exchanges.count
        results = engine.raise_now(matches[0])
        for result in results:
            text = attempt_text(
                result, engine.next_raise_at(result.resume_id), self.language, self.tz
            )
            self._say("raise_result", text=text)
            if isinstance(result, Attempt) and result.detail:
                self._say("raise_detail", detail=result.detail)
        self._say("raise_exchanges")
        for exchange in exchanges.since(mark):
            self.lines.extend(f"   {line}" for line in exchange.lines())
        return tuple("not_due" if isinstance(r, NotDue) else r.outcome.value for r in results)


def report_path(runtime: Runtime) -> Path:
    stamp = runtime.clock.now().strftime("%Y%m%d-%H%M%S")
    return runtime.paths.log_dir / f"doctor-{stamp}.txt"


def write_report(report: DoctorReport, path: Path) -> None:
    """Private to the user (0600), like the log."""
    write_atomic(path, report.text + "\n")
