"""What the engine needs from a transport; the API and website transports provide it."""

from __future__ import annotations

from typing import Protocol

from tray_app.core.models import PublishReceipt, Resume


class Transport(Protocol):
    def list_resumes(self) -> list[Resume]:
        """Every resume of the user; raises a :class:`RemoteError` subclass on failure."""
        ...

    def publish(self, resume_id: str) -> PublishReceipt:
        """Asks hh.ru to raise the resume."""
        ...

    def ping(self) -> None:
        """A cheap request whose only use is a fresh ``Date`` sample."""
        ...

    def credentials_changed(self) -> None:
        """New credentials were stored (login, import): drop any cached copy."""
        ...
