"""Proxies: the standard variables for hh.ru, the telegram_proxy setting for Telegram."""

from __future__ import annotations

import pytest

from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.transports.telegram import BotApi

from .conftest import CHAT, connect_telegram, make_runtime
from .proxies import RecordingProxy, Socks5Proxy


def test_http_proxy_variable_is_honoured(
    proxy_url: str,
    environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    runtime = make_runtime(environ, keyring_backend, sim)
    assert len(runtime.transport.list_resumes()) == 4
    assert RecordingProxy.seen == [f"GET {sim.url}/resumes/mine?page=0&per_page=100"]


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_telegram_goes_through_its_proxy_setting(
    kind: str,
    proxy_url: str,
    socks_url: str,
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    proxy = proxy_url if kind == "http" else socks_url
    runtime = make_runtime(tg_environ, keyring_backend, sim, telegram_proxy=proxy)
    connect_telegram(runtime, tg)
    target = runtime.telegram_targets.current()
    assert target is not None and target.bot.proxy == proxy
    api = BotApi(target.bot)
    api.send_message(target.chat_id, "via proxy")
    api.close()
    runtime.close()
    assert tg.sent(CHAT)[-1].plain == "via proxy"
    port = tg.url.rsplit(":", 1)[1]
    if kind == "http":
        assert RecordingProxy.seen == [f"POST {tg.url}/bot{tg.token}/sendMessage"]
    else:
        assert Socks5Proxy.seen == [f"127.0.0.1:{port}"]
    # the hh.ru transport does not use the Telegram proxy
    assert not [s for s in RecordingProxy.seen + Socks5Proxy.seen if sim.url in s]


def test_the_environment_overrides_the_telegram_url_setting(
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    runtime = make_runtime(
        tg_environ, keyring_backend, sim, telegram_api_url="https://bot-api.example.org"
    )
    assert runtime.telegram_targets.api_url() == tg.url
    runtime.close()
    plain = {k: v for k, v in tg_environ.items() if k != "HH_RAISER_TELEGRAM_URL"}
    runtime = make_runtime(plain, keyring_backend, sim)
    assert runtime.telegram_targets.api_url() == "https://bot-api.example.org"
    runtime.close()
