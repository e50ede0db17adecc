"""Token lifecycle against the simulator: refresh only after expiry, once, saved first."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tray_app.core.errors import SignInNeeded
from tray_app.core.events import TokenRefreshed
from tray_app.core.models import TokenPair
from tray_app.simulator.hh import HHSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import TokenStore
from tray_app.wiring import Runtime, build_runtime


def stored(runtime: Runtime) -> TokenPair:
    pair = TokenStore(runtime.secrets).load()
    assert pair is not None
    return pair


def test_expired_token_is_refreshed_and_the_call_retried(
    runtime: Runtime, sim: HHSimulator
) -> None:
    events: list[object] = []
    runtime.bus.subscribe(events.append)
    old = stored(runtime)
    # hh.ru expires the token early (our tracked expiry still lies ahead): 403 token_expired
    sim.expire_all_tokens()
    assert len(runtime.api.list_resumes()) == 4
    new = stored(runtime)
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert new.access_token in sim.tokens
    assert [c.form["refresh_token"] for c in sim.calls("POST", "/token")] == [[old.refresh_token]]
    assert any(isinstance(e, TokenRefreshed) for e in events)


def test_tracked_expiry_refreshes_before_the_call(runtime: Runtime, sim: HHSimulator) -> None:
    old = stored(runtime)
    sim.expire_all_tokens()
    TokenStore(runtime.secrets).save(
        TokenPair(old.access_token, old.refresh_token, sim.now() - timedelta(seconds=10))
    )
    runtime.api.me()
    assert not sim.calls("GET", "/me")[0].headers["Authorization"].endswith(old.access_token)
    assert len(sim.calls("POST", "/token")) == 1


def test_no_early_refresh_inside_the_expiry_grace(runtime: Runtime, sim: HHSimulator) -> None:
    old = stored(runtime)
    # our estimate says it expired a second ago; hh.ru may not agree yet
    TokenStore(runtime.secrets).save(
        TokenPair(old.access_token, old.refresh_token, sim.now() - timedelta(seconds=1))
    )
    runtime.api.me()
    assert sim.calls("POST", "/token") == []


def test_refresh_too_early_keeps_the_working_pair(runtime: Runtime, sim: HHSimulator) -> None:
    old = stored(runtime)
    # our clock thinks the token expired; hh.ru says "token not expired"
    TokenStore(runtime.secrets).save(
        TokenPair(old.access_token, old.refresh_token, sim.now() - timedelta(hours=1))
    )
    runtime.api.me()
    after = stored(runtime)
    assert (after.access_token, after.refresh_token) == (old.access_token, old.refresh_token)
    assert after.expires_at is None and not after.rejected


def test_two_threads_refresh_once(runtime: Runtime, sim: HHSimulator) -> None:
    sim.expire_all_tokens()
    sim.inject("hold", "/token", seconds=0.5)  # keep the first refresh in flight
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            runtime.api.me()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = [c.form["refresh_token"][0] for c in sim.calls("POST", "/token")]
    assert len(sent) == 1
    assert len(sim.calls("GET", "/me")) >= 5  # four callers, the first ones refused


def test_invalid_grant_needs_sign_in_and_is_never_resent(
    runtime: Runtime, sim: HHSimulator
) -> None:
    sim.expire_all_tokens()
    for token in sim.tokens.values():
        token.refresh_used = True  # "token has already been refreshed"
    with pytest.raises(SignInNeeded):
        runtime.api.me()
    assert stored(runtime).rejected
    with pytest.raises(SignInNeeded):
        runtime.api.me()
    assert len(sim.calls("POST", "/token")) == 1


def test_token_endpoint_falls_back_to_oauth_token(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    sim.inject("404", "/token", method="POST")
    runtime = build_runtime(environ, keyring_backend=keyring_backend)
    code = sim.new_code("http://127.0.0.1:8765/callback")
    pair = runtime.tokens.exchange_code(
        code,
        client_id="SIMCLIENTID",
        client_secret="SIMCLIENTSECRET",
        redirect_uri="http://127.0.0.1:8765/callback",
    )
    assert pair.access_token in sim.tokens
    assert [c.path for c in sim.requests if c.method == "POST"] == ["/token", "/oauth/token"]
    assert stored(runtime) == pair
    assert pair.expires_at is not None and pair.expires_at > sim.now() + timedelta(days=13)


def test_unreachable_token_endpoint_falls_back(
    environ: dict[str, str], keyring_backend: MemoryKeyring, sim: HHSimulator
) -> None:
    runtime = build_runtime(
        {**environ, "HH_RAISER_API_URL": "http://127.0.0.1:9"}, keyring_backend=keyring_backend
    )
    token = sim.issue_tokens()
    sim.expire_all_tokens()
    TokenStore(runtime.secrets).save(TokenPair(token.access_token, token.refresh_token))
    new = runtime.tokens.refresh(token.access_token)
    assert new in sim.tokens
    assert len(sim.calls("POST", "/oauth/token")) == 1


def test_bad_client_secret_is_sign_in_needed(runtime: Runtime, sim: HHSimulator) -> None:
    with pytest.raises(SignInNeeded):
        runtime.tokens.exchange_code(
            sim.new_code("http://x/cb"),
            client_id="SIMCLIENTID",
            client_secret="wrong",
            redirect_uri="http://x/cb",
        )
