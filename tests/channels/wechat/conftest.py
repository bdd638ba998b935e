"""WeChat channel fixtures: the fake API, a config, an emulated bot, a served channel."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from bot.settings import Settings
from bot.store.db import Database
from bot.wechat.config import WeChatConfig
from channels.wechat import WeChatInput
from channels.wechat.testing import FakeWeChatAPI, WeChatSimulator
from channels.wechat.testing.harness import serve_channel

AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
TOKEN = "medbottesttoken"


@pytest.fixture
def fake_api() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI() as api:
        yield api


def make_config(fake_api: FakeWeChatAPI, mode: str = "safe", **kw) -> WeChatConfig:
    return WeChatConfig.from_sources({
        "token": TOKEN, "app_id": fake_api.app_id, "app_secret": fake_api.app_secret,
        "encoding_aes_key": AES_KEY, "mode": mode, "api_base": fake_api.base_url,
        "reply_budget": kw.pop("reply_budget", 1.0), **kw}, Settings.from_env({}))


@dataclass
class FakeBot:
    """Emulates Rasa's on_new_message: answers "echo: <text>" after ``delay`` s."""

    delay: float = 0.0
    reply: str | None = None
    calls: list[str] = field(default_factory=list)

    async def __call__(self, message) -> None:
        self.calls.append(message.text)
        await asyncio.sleep(self.delay)
        text = self.reply if self.reply is not None else f"echo: {message.text}"
        if text:
            await message.output_channel.send_response(message.sender_id, {"text": text})


@dataclass
class Served:
    url: str
    channel: WeChatInput
    bot: FakeBot
    sim: WeChatSimulator
    db: Database
    api: FakeWeChatAPI


@pytest.fixture
def mode() -> str:
    return "safe"


@pytest.fixture(scope="session", autouse=True)
def _warm_caches() -> None:
    """Load the lazily built catalogues once, so timing tests measure the channel."""
    from rasa.core.channels.channel import UserMessage

    from bot.i18n import default_catalog
    from channels.boundary import ChannelBoundary

    default_catalog()
    emergency = getattr(ChannelBoundary("warm", None), "emergency", None)  # type: ignore[arg-type]
    if emergency is not None:
        emergency.check(UserMessage("warm up 预热"))


@pytest.fixture
async def served(sqlite_db: Database, fake_api: FakeWeChatAPI, mode: str
                 ) -> AsyncIterator[Served]:
    config = make_config(fake_api, mode=mode)
    channel = WeChatInput(config, sqlite_db, gate=False)  # protocol tests: fake bot, no gate
    channel.sender.backoff = 0.01
    bot = FakeBot()
    async with serve_channel(channel, bot) as url:
        sim = WeChatSimulator(url, TOKEN, fake_api.app_id, AES_KEY, mode=mode,
                              attempt_timeout=5.0)
        yield Served(url, channel, bot, sim, sqlite_db, fake_api)
        if channel.turns.background:
            await asyncio.wait(channel.turns.background, timeout=10)
