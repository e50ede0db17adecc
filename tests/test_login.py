"""``hh-raiser login``: browser + loopback redirect, and the paste fallback."""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import requests

from tray_app.adapters.cli import Cli, main
from tray_app.adapters.login import LoopbackReceiver, parse_redirect
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.paths import app_paths
from tray_app.storage.secrets import CLIENT_SECRET, SecretStore, TokenStore
from tray_app.storage.settings import SettingsStore

from .conftest import write_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_cli(
    environ: dict[str, str], backend: MemoryKeyring, **kw: object
) -> tuple[Cli, io.StringIO]:
    out = io.StringIO()
    cli = Cli(environ=environ, out=out, err=io.StringIO(), keyring_backend=backend, **kw)  # type: ignore[arg-type]
    return cli, out


def browser_that_approves(url: str) -> bool:
    """The user's browser: opens hh.ru, approves, follows the redirect home."""
    threading.Thread(target=lambda: requests.get(url, timeout=5), daemon=True).start()
    return True


def test_browser_login_stores_tokens_and_secret(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    port = free_port()
    write_settings(home, client_id="SIMCLIENTID", redirect_port=port, contact_email="a@b.cd")
    cli, out = make_cli(
        environ,
        keyring_backend,
        secret_prompt=lambda _: "SIMCLIENTSECRET",
        open_browser=browser_that_approves,
    )
    assert main(["login", "--timeout", "10"], cli) == 0, cli.err.getvalue()  # type: ignore[attr-defined]
    secrets = SecretStore(keyring_backend, service=app_paths(environ).keyring_service)
    pair = TokenStore(secrets).load()
    assert pair is not None and pair.access_token in sim.tokens
    assert secrets.get(CLIENT_SECRET) == "SIMCLIENTSECRET"
    grant = sim.calls("POST", "/token")[0].form
    assert grant["redirect_uri"] == [f"http://127.0.0.1:{port}/callback"]
    assert "SIMCLIENTSECRET" not in out.getvalue()


def test_paste_fallback(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    write_settings(home, client_id="SIMCLIENTID", redirect_port=free_port())
    pasted: list[str] = []

    def paste(_: str) -> str:
        # the user copies the address the browser was sent to
        authorize = next(x for x in out.getvalue().splitlines() if "/oauth/authorize?" in x)
        location = requests.get(authorize.strip(), allow_redirects=False, timeout=5).headers[
            "Location"
        ]
        pasted.append(location)
        return location

    cli, out = make_cli(
        environ, keyring_backend, secret_prompt=lambda _: "SIMCLIENTSECRET", prompt=paste
    )
    assert main(["login", "--paste"], cli) == 0
    assert (
        pasted
        and TokenStore(
            SecretStore(keyring_backend, service=app_paths(environ).keyring_service)
        ).load()
        is not None
    )


def test_pasted_answer_with_a_foreign_state_is_refused(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    write_settings(home, client_id="SIMCLIENTID", redirect_port=free_port())
    cli, _ = make_cli(
        environ,
        keyring_backend,
        secret_prompt=lambda _: "SIMCLIENTSECRET",
        prompt=lambda _: "http://127.0.0.1/callback?code=abc&state=someone-elses",
    )
    assert main(["login", "--paste"], cli) == 1
    assert sim.calls("POST", "/token") == []


def test_login_without_client_id_says_what_to_set(
    environ: dict[str, str], keyring_backend: MemoryKeyring
) -> None:
    cli, _ = make_cli(environ, keyring_backend)
    assert main(["login"], cli) == 1
    assert "client_id" in cli.err.getvalue()  # type: ignore[attr-defined]


def test_receiver_ignores_a_foreign_state_then_takes_the_right_one() -> None:
    port = free_port()
    receiver = LoopbackReceiver(port, "right-state", "en")

    def visit() -> None:
        base = f"http://127.0.0.1:{port}/callback"
        assert requests.get(f"{base}?code=evil&state=wrong", timeout=5).status_code == 400
        assert requests.get(f"{base}?code=good&state=right-state", timeout=5).status_code == 200

    threading.Thread(target=visit, daemon=True).start()
    result = receiver.wait(10)
    assert result is not None and result.code == "good"


def test_receiver_times_out_and_closes() -> None:
    port = free_port()
    assert LoopbackReceiver(port, "s", "en").wait(0.3) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def test_parse_redirect_forms() -> None:
    assert parse_redirect("http://127.0.0.1:8765/callback?code=C1&state=S").code == "C1"
    assert parse_redirect("?error=access_denied").error == "access_denied"
    assert parse_redirect("  C2 ").code == "C2"


def test_an_oauth_login_that_works_switches_back_to_the_api(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator, home: Path
) -> None:
    write_settings(home, client_id="SIMCLIENTID", redirect_port=free_port(), transport="web")
    cli, _ = make_cli(
        environ,
        keyring_backend,
        secret_prompt=lambda _: "SIMCLIENTSECRET",
        open_browser=browser_that_approves,
    )
    assert main(["login", "--timeout", "10"], cli) == 0
    assert SettingsStore(home / "config" / "settings.json").load().transport == "api"
