"""Proxies: the standard variables for hh.ru, the telegram_proxy setting for Telegram."""

from __future__ import annotations

import base64
import io

import pytest

from tray_app.adapters.cli import Cli, main
from tray_app.core.errors import ConfigError
from tray_app.core.redact import redactor
from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.telegram import TelegramSimulator
from tray_app.storage.memory_keyring import MemoryKeyring
from tray_app.storage.secrets import TELEGRAM_PROXY_AUTH
from tray_app.storage.settings import validate
from tray_app.telegram.api import BotApi

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
    assert len(runtime.api.list_resumes()) == 4
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


def test_proxy_credentials_go_to_the_keyring_and_reach_the_proxy(
    proxy_url: str,
    tg_environ: dict[str, str],
    keyring_backend: MemoryKeyring,
    sim: HHSimulator,
    tg: TelegramSimulator,
) -> None:
    runtime = make_runtime(tg_environ, keyring_backend, sim)
    connect_telegram(runtime, tg)
    with_auth = proxy_url.replace("://", "://anna:pr0xy-p%40ss@")
    assert (
        main(["config", "set", "telegram_proxy", with_auth], quiet_cli(tg_environ, keyring_backend))
        == 0
    )
    settings_text = runtime.paths.settings_file.read_text()
    assert f'"telegram_proxy": "{proxy_url}"' in settings_text and "pr0xy" not in settings_text
    assert runtime.secrets.get(TELEGRAM_PROXY_AUTH) == "anna:pr0xy-p%40ss"
    runtime.settings.reload_if_changed()
    runtime.telegram_targets.forget_secrets()
    target = runtime.telegram_targets.current()
    assert target is not None and target.bot.proxy == with_auth
    api = BotApi(target.bot)
    api.send_message(target.chat_id, "via proxy")
    api.close()
    expected = "Basic " + base64.b64encode(b"anna:pr0xy-p@ss").decode()
    assert RecordingProxy.authorizations == [expected]
    assert "pr0xy" not in redactor("socks5h://anna:pr0xy-p%40ss@host:1080 failed")
    assert redactor("http://bob:never-seen@host:3128 x") == "http://bob:***@host:3128 x"
    # a proxy without credentials removes the stored ones
    assert (
        main(["config", "set", "telegram_proxy", proxy_url], quiet_cli(tg_environ, keyring_backend))
        == 0
    )
    assert runtime.secrets.get(TELEGRAM_PROXY_AUTH) is None
    runtime.close()


def test_credentials_in_the_settings_file_are_refused() -> None:
    with pytest.raises(ConfigError, match="keyring"):
        validate("telegram_proxy", "socks5://anna:secret@host:1080")


def quiet_cli(environ: dict[str, str], backend: MemoryKeyring) -> Cli:
    return Cli(environ=environ, out=io.StringIO(), err=io.StringIO(), keyring_backend=backend)
