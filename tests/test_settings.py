"""Settings: validation of every key, a clear message for bad files, atomic saves."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest

from tray_app.adapters.cli import Cli, main
from tray_app.core.errors import ConfigError
from tray_app.core.models import Language, NotifyLevel, TransportKind
from tray_app.storage.settings import (
    DEFAULTS,
    FIELDS,
    Settings,
    SettingsStore,
    to_text,
    validate,
)
from tray_app.wiring import SettingsProvider

from .settings_race import race


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("enabled_resumes", "abc, def,abc", ("abc", "def")),
        ("enabled_resumes", "", None),
        ("enabled_resumes", " All ", None),
        ("enabled_resumes", "none", ()),
        ("enabled_resumes", ["abc"], ("abc",)),
        ("enabled_resumes", [], ()),
        ("enabled_resumes", None, None),
        ("margin_seconds", "0", 0.0),
        ("margin_seconds", "2.5", 2.5),
        ("jitter_seconds", "30", 30.0),
        ("anchor_time", "09:30", "09:30"),
        ("anchor_time", "", ""),
        ("active_hours", "22:00-02:00", "22:00-02:00"),
        ("notify_level", "Important", "important"),
        ("language", "en", "en"),
        ("contact_email", "me@example.com", "me@example.com"),
        ("client_id", "ABC123", "ABC123"),
        ("redirect_port", "8765", 8765),
        ("telegram_chat_id", "-1001234567890", "-1001234567890"),
        ("telegram_user_id", " 424242 ", "424242"),
        ("telegram_user_id", "", ""),
        ("paused", "yes", True),
    ],
)
def test_valid_values(key: str, text: str, expected: object) -> None:
    assert validate(key, text) == expected


@pytest.mark.parametrize(
    ("key", "text", "hint"),
    [
        ("margin_seconds", "-1", "from 0"),
        ("margin_seconds", "soon", "number"),
        ("margin_seconds", "nan", "from 0"),
        ("anchor_time", "25:00", "HH:MM"),
        ("active_hours", "08:00", "HH:MM-HH:MM"),
        ("active_hours", "08:00-08:00", "equal"),
        ("notify_level", "loud", "one of"),
        ("language", "de", "one of"),
        ("contact_email", "not-an-email", "e-mail"),
        ("redirect_port", "80", "1024"),
        ("enabled_resumes", "bad id!", "resume id"),
        ("telegram_user_id", "-1001234567890", "user id"),
        ("telegram_user_id", "²", "user id"),
        ("nonsense", "1", "unknown setting"),
    ],
)
def test_invalid_values_say_why(key: str, text: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(key, text)
    assert hint in str(caught.value) and key in str(caught.value)


def test_defaults_when_no_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    assert store.load() == DEFAULTS
    assert DEFAULTS.margin_seconds == 5 and DEFAULTS.jitter_seconds == 0
    assert DEFAULTS.language == "ru" and DEFAULTS.enabled_resumes is None


def test_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"margin_seconds": "lots"}))
    with pytest.raises(ConfigError) as caught:
        SettingsStore(path).load()
    assert str(path) in str(caught.value) and "margin_seconds" in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(ConfigError):
        SettingsStore(path).load()


def test_save_is_atomic_and_round_trips(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(margin_seconds="1.5")
    store.update(enabled_resumes="a,b")
    assert store.load().margin_seconds == 1.5 and store.load().enabled_resumes == ("a", "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json", "settings.json.lock"]


def test_provider_keeps_last_good_settings_when_the_file_breaks(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(margin_seconds="7")
    provider = SettingsProvider(store)
    assert provider().margin_seconds == 7
    store.path.write_text("{broken")
    assert not provider.reload_if_changed()
    assert provider().margin_seconds == 7


def run_cli(home: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(environ={"HH_RAISER_HOME": str(home)}, out=out, err=err)
    code = main(list(args), cli)
    return code, out.getvalue(), err.getvalue()


def test_config_commands(tmp_path: Path) -> None:
    code, out, _ = run_cli(tmp_path, "config", "set", "margin_seconds", "0.5")
    assert code == 0 and "margin_seconds = 0.5" in out
    assert run_cli(tmp_path, "config", "get", "margin_seconds")[1].strip() == "0.5"
    code, out, _ = run_cli(tmp_path, "config", "list")
    assert code == 0 and all(f"{key} = " in out for key in FIELDS)
    code, _, err = run_cli(tmp_path, "config", "set", "anchor_time", "9am")
    assert code == 2 and "anchor_time: нужно местное время ЧЧ:ММ" in err and "'9am'" in err
    assert run_cli(tmp_path, "config", "get", "anchor_time")[1].strip() == ""


def test_unknown_config_key_is_a_usage_error(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "config", "get", "nope")[0] == 2


def test_every_message_exists_in_both_languages() -> None:
    from tray_app.core.models import AuthState, Outcome
    from tray_app.i18n import en, ru

    assert set(ru.MESSAGES) == set(en.MESSAGES)
    for outcome in Outcome:
        assert f"outcome.{outcome.value}" in ru.MESSAGES
        assert f"outcome_name.{outcome.value}" in ru.MESSAGES
    for state in AuthState:
        assert f"auth.{state.value}" in ru.MESSAGES
        if state not in (AuthState.OK, AuthState.UNKNOWN):  # the tray shows its own line
            assert f"tray.auth.{state.value}" in ru.MESSAGES


def test_import_env_points_at_a_bad_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ACCESS_TOKEN=a\nREFRESH_TOKEN=b\nCONTACT_EMAIL=nobody\n")
    code, _, err = run_cli(tmp_path, "import-env", str(env))
    assert code == 1 and "строка 3" in err and "contact_email" in err


# ---- enabled_resumes: None is all, () is none; the file's version ------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [([], None), (["none"], ()), (["a", "b"], ("a", "b")), (["none", "a"], ("a",))],
)
def test_a_file_without_version_keeps_its_meaning(
    tmp_path: Path, written: list[str], expected: tuple[str, ...] | None
) -> None:
    """Before "version": [] meant all, and the tray stored ["none"] for none."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"enabled_resumes": written, "margin_seconds": 3}))
    settings = SettingsStore(path).load()
    assert settings.enabled_resumes == expected and settings.margin_seconds == 3
    assert settings.is_enabled("zzz") is (expected is None)


