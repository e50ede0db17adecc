"""Secret stores for machines without a keyring: the encrypted file, the plain file
the user opted into, the one place that chooses between them and the keyring, and
moving every secret from one store to another."""

from __future__ import annotations

import argparse
import base64
import io
import json
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from tray_app.adapters.cli import selfcheck
from tray_app.adapters.cli.base import Cli
from tray_app.adapters.cli.main import main
from tray_app.adapters.cli.selfcheck import TrayCheck
from tray_app.core.errors import (
    ConfigError,
    NoKeyringError,
    SecretFileUnreadable,
    SecretKeyMissing,
    SecretKeyUnusable,
)
from tray_app.core.models import StoreKind, TokenPair
from tray_app.i18n.text import error_text
from tray_app.storage.file_secrets import (
    EncryptedFileKeyring,
    PlainFileKeyring,
    read_key,
    write_new_key,
)
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.secret_choice import (
    ChosenBy,
    KeyFrom,
    chosen_store,
    find_key,
    open_store,
)
from tray_app.storage.secrets import (
    CLIENT_SECRET,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_PROXY_AUTH,
    SecretStore,
    TokenStore,
)
from tray_app.storage.settings import DEFAULTS, SettingsStore
from tray_app.storage.web_session import WebSession, WebSessionStore

SVC = "hh-raiser-test"
TOKEN = "access-token-value-0123456789"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "secrets.key"
    write_new_key(path)
    return path


def encrypted(tmp_path: Path, key_file: Path) -> EncryptedFileKeyring:
    return EncryptedFileKeyring(tmp_path / "data" / "secrets.enc", read_key(key_file))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- the encrypted file ---------------------------------------------------------------


def test_encrypted_round_trip_private_files_and_no_secret_in_the_file(
    tmp_path: Path, key_file: Path
) -> None:
    store = encrypted(tmp_path, key_file)
    store.set_password(SVC, "tokens", TOKEN)
    store.set_password(SVC, "other", "второй секрет")
    store.set_password("another-service", "tokens", "x")
    again = encrypted(tmp_path, key_file)  # a new process, the same key
    assert again.get_password(SVC, "tokens") == TOKEN
    assert again.get_password(SVC, "other") == "второй секрет"
    assert again.get_password(SVC, "missing") is None
    assert again.names(SVC) == ["other", "tokens"]
    again.delete_password(SVC, "other")
    assert store.get_password(SVC, "other") is None
    assert store.get_password("another-service", "tokens") == "x"
    text = store.path.read_text()
    assert TOKEN not in text and "второй" not in text and json.loads(text)["version"] == 1
    assert mode(store.path) == 0o600 and mode(store.lock_path) == 0o600
    assert mode(key_file) == 0o600


def test_each_write_has_a_new_nonce(tmp_path: Path, key_file: Path) -> None:
    store = encrypted(tmp_path, key_file)
    store.set_password(SVC, "a", "same")
    first = json.loads(store.path.read_text())
    store.set_password(SVC, "a", "same")
    second = json.loads(store.path.read_text())
    assert first["nonce"] != second["nonce"] and first["data"] != second["data"]


def test_a_wrong_key_is_named_and_the_file_never_overwritten(
    tmp_path: Path, key_file: Path
) -> None:
    encrypted(tmp_path, key_file).set_password(SVC, "tokens", TOKEN)
    other_key = tmp_path / "other.key"
    write_new_key(other_key)
    wrong = encrypted(tmp_path, other_key)
    before = wrong.path.read_bytes()
    attempts: list[Callable[[], object]] = [
        lambda: wrong.get_password(SVC, "tokens"),
        lambda: wrong.set_password(SVC, "tokens", "new"),
        lambda: wrong.delete_password(SVC, "tokens"),
    ]
    for attempt in attempts:
        with pytest.raises(SecretFileUnreadable) as caught:
            attempt()
        assert caught.value.problem == "wrong_key"
    assert wrong.path.read_bytes() == before
    text = error_text(caught.value, "ru")
    assert str(wrong.path) in text and "другим ключом" in text and "не тронут" in text
    assert str(wrong.path) in error_text(caught.value, "en")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda raw: raw[: len(raw) // 2], "damaged"),  # cut short
        (lambda raw: raw.replace('"data": "', '"data": "AAAA'), "damaged"),  # changed
        (lambda raw: raw.replace('"version": 1', '"version": 7'), "newer"),
        (lambda raw: raw.replace('"cipher": "AES-256-GCM"', '"cipher": "none"'), "damaged"),
        (lambda raw: "", "damaged"),
        (lambda raw: '{"format": "something else"}', "damaged"),
    ],
)
def test_a_damaged_file_is_a_clear_error_and_never_overwritten(
    damage: Callable[[str], str], problem: str, tmp_path: Path, key_file: Path
) -> None:
    store = encrypted(tmp_path, key_file)
    store.set_password(SVC, "tokens", TOKEN)
    store.path.write_text(damage(store.path.read_text()))
    before = store.path.read_bytes()
    with pytest.raises(SecretFileUnreadable) as read:
        store.get_password(SVC, "tokens")
    with pytest.raises(SecretFileUnreadable):
        store.set_password(SVC, "tokens", "new")
    assert read.value.problem == problem
    assert store.path.read_bytes() == before
    text = error_text(read.value, "ru")
    assert str(store.path) in text and "Traceback" not in text


