"""Moving every secret from one store to another (``hh-raiser secrets migrate``).

The OS keyrings cannot list their entries, so what HH Raiser stores is enumerated:
the named secrets of :mod:`tray_app.storage.secrets` and the website session of each
host (an index entry and, for a large session, parts in one of two slots: copied
through :class:`WebSessionStore`, which checks the checksum on the way). A secrets
file can list itself, so from one every entry is found, unknown ones included.

The copy is read back from the target before anything else happens; the target ends
up holding exactly what the source held (an entry the source lacks is removed from
it, so a stale token left there earlier cannot come back). The source is changed
only by :func:`delete_moved`, which the user asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tray_app.core.errors import SecretStoreError
from tray_app.storage.secrets import (
    CLIENT_SECRET,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_PROXY_AUTH,
    TOKENS,
    SecretStore,
)
from tray_app.storage.web_session import INDEX_PREFIX, KNOWN_HOSTS, WebSession, WebSessionStore

NAMED_SECRETS = (TOKENS, CLIENT_SECRET, TELEGRAM_BOT_TOKEN, TELEGRAM_PROXY_AUTH)


@dataclass(frozen=True)
class Moved:
    """What was copied: entries by name (a session's parts not counted) and the
    hosts whose website session was; ``hosts_seen`` every host looked at."""

    names: tuple[str, ...]
    hosts: tuple[str, ...]
    hosts_seen: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.names) + len(self.hosts)


def _listed(store: SecretStore) -> tuple[list[str], list[str]]:
    """Names and session hosts a listable store holds beyond the known ones."""
    names = store.names() or []
    hosts = [n[len(INDEX_PREFIX) :] for n in names if _is_index(n)]
    plain = [n for n in names if not n.startswith(INDEX_PREFIX)]
    return plain, hosts


def _is_index(name: str) -> bool:
    return name.startswith(INDEX_PREFIX) and ":" not in name[len(INDEX_PREFIX) :]


def move_secrets(
    source: SecretStore, target: SecretStore, hosts: Iterable[str], now: datetime
) -> Moved:
    """Copies every secret of ``source`` to ``target`` and reads each back; raises
    :class:`SecretStoreError` (the source untouched) if any differs."""
    extra_names, extra_hosts = _listed(source)
    target_names, target_hosts = _listed(target)
    names = list(dict.fromkeys((*NAMED_SECRETS, *extra_names, *target_names)))
    all_hosts = list(dict.fromkeys((*hosts, *KNOWN_HOSTS, *extra_hosts, *target_hosts)))
    values = {name: source.get(name) for name in names}
    sessions: dict[str, WebSession | None] = {
        host: WebSessionStore(source, host).load() for host in all_hosts
    }
    for name, value in values.items():
        if value is None:
            target.delete(name)
        else:
            target.set(name, value)
    for host, session in sessions.items():
        store = WebSessionStore(target, host)
        if session is None:
            if target.get(store.index_name) is not None:
                store.delete()
        else:
            store.save(session, session.saved_at or now)
    for name, value in values.items():
        if target.get(name) != value:
            raise SecretStoreError(f"{name!r} did not read back the same from the new store")
    for host, session in sessions.items():
        copied = WebSessionStore(target, host).load()
        if (copied and dict(copied.cookies)) != (session and dict(session.cookies)):
            raise SecretStoreError(
                f"the website session of {host} did not read back the same from the new store"
            )
    return Moved(
        names=tuple(n for n, v in values.items() if v is not None),
        hosts=tuple(h for h, s in sessions.items() if s is not None),
        hosts_seen=tuple(all_hosts),
    )


def delete_moved(source: SecretStore, moved: Moved) -> None:
    """Deletes from the old store what :func:`move_secrets` copied (``--delete-old``)."""
    for name in moved.names:
        source.delete(name)
    for host in moved.hosts:
        WebSessionStore(source, host).delete()