@pytest.mark.parametrize(
    ("typed", "on_disk", "shown"),
    [("all", None, "all"), ("", None, "all"), ("none", [], "none"), ("a, b", ["a", "b"], "a,b")],
)
def test_enabled_resumes_round_trip(
    tmp_path: Path, typed: str, on_disk: object, shown: str
) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    saved = store.update(enabled_resumes=typed)
    data = json.loads(store.path.read_text())
    assert data["version"] == 2 and data["enabled_resumes"] == on_disk
    assert store.load() == saved and to_text(saved.enabled_resumes) == shown
    home = tmp_path / "home"
    assert run_cli(home, "config", "set", "enabled_resumes", typed)[0] == 0
    assert run_cli(home, "config", "get", "enabled_resumes")[1].strip() == shown


def test_new_file_empty_list_means_none(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "enabled_resumes": []}))
    assert SettingsStore(path).load().enabled_resumes == ()
    path.write_text(json.dumps({"version": 2, "enabled_resumes": None}))
    assert SettingsStore(path).load().enabled_resumes is None


def test_every_saved_file_has_the_version(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(margin_seconds="2")
    text = store.path.read_text()
    assert json.loads(text)["version"] == 2
    assert json.loads(text)["transport"] == "api" and '"enabled_resumes": null' in text


@pytest.mark.parametrize("version", [3, 0, -1, "2", 2.5, True, None])
def test_an_unknown_or_bad_version_is_refused(tmp_path: Path, version: object) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": version, "margin_seconds": 3}))
    with pytest.raises(ConfigError) as caught:
        SettingsStore(path).load()
    assert str(path) in str(caught.value) and "version" in str(caught.value)


# ---- one write path ---------------------------------------------------------------


def test_update_checks_every_change_before_writing_any(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(margin_seconds="7")
    before = store.path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        store.update(margin_seconds="3", anchor_time="9am")
    assert str(caught.value).startswith("anchor_time: ")
    assert store.path.read_bytes() == before
    with pytest.raises(ConfigError) as caught:
        store.update(jitter_seconds="1", nonsense="2")
    assert "'nonsense'" in str(caught.value)
    assert store.path.read_bytes() == before
    saved = store.update(margin_seconds="3", anchor_time="09:30", transport="WEB")
    assert saved == store.load()
    assert (saved.margin_seconds, saved.anchor_time, saved.transport) == (3, "09:30", "web")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json", "settings.json.lock"]


def test_the_provider_sees_its_own_write_at_once(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    provider = SettingsProvider(store)
    settings = provider.update(paused="yes", transport="web", enabled_resumes="none")
    assert provider() == settings == store.load()
    assert settings.paused and settings.transport is TransportKind.WEB
    assert settings.enabled_resumes == ()
    assert not provider.reload_if_changed()
    # another process's write is still picked up
    SettingsStore(store.path).update(paused=False)
    mtime = store.path.stat().st_mtime + 10
    os.utime(store.path, (mtime, mtime))
    assert provider.reload_if_changed() and not provider().paused


def test_choices_are_the_enums() -> None:
    assert validate("transport", " Web ") is TransportKind.WEB
    assert validate("notify_level", "OFF") is NotifyLevel.OFF
    assert validate("language", "en") is Language.EN
    assert json.dumps([TransportKind.API, NotifyLevel.IMPORTANT, Language.RU]) == (
        '["api", "important", "ru"]'
    )
    assert to_text(NotifyLevel.ALL) == "all"
    with pytest.raises(ConfigError, match="expected one of: all, important, off"):
        validate("notify_level", "loud")


# ---- writers in several processes ---------------------------------------------------


@pytest.mark.parametrize("scenario", ["keys", "list"])
def test_concurrent_writers_lose_nothing(tmp_path: Path, scenario: str) -> None:
    """Four processes, 25 writes each: every change is in the file (see settings_race)."""
    result = race(tmp_path / "settings.json", 4, 25, scenario)
    assert result["lost"] == 0, result


def test_modify_sees_the_file_as_it_is_when_it_writes(tmp_path: Path) -> None:
    store, other = (
        SettingsStore(tmp_path / "settings.json"),
        SettingsStore(tmp_path / "settings.json"),
    )
    store.update(enabled_resumes="a")
    seen: list[tuple[str, ...] | None] = []

    def add_c(settings: Settings) -> dict[str, object]:
        seen.append(settings.enabled_resumes)
        return {"enabled_resumes": (*(settings.enabled_resumes or ()), "c")}

    other.update(enabled_resumes="a,b")  # another process, after this one last read
    assert store.modify(add_c).enabled_resumes == ("a", "b", "c") and seen == [("a", "b")]


# ---- files and values too big or too deep -------------------------------------------

DEEP_LIST = "[" * 100_000 + "]" * 100_000
DEEP_DICT = '{"a": ' * 100_000 + "1" + "}" * 100_000


@pytest.mark.parametrize("text", [DEEP_LIST, DEEP_DICT, '{"enabled_resumes": ' + DEEP_LIST + "}"])
def test_a_deeply_nested_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").mkdir()
    settings_file = tmp_path / "config" / "settings.json"
    settings_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        SettingsStore(settings_file).load()
    code, out, err = run_cli(tmp_path, "config", "list")
    assert code == 1 and "слишком глубокая вложенность" in err and "Traceback" not in out + err


def test_a_broken_file_is_logged_once_per_change_not_on_every_wake(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(margin_seconds="7")
    provider = SettingsProvider(store)
    store.path.write_text(DEEP_LIST, encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="tray_app.wiring"):
        assert [provider.reload_if_changed() for _ in range(3)] == [False] * 3
        assert provider().margin_seconds == 7
        store.path.write_text("{broken", encoding="utf-8")
        os.utime(store.path, (1, 1))  # another mtime, whatever the clock's resolution
        assert [provider.reload_if_changed() for _ in range(3)] == [False] * 3
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "nested too deeply" in messages[0]
    assert all(
        "keeping the previous settings" in m and r.exc_info is None
        for m, r in zip(messages, caplog.records, strict=True)
    )


def test_a_file_over_a_megabyte_is_refused(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text(json.dumps({"client_id": "x" * 2_000_000}), encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than 1 MB") as caught:
        store.load()
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("key", "value", "limit"),
    [
        ("contact_email", "a" * 245 + "@mail.ru", "at most 254"),  # 253: accepted
        ("contact_email", "a" * 80_000_000 + "@example.com", "at most 254"),
        ("client_id", "x" * 257, "at most 256"),
        ("telegram_api_url", "https://t.example/" + "x" * 2048, "at most 2048"),
        ("web_host", "a." * 127 + "ru", "at most 253"),
        ("anchor_time", " " * 1000 + "09:30", "at most 1000"),
        ("enabled_resumes", [f"r{n}" for n in range(1001)], "at most 1000"),
    ],
)
def test_sizes_are_limited(key: str, value: object, limit: str) -> None:
    if key == "contact_email" and len(str(value)) == 253:
        assert validate(key, value) == value
        value = "a" + str(value) + "x"  # 255
    with pytest.raises(ConfigError, match=limit) as caught:
        validate(key, value)
    assert str(caught.value).startswith(f"{key}: too ") and len(str(caught.value)) < 200


def test_config_set_and_the_file_refuse_an_address_too_long(tmp_path: Path) -> None:
    address = "a" * 300 + "@example.com"
    code, _, err = run_cli(tmp_path, "config", "set", "contact_email", address)
    assert code == 2 and "не больше 254" in err and address not in err
    store = SettingsStore(tmp_path / "config" / "settings.json")
    assert not store.path.exists()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps({"contact_email": address}), encoding="utf-8")
    with pytest.raises(ConfigError, match="contact_email: too long"):
        store.load()


def test_the_provider_misses_no_write_made_right_after_its_own(tmp_path: Path) -> None:
    class Racing(SettingsStore):
        def update(self, **changes: object) -> Settings:
            written = super().update(**changes)
            SettingsStore(self.path).update(margin_seconds="9")  # another process, at once
            return written

    store = Racing(tmp_path / "settings.json")
    provider = SettingsProvider(store)
    assert provider.update(paused="yes").paused
    assert provider.reload_if_changed()
    assert provider().margin_seconds == 9 and provider().paused