def test_the_header_is_bound_to_the_ciphertext(tmp_path: Path, key_file: Path) -> None:
    """Associated data: the same ciphertext under another header does not open."""
    store = encrypted(tmp_path, key_file)
    store.set_password(SVC, "tokens", TOKEN)
    raw = json.loads(store.path.read_text())
    raw["format"], raw["extra"] = "hh-raiser-secrets", 1  # harmless keys are ignored
    store.path.write_text(json.dumps(raw))
    assert store.get_password(SVC, "tokens") == TOKEN
    nonce = base64.b64decode(raw["nonce"])
    raw["nonce"] = base64.b64encode(bytes([nonce[0] ^ 1]) + nonce[1:]).decode()
    store.path.write_text(json.dumps(raw))
    with pytest.raises(SecretFileUnreadable, match="integrity"):
        store.get_password(SVC, "tokens")


WRITER = """
import sys, time
from pathlib import Path
from tray_app.storage.file_secrets import EncryptedFileKeyring, read_key
path, key, who, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
store = EncryptedFileKeyring(path, read_key(key))
go = path.with_name("go")
while not go.exists():
    time.sleep(0.001)
for n in range(count):
    store.set_password("svc", f"{who}-{n}", f"value-{who}-{n}")
    assert store.get_password("svc", f"{who}-{n}") == f"value-{who}-{n}"
"""


def test_concurrent_writers_in_processes_lose_nothing(tmp_path: Path, key_file: Path) -> None:
    """Four processes write at once: the lock and the re-read inside it keep every
    write (without them, one process's write puts back what another just replaced)."""
    store = encrypted(tmp_path, key_file)
    store.path.parent.mkdir(parents=True)
    count, writers = 15, 4
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store.path), str(key_file), str(w), str(count)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    time.sleep(1.0)  # all of them started and waiting
    (store.path.parent / "go").touch()
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert len(store.names("svc")) == count * writers
    assert store.get_password("svc", "3-14") == "value-3-14"


# ---- the key ----------------------------------------------------------------------------


def test_new_key_is_random_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k" / "secrets.key"
    write_new_key(path)
    first = path.read_bytes()
    assert mode(path) == 0o600 and len(read_key(path)) == 32
    with pytest.raises(FileExistsError):
        write_new_key(path)
    assert path.read_bytes() == first
    other = tmp_path / "other.key"
    write_new_key(other)
    assert read_key(other) != read_key(path)
    raw = tmp_path / "raw.key"  # head -c 32 /dev/urandom
    raw.write_bytes(b"\n" * 32)
    assert read_key(raw) == b"\n" * 32
    bad = tmp_path / "bad.key"
    bad.write_text("password123\n")
    with pytest.raises(SecretKeyUnusable) as caught:
        read_key(bad)
    assert caught.value.problem == "format"


def test_new_key_command_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    code, out, _ = run(
        {"HH_RAISER_HOME": str(tmp_path / "h")}, None, "secrets", "new-key", str(path)
    )
    assert code == 0 and str(path) in out and "HH_RAISER_SECRETS_KEY_FILE=" in out
    before = path.read_bytes()
    code, _, err = run(
        {"HH_RAISER_HOME": str(tmp_path / "h")}, None, "secrets", "new-key", str(path)
    )
    assert code == 1 and "уже существует" in err and path.read_bytes() == before


