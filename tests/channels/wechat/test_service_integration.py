"""The WeChat channel inside the real ``medbot run`` (trained model, Rasa, action server)."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from bot.store.db import Database
from bot.store.models import Message
from channels.wechat.testing import FakeWeChatAPI, WeChatSimulator
from tests.integration.conftest import RunningService, post

pytestmark = pytest.mark.integration


@pytest.fixture
def wechat_service(wechat_medbot) -> tuple[RunningService, FakeWeChatAPI, dict[str, str]]:
    """The session's ``medbot run`` with WeChat secrets and the fake WeChat API."""
    return wechat_medbot


def _sim(running: RunningService, env: dict[str, str]) -> WeChatSimulator:
    url = f"http://127.0.0.1:{running.rasa_port}/webhooks/wechat/webhook"
    return WeChatSimulator(url, env["MEDBOT_WECHAT_TOKEN"], env["MEDBOT_WECHAT_APP_ID"],
                           env["MEDBOT_WECHAT_AES_KEY"], mode="safe")


def test_wechat_turn_through_medbot_run(wechat_service) -> None:
    running, api, env = wechat_service
    sim = _sim(running, env)
    msg = sim.text("oIntegration01", "你好")

    async def storm():
        return await asyncio.gather(*(sim.send(msg) for _ in range(3)))

    replies = asyncio.run(storm())
    texts = [r.text for r in replies]
    # first contact: the privacy notice and the separate health-data consent question
    assert texts[0] and "隐私告知" in texts[0] and "健康信息" in texts[0], replies[0].body
    assert len(set(texts)) == 1
    agreed = asyncio.run(sim.send(sim.text("oIntegration01", "同意")))
    assert "已记录" in agreed.text
    hello = asyncio.run(sim.send(sim.text("oIntegration01", "你好")))
    assert "您好" in hello.text
    db = Database(running.database_url)
    with db.begin() as s:
        # this patient's messages (the service is shared with other tests)
        first = s.execute(select(Message).where(Message.channel_message_id == str(msg["MsgId"]))
                          ).scalars().all()
        assert len(first) == 1  # the retried message once
        rows = s.execute(select(Message).where(Message.patient_id == first[0].patient_id,
                                               Message.role == "patient")).scalars().all()
    assert len(rows) == 3  # the retried message once, then 同意 and 你好
    # the REST channel works next to it
    assert post(running.rest_url, "rest-user-1", "hello")


def test_red_flag_over_wechat_gets_emergency_advice(wechat_service) -> None:
    running, _api, env = wechat_service
    sim = _sim(running, env)
    reply = asyncio.run(sim.send(sim.text("oIntegration03", "刚才胸口压着疼还一直出汗")))
    assert reply.text and "120" in reply.text


def test_welcome_on_subscribe(wechat_service) -> None:
    running, _api, env = wechat_service
    reply = asyncio.run(_sim(running, env).send(_sim(running, env).event("oIntegration02",
                                                                            "subscribe")))
    assert "hospital.example/privacy" in reply.text and "Thank you for following" in reply.text


def test_without_wechat_env_the_webhook_answers_503(service: RunningService) -> None:
    url = f"http://127.0.0.1:{service.rasa_port}/webhooks/wechat/webhook"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(url, data=b"<xml/>"), timeout=10)
    assert err.value.code == 503
    assert post(service.rest_url, "rest-user-2", "hello")
