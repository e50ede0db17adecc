"""Every user-facing string, per language: Russian by default, English available."""

from __future__ import annotations

from tray_app.core.errors import Problem
from tray_app.i18n import en, ru

CATALOGS: dict[str, dict[str, str]] = {"ru": ru.MESSAGES, "en": en.MESSAGES}
DEFAULT_LANGUAGE = "ru"


def t(key: str, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The message ``key`` in ``language`` (falling back to Russian), formatted."""
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    template = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
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