def test_new_key_to_stdout_prints_the_key_alone(tmp_path: Path) -> None:
    """``docker compose run … secrets new-key - > secrets.key``: stdout is the key file."""
    code, out, err = run({"HH_RAISER_HOME": str(tmp_path / "h")}, None, "secrets", "new-key", "-")
    assert code == 0 and "0600" in err
    (tmp_path / "from-stdout.key").write_text(out)
    assert len(read_key(tmp_path / "from-stdout.key")) == 32


def test_a_docker_secret_is_not_called_exposed_whatever_its_mode(tmp_path: Path) -> None:
    """Compose mounts the host's file as it is (0644, so the container's user reads
    it); inside the container nobody else is there to read it."""
    docker = tmp_path / "run-secrets"
    key = docker / "hh-raiser-secrets-key"
    write_new_key(key)
    key.chmod(0o644)
    env = {
        "HH_RAISER_HOME": str(tmp_path / "h"),
        "HH_RAISER_SECRETS_KEY_FILE": str(key),  # as the image sets it
    }
    _, info = open_store(StoreKind.ENCRYPTED_FILE, app_paths(env), env, docker_secrets=docker)
    assert info.safe and not info.key_exposed
    elsewhere = tmp_path / "home.key"
    write_new_key(elsewhere)
    elsewhere.chmod(0o644)
    env["HH_RAISER_SECRETS_KEY_FILE"] = str(elsewhere)
    _, info = open_store(StoreKind.ENCRYPTED_FILE, app_paths(env), env, docker_secrets=docker)
    assert info.key_exposed and not info.safe
    env["HH_RAISER_SECRETS_KEY_FILE"] = str(docker / "missing")  # the secret not given
    with pytest.raises(SecretKeyUnusable) as caught:
        open_store(StoreKind.ENCRYPTED_FILE, app_paths(env), env, docker_secrets=docker)
    assert "hh-raiser-secrets-key (secrets: в compose.yaml)" in error_text(caught.value, "ru")


def test_the_key_is_looked_for_in_order(tmp_path: Path) -> None:
    named, systemd, docker = tmp_path / "named", tmp_path / "creds", tmp_path / "docker"
    systemd.mkdir()
    docker.mkdir()
    write_new_key(docker / "hh-raiser-secrets-key")
    assert find_key({}, docker).origin == KeyFrom.DOCKER
    write_new_key(systemd / "hh-raiser-secrets-key")
    env = {"CREDENTIALS_DIRECTORY": str(systemd)}
    assert find_key(env, docker).origin == KeyFrom.SYSTEMD
    env["HH_RAISER_SECRETS_KEY_FILE"] = str(named)  # named on purpose: used even if missing
    assert find_key(env, docker) == find_key(env, docker).__class__(KeyFrom.KEY_FILE, named)
    with pytest.raises(SecretKeyMissing) as caught:
        find_key({"CREDENTIALS_DIRECTORY": str(tmp_path / "none")}, tmp_path / "nothing")
    assert caught.value.looked == (
        str(tmp_path / "none" / "hh-raiser-secrets-key"),
        str(tmp_path / "nothing" / "hh-raiser-secrets-key"),
    )


# ---- choosing the store -----------------------------------------------------------------


def test_the_environment_wins_over_the_setting_over_the_keyring() -> None:
    setting = DEFAULTS.__class__(secret_store=StoreKind.PLAIN_FILE)
    assert chosen_store({}, DEFAULTS) == (StoreKind.KEYRING, ChosenBy.DEFAULT)
    assert chosen_store({}, setting) == (StoreKind.PLAIN_FILE, ChosenBy.SETTING)
    env = {"HH_RAISER_SECRET_STORE": "Encrypted-File"}
    assert chosen_store(env, setting) == (StoreKind.ENCRYPTED_FILE, ChosenBy.ENVIRONMENT)
    with pytest.raises(ConfigError, match="HH_RAISER_SECRET_STORE"):
        chosen_store({"HH_RAISER_SECRET_STORE": "file"}, DEFAULTS)


