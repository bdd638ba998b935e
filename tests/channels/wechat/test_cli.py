"""``medbot wechat menu|outbox`` and ``medbot wechat-sim`` against the fake API."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.wechat import _sim_loop
from bot.store.migrate import upgrade
from bot.store.db import Database
from bot.wechat.menu import Menu
from channels.wechat.testing import FakeWeChatAPI
from tests.channels.wechat.conftest import AES_KEY, TOKEN, Served


@pytest.fixture
def wechat_env(monkeypatch: pytest.MonkeyPatch, fake_api: FakeWeChatAPI, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(Database(url))
    for key, value in {"MEDBOT_DATABASE_URL": url, "MEDBOT_WECHAT_TOKEN": TOKEN,
                       "MEDBOT_WECHAT_APP_ID": fake_api.app_id,
                       "MEDBOT_WECHAT_APP_SECRET": fake_api.app_secret,
                       "MEDBOT_WECHAT_AES_KEY": AES_KEY,
                       "MEDBOT_WECHAT_API_BASE": fake_api.base_url}.items():
        monkeypatch.setenv(key, value)
    return url


def test_menu_publishes_the_yaml_menu(wechat_env: str, fake_api: FakeWeChatAPI) -> None:
    assert main(["wechat", "menu", "--language", "en"]) == 0
    assert fake_api.menus == [Menu.load().payload("en")]
    assert fake_api.menus[0]["button"][0] == {"name": "Triage", "type": "click",
                                              "key": "MENU_TRIAGE"}


def test_menu_keys_map_to_domain_intents() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    intents = set(yaml.safe_load((PROJECT_ROOT / "bot/domain/intents.yml").read_text())["intents"])
    assert set(Menu.load().intents().values()) <= intents


def test_outbox_lists_and_retries_failures(wechat_env: str, fake_api: FakeWeChatAPI,
                                          capsys: pytest.CaptureFixture) -> None:
    from bot.app import App
    from bot.cli.wechat import build_sender, load_config
    from bot.settings import Settings
    from bot.wechat.state import WeChatState

    settings = Settings.from_env()
    sender = build_sender(App.from_settings(settings), load_config(settings))
    WeChatState(sender.db).claim("msg:1", "oCli000001")
    fake_api.fail_next(45015)
    assert sender.send("oCli000001", "hi").status == "failed"
    assert main(["wechat", "outbox"]) == 1
    assert "45015" in capsys.readouterr().out
    assert main(["wechat", "outbox", "--retry"]) == 0
    assert main(["wechat", "outbox"]) == 0


async def test_wechat_sim_chats_through_the_webhook(served: Served, monkeypatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    lines = iter(["你好", "/image", "/click MENU_HUMAN", "/quit"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    assert await _sim_loop(served.url, served.channel.config, "oSimCli001", served.api) == 0
    out = capsys.readouterr().out
    assert "medbot > echo: 你好" in out and "medbot > echo: /request_human" in out
    assert "I can only read text messages" in out
