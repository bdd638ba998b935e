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


def test_the_menu_is_published_in_the_hospitals_language(
        wechat_env: str, fake_api: FakeWeChatAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["wechat", "menu"]) == 0  # MEDBOT_DEFAULT_LANGUAGE unset: zh
    monkeypatch.setenv("MEDBOT_DEFAULT_LANGUAGE", "en")
    assert main(["wechat", "menu"]) == 0
    zh, en = fake_api.menus
    assert zh == Menu.load().payload("zh") and en == Menu.load().payload("en")
    assert zh["button"][0]["name"] == "智能导诊" and en["button"][0]["name"] == "Triage"
    # the other language is one click away, labelled in that language
    assert {"name": "English", "type": "click", "key": "MENU_LANG_EN"} in \
        zh["button"][2]["sub_button"]
    assert {"name": "中文", "type": "click", "key": "MENU_LANG_ZH"} in \
        en["button"][2]["sub_button"]
    assert "MENU_LANG_ZH" not in str(zh) and "MENU_LANG_EN" not in str(en)


def test_a_language_switch_click_is_rasas_switch_language_with_the_language() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message

    from actions.language import language_events
    from bot.settings import PROJECT_ROOT

    domain = Domain.load(str(PROJECT_ROOT / "bot/domain"))
    texts = Menu.load().texts()
    assert texts["MENU_BOOK"] == "/book_appointment"
    for lang, current in (("en", "zh"), ("zh", "en")):
        text = texts[f"MENU_LANG_{lang.upper()}"]
        parsed = YAMLStoryReader.unpack_regex_message(Message(data={"text": text}), domain)
        assert parsed.get("intent")["name"] == "switch_language"
        assert [(e["entity"], e["value"]) for e in parsed.get("entities")] == [("language", lang)]
        events = language_events(text, "switch_language", current, locked=False)
        assert {e["name"]: e["value"] for e in events} == {"language": lang,
                                                            "language_locked": True}


def test_a_menu_with_two_language_buttons_is_refused(tmp_path: Path) -> None:
    from bot.errors import KnowledgeBaseError

    path = tmp_path / "menu.yml"
    path.write_text("version: '1'\nbuttons:\n"
                    "  - {name: {zh: English, en: 中文}, language_switch: true}\n"
                    "  - {name: {zh: English, en: 中文}, language_switch: true}\n",
                    encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="language_switch"):
        Menu.load(path)


def test_menu_keys_map_to_domain_intents() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    intents = set(yaml.safe_load((PROJECT_ROOT / "bot/domain/intents.yml").read_text())["intents"])
    assert set(Menu.load().intents().values()) <= intents


def test_outbox_lists_and_retries_failures(wechat_env: str, fake_api: FakeWeChatAPI,
                                          capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.app import App
    from bot.cli.wechat import build_sender, load_config
    from bot.settings import Settings
    from bot.wechat.state import WeChatState

    settings = Settings.from_env()
    sender = build_sender(App.from_settings(settings), load_config(settings))
    WeChatState(sender.db).claim("msg:1", "oCli000001")
    fake_api.fail_next(45015)  # the fallback, but no template id is configured
    assert sender.send("oCli000001", "hi").status == "failed"
    assert main(["wechat", "outbox"]) == 1
    out = capsys.readouterr().out
    assert "template fallback=45015 failed" in out and "TEMPLATE_ID is not set" in out
    monkeypatch.setenv("MEDBOT_WECHAT_TEMPLATE_ID", "TPL-CLI")
    assert main(["wechat", "outbox", "--retry"]) == 0
    assert fake_api.sent[-1].path == "message/template/send"
    assert main(["wechat", "outbox"]) == 0
    out = capsys.readouterr().out
    assert "sent by the fallback" in out and "template fallback=45015 sent" in out


def test_outbox_lists_rows_a_dead_process_left_pending(
        wechat_env: str, capsys: pytest.CaptureFixture) -> None:
    from datetime import timedelta

    from bot.clock import utcnow
    from bot.store.wechat_models import WeChatDelivery

    db = Database(wechat_env)
    old = utcnow() - timedelta(minutes=11)
    with db.begin() as s:
        s.add(WeChatDelivery(openid="oCliDead01", kind="reminder", method="custom", text="x",
                             status="pending", attempts=0, created_at=old, updated_at=old,
                             idempotency_key="dose:1:0"))
        s.add(WeChatDelivery(openid="oCliLive01", kind="reminder", method="custom", text="y",
                             status="pending", attempts=0))  # in flight now: not listed
    assert main(["wechat", "outbox"]) == 1
    out = capsys.readouterr().out
    assert "oCli***01 reminder custom pending" in out and out.count("pending") == 1
    db.dispose()


async def test_wechat_sim_chats_through_the_webhook(served: Served, monkeypatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    lines = iter(["你好", "/image", "/click MENU_HUMAN", "/quit"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    assert await _sim_loop(served.url, served.channel.config, "oSimCli001", served.api) == 0
    out = capsys.readouterr().out
    assert "medbot > echo: 你好" in out and "medbot > echo: /request_human" in out
    assert "I can only read text messages" in out