def run(environ: dict[str, str], backend: object, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cli = Cli(environ=environ, out=out, err=err, keyring_backend=backend)  # type: ignore[arg-type]
    code = main(list(args), cli)
    return code, out.getvalue(), err.getvalue()


def test_without_a_keyring_the_message_names_each_option_with_its_command(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    no_keyring = fail.Keyring()  # type: ignore[no-untyped-call]
    # set up before (a fresh install is "not set up yet" and points at self-check, which
    # gives this message too: test_cli_unit, test_bundle)
    SettingsStore(home / "config" / "settings.json").update(contact_email="me@example.com")
    code, _, err = run({"HH_RAISER_HOME": str(home)}, no_keyring, "status")
    assert code == 1
    key = home / "config" / "secrets.key"
    assert "gnome-keyring" in err  # the desktop
    assert f"hh-raiser secrets new-key {key}" in err  # the server, exact commands
    assert f"export HH_RAISER_SECRET_STORE=encrypted-file HH_RAISER_SECRETS_KEY_FILE={key}" in err
    assert "hh-raiser config set secret_store encrypted-file" in err
    assert "LoadCredential=hh-raiser-secrets-key:" in err
    assert "export HH_RAISER_SECRET_STORE=plain-file" in err  # the plain file, with its risk
    assert str(home / "data" / "secrets.json") in err and "открытым текстом" in err
    assert not (home / "data" / "secrets.json").exists()  # never chosen silently
    assert not (home / "data" / "secrets.enc").exists()
    code, _, err = run({"HH_RAISER_HOME": str(home)}, no_keyring, "config", "set", "language", "en")
    code, _, err = run({"HH_RAISER_HOME": str(home)}, no_keyring, "resumes")
    assert code == 1 and "The options:" in err and "export HH_RAISER_SECRET_STORE=plain-file" in err


def test_the_encrypted_store_without_a_key_says_where_it_looked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"HH_RAISER_HOME": str(home), "HH_RAISER_SECRET_STORE": "encrypted-file"}
    code, _, err = run(env, MemoryKeyring(), "status")
    assert code == 1 and "/run/secrets/hh-raiser-secrets-key" in err
    assert f"hh-raiser secrets new-key {home / 'config' / 'secrets.key'}" in err
    env["HH_RAISER_SECRETS_KEY_FILE"] = str(tmp_path / "typo.key")
    code, _, err = run(env, MemoryKeyring(), "status")
    assert code == 1 and f"указывает на {tmp_path / 'typo.key'}, но такого файла нет" in err


def test_a_plain_text_backend_is_refused_unless_chosen(tmp_path: Path) -> None:
    plain = PlainFileKeyring(tmp_path / "secrets.json")
    with pytest.raises(NoKeyringError, match="only when chosen"):
        SecretStore(plain, SVC)
    SecretStore(plain, SVC, allow_plain=True).set("tokens", TOKEN)
    assert json.loads(plain.path.read_text())["secrets"][SVC]["tokens"] == TOKEN
    assert mode(plain.path) == 0o600


def test_the_plain_file_warns_at_every_start_and_in_self_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    env = {"HH_RAISER_HOME": str(home), "HH_RAISER_SECRET_STORE": "plain-file"}
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"ACCESS_TOKEN={TOKEN}\nREFRESH_TOKEN=refresh-token-value-987654\n")
    code, _, err = run(env, None, "import-env", str(dotenv))
    plain = home / "data" / "secrets.json"
    assert code == 0 and f"открытым текстом в {plain}" in err
    assert TOKEN in plain.read_text() and mode(plain) == 0o600  # the user's choice
    code, _, err = run(env, None, "status")
    assert err.count("Внимание: секреты") == 1  # every start, once
    log = next((home / "logs").glob("*.log")).read_text()
    assert log.count("secrets are kept in plain text") >= 2
    monkeypatch.setattr(selfcheck, "_tray", lambda _l: TrayCheck("pystray._gtk", None, True, True))
    code, out, _ = run(env, None, "self-check", "--json")
    store = json.loads(out)["secret_store"]
    assert (store["kind"], store["safe"], store["where"]) == ("plain-file", False, str(plain))
    code, out, _ = run(env, None, "self-check")
    assert "файл открытым текстом" in out and "небезопасно, так выбрано вами" in out


