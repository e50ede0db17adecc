"""Every user-facing string, per language: Russian by default, English available."""

from __future__ import annotations

from tray_app.i18n import en, ru

CATALOGS: dict[str, dict[str, str]] = {"ru": ru.MESSAGES, "en": en.MESSAGES}
DEFAULT_LANGUAGE = "ru"


def t(key: str, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The message ``key`` in ``language`` (falling back to Russian), formatted."""
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    template = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
    return template.format(**values)
