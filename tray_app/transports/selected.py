"""The transport the settings choose (``transport``: ``api`` or ``web``), switched
live: the engine keeps one object and a change in the settings takes effect at the
next request, with no restart."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tray_app.core.models import PublishReceipt, Resume, TransportKind
from tray_app.storage.settings import Settings
from tray_app.transports.hh_api import ApiTransport
from tray_app.transports.hh_web import WebTransport


class SelectedTransport:
    """Delegates to the API transport or to the website transport of the set host."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        api: ApiTransport,
        make_web: Callable[[str], WebTransport],
    ) -> None:
        self._settings = settings
        self.api = api
        self._make_web = make_web
        self._web: WebTransport | None = None
        self._lock = threading.Lock()

    def web(self) -> WebTransport:
        """The website transport for the site in the settings, built once per site."""
        host = self._settings().web_host
        with self._lock:
            if self._web is None or self._web.host != host:
                if self._web is not None:
                    self._web.close()
                self._web = self._make_web(host)
            return self._web

    def current(self) -> ApiTransport | WebTransport:
        return self.web() if self._settings().transport == TransportKind.WEB else self.api

    def credentials_changed(self) -> None:
        """A new session was imported: the website transport reads it again."""
        with self._lock:
            if self._web is not None:
                self._web.credentials_changed()

    def close(self) -> None:
        with self._lock:
            if self._web is not None:
                self._web.close()

    def list_resumes(self) -> list[Resume]:
        return self.current().list_resumes()

    def publish(self, resume_id: str) -> PublishReceipt:
        return self.current().publish(resume_id)

    def ping(self) -> None:
        self.current().ping()