def test_status_and_self_check_report_the_encrypted_store(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    env = {"HH_RAISER_HOME": str(home), "HH_RAISER_SECRETS_KEY_FILE": str(key_file)}
    code, out, _ = run(env, None, "config", "set", "secret_store", "encrypted-file")
    assert code == 0 and "secrets migrate --from" in out
    code, out, err = run(env, None, "secrets", "status")
    assert code == 0 and err == ""
    assert f"зашифрованный файл {home / 'data' / 'secrets.enc'}, ключ {key_file}" in out
    assert "выбрано настройкой secret_store — безопасно" in out
    monkeypatch.setattr(selfcheck, "_tray", lambda _l: TrayCheck("pystray._gtk", None, True, True))
    code, out, _ = run(env, None, "self-check", "--json")
    report = json.loads(out)
    assert code == 0 and report["problems"] == []
    store = report["secret_store"]
    assert (store["kind"], store["key_from"], store["safe"]) == ("encrypted-file", "key_file", True)
    key_file.chmod(0o644)  # others can read the key: said, and not called safe
    code, out, err = run(env, None, "secrets", "status", "--json")
    assert json.loads(out)["safe"] is False and f"chmod 600 {key_file}" in err


def test_a_bad_key_in_self_check_is_a_problem_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selfcheck, "_tray", lambda _l: TrayCheck("pystray._gtk", None, True, True))
    env = {"HH_RAISER_HOME": str(tmp_path), "HH_RAISER_SECRET_STORE": "encrypted-file"}
    out = io.StringIO()
    cli = Cli(environ=env, out=out, err=io.StringIO())
    assert selfcheck.cmd_self_check(cli, argparse.Namespace(json=False, headless=True)) == 1
    assert "hh-raiser secrets new-key" in out.getvalue()


# ---- moving every secret ---------------------------------------------------------------


