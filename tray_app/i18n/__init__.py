"""Every user-facing string, per language: Russian by default, English available."""

from __future__ import annotations

from collections.abc import Callable

from tray_app import APP_ID
from tray_app.core.errors import Problem
from tray_app.i18n import en, ru

CATALOGS: dict[str, dict[str, str]] = {"ru": ru.MESSAGES, "en": en.MESSAGES}
DEFAULT_LANGUAGE = "ru"
_command: Callable[[], str] = lambda: APP_ID  # noqa: E731 - replaced by use_command


def use_command(command: Callable[[], str]) -> None:
    """What ``{cmd}`` in a hint ("run {cmd} login") says: the entry point knows how
    this process was started (``adapters/command.py``); until it tells, the bare name."""
    global _command
    _command = command


def t(key: str, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The message ``key`` in ``language`` (falling back to Russian), formatted;
    ``{cmd}`` is the command that runs this program, unless given."""
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    template = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
    if "{cmd}" in template and "cmd" not in values:
        values["cmd"] = _command()
    return template.format(**values)


def invalid_text(problem: object, language: str = DEFAULT_LANGUAGE, /) -> str:
    """A :class:`~tray_app.core.errors.Problem` in ``language`` (its ``invalid.*`` text,
    with the problems among its values said too); anything else as ``str``."""
    if not isinstance(problem, Problem):
        return str(problem)
    values = {
        name: invalid_text(value, language) if isinstance(value, Problem) else value
        for name, value in problem.values.items()
    }
    return t(f"invalid.{problem.key}", language, **values)