def big_session(host: str) -> WebSession:
    """More than one keyring entry holds (2560 bytes): saved in parts."""
    cookies = {f"cookie{n}": f"{host}-{n}-" + "v" * 60 for n in range(40)}
    return WebSession(host, cookies, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


def fill(secrets: SecretStore) -> dict[str, object]:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    TokenStore(secrets).save(TokenPair("AT-" + "a" * 30, "RT-" + "r" * 30, now))
    secrets.set(CLIENT_SECRET, "client-secret-value")
    secrets.set(TELEGRAM_BOT_TOKEN, "123456:bot-token-value-xyz")
    secrets.set(TELEGRAM_PROXY_AUTH, "user:proxy-password")
    WebSessionStore(secrets, "hh.ru").save(big_session("hh.ru"), now)
    WebSessionStore(secrets, "hh.kz").save(
        WebSession("hh.kz", {"hhtoken": "kz-token-1234567"}), now
    )
    return everything(secrets)


def everything(secrets: SecretStore) -> dict[str, object]:
    def session(host: str) -> dict[str, str] | None:
        loaded = WebSessionStore(secrets, host).load()
        return dict(loaded.cookies) if loaded else None

    return {
        "tokens": TokenStore(secrets).load(),
        **{
            name: secrets.get(name)
            for name in (CLIENT_SECRET, TELEGRAM_BOT_TOKEN, TELEGRAM_PROXY_AUTH)
        },
        "hh.ru": session("hh.ru"),
        "hh.kz": session("hh.kz"),
    }


@pytest.fixture(params=["memory", "secret-service"])
def a_keyring(request: pytest.FixtureRequest) -> KeyringBackend:
    """The in-memory keyring, and the real Secret Service where the tests run with one
    (scripts/with-test-keyring); the service name is the test home's own."""
    if request.param == "memory":
        return MemoryKeyring()
    backend = keyring.get_keyring()
    if "SecretService" not in type(backend).__module__:
        pytest.skip(f"no Secret Service here ({type(backend).__name__})")
    return backend


def test_migrate_keyring_to_encrypted_file_and_back_keeps_every_secret(
    tmp_path: Path, key_file: Path, a_keyring: KeyringBackend
) -> None:
    home = tmp_path / "home"
    env = {"HH_RAISER_HOME": str(home), "HH_RAISER_SECRETS_KEY_FILE": str(key_file)}
    service = app_paths(env).keyring_service
    in_keyring = SecretStore(a_keyring, service)
    original = fill(in_keyring)
    assert in_keyring.get("web_session:hh.ru:a1") is not None  # a session in parts

    code, out, err = run(env, a_keyring, "secrets", "migrate", "--to", "encrypted-file")
    assert code == 0, err
    assert "записей — 6, сессии сайта: hh.ru, hh.kz" in out and "--delete-old" in out
    assert SettingsStore(home / "config" / "settings.json").load().secret_store == "encrypted-file"
    file_store, _ = open_store(StoreKind.ENCRYPTED_FILE, app_paths(env), env)
    assert everything(file_store) == original
    assert everything(in_keyring) == original  # the old store as it was
    assert "web_session:hh.ru:a1" in (file_store.names() or [])
    secrets_file = home / "data" / "secrets.enc"
    assert "client-secret-value" not in secrets_file.read_text()

    # used from the file now: a rotation lands there, not in the keyring
    rotated = TokenPair("AT2-" + "b" * 30, "RT2-" + "s" * 30, None)
    TokenStore(file_store).save(rotated)
    code, out, err = run(env, a_keyring, "secrets", "migrate", "--to", "keyring", "--delete-old")
    assert code == 0, err
    assert everything(in_keyring) == {**original, "tokens": rotated}  # the newer pair
    assert file_store.names() == []  # --delete-old
    assert SettingsStore(home / "config" / "settings.json").load().secret_store == "keyring"
    code, _, err = run(env, a_keyring, "secrets", "migrate", "--to", "plain-file", "--delete-old")
    assert code == 0, err
    assert everything(in_keyring) == dict.fromkeys(original)  # nothing left behind
    assert in_keyring.get("web_session:hh.ru:a1") is None


def test_a_copy_that_does_not_read_back_switches_nothing(tmp_path: Path, key_file: Path) -> None:
    class LosingKeyring(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            pass  # a keyring that says yes and keeps nothing

    home = tmp_path / "home"
    env = {
        "HH_RAISER_HOME": str(home),
        "HH_RAISER_SECRETS_KEY_FILE": str(key_file),
        "HH_RAISER_SECRET_STORE": "encrypted-file",
    }
    file_store, _ = open_store(StoreKind.ENCRYPTED_FILE, app_paths(env), env)
    original = fill(file_store)
    code, _, err = run(env, LosingKeyring(), "secrets", "migrate", "--to", "keyring")
    assert code == 1 and "did not read back" in err
    assert SettingsStore(home / "config" / "settings.json").load().secret_store == "keyring"
    assert everything(file_store) == original


def test_migrate_waits_for_no_instance_and_names_an_overriding_variable(
    tmp_path: Path, key_file: Path
) -> None:
    from tray_app.storage.lock import InstanceLock

    home = tmp_path / "home"
    env = {
        "HH_RAISER_HOME": str(home),
        "HH_RAISER_SECRETS_KEY_FILE": str(key_file),
        "HH_RAISER_SECRET_STORE": "encrypted-file",
    }
    with InstanceLock(app_paths(env).lock_file).acquire():
        code, _, err = run(env, MemoryKeyring(), "secrets", "migrate", "--to", "keyring")
    assert code == 1 and "остановите его" in err
    code, _, err = run(env, MemoryKeyring(), "secrets", "migrate", "--to", "encrypted-file")
    assert code == 1 and "и так в хранилище" in err
    code, _, err = run(env, MemoryKeyring(), "secrets", "migrate", "--to", "keyring")
    assert code == 0 and "HH_RAISER_SECRET_STORE=encrypted-file" in err


def test_the_demo_keeps_its_fake_secrets_in_memory_whatever_was_chosen(tmp_path: Path) -> None:
    from tray_app.adapters.cli.serve import demo_world

    env = {"HH_RAISER_HOME": str(tmp_path), "HH_RAISER_SECRET_STORE": "plain-file"}
    cli = Cli(environ=env, out=io.StringIO(), err=io.StringIO())
    with demo_world(cli, cooldown=5, web=False) as (demo, _sim):
        runtime = demo.runtime()
        assert runtime.secret_store.kind == StoreKind.KEYRING
        assert isinstance(runtime.secrets.backend, MemoryKeyring)
        runtime.close()
    assert not any(tmp_path.rglob("secrets.json"))
