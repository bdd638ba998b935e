"""The 5-second deadline: passive reply within the budget, else one customer-service message."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.store.wechat_models import WeChatDelivery
from tests.channels.wechat.conftest import Served


async def test_slow_bot_reply_arrives_through_the_customer_service_api(served: Served) -> None:
    served.bot.delay = 1.6
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await served.sim.send(served.sim.text("oSlow00001", "slow question"))
    assert reply.text is None and reply.body == "success"
    assert loop.time() - started < 1.5  # answered at the budget, not when the bot finished
    sent = await served.api.sent_messages(1)
    assert [(m.path, m.touser, m.text) for m in sent] == [
        ("message/custom/send", "oSlow00001", "echo: slow question")]


async def test_fake_api_40001_once_refreshes_the_token_and_delivers(served: Served) -> None:
    served.bot.delay = 1.3
    served.api.fail_next(40001)
    await served.sim.send(served.sim.text("oSlow00002", "token please"))
    assert [m.text for m in await served.api.sent_messages(1)] == ["echo: token please"]
    await asyncio.sleep(0.2)
    with served.db.begin() as s:
        row = s.execute(select(WeChatDelivery)).scalar_one()
    assert (row.status, row.attempts, row.method) == ("sent", 2, "custom")
    assert served.api.tokens_issued == 2  # the first token, then one refresh


async def test_long_reply_passive_first_part_then_one_cs_message(served: Served) -> None:
    sentence = "这是一句比较长的健康建议，请您仔细阅读。"
    served.bot.reply = sentence * 150  # ~9 KB of UTF-8: more than two messages
    reply = await served.sim.send(served.sim.text("oLong00001", "long"))
    assert reply.text.startswith("(1/2) ")
    assert len(reply.text.encode()) <= 2048
    sent = await served.api.sent_messages(1)
    await asyncio.sleep(0.3)
    assert len(served.api.sent) == 1  # never more than one customer-service message per turn
    second = sent[0].text
    assert second.startswith("(2/2) ") and len(second.encode()) <= 2048
    assert "其余部分" in second  # the overflow note tells the patient where the rest is
    assert reply.text.rstrip().endswith("。") and "阅读。" in second


async def test_failed_send_is_recorded_not_dropped(served: Served) -> None:
    served.bot.delay = 1.3
    served.api.fail_next(45015, times=1)  # "response out of time limit": the fallback
    await served.sim.send(served.sim.text("oFail00001", "hello"))
    for _ in range(50):
        with served.db.begin() as s:
            row = s.execute(select(WeChatDelivery)).scalar_one_or_none()
        if row is not None and row.status != "pending":
            break
        await asyncio.sleep(0.1)
    # no template id configured for the fallback: kept as failed, with the reason
    assert row.status == "failed" and "45015" in row.last_error and row.fallback == "45015"
    served.channel.sender.template_id = "TPL"
    results = await asyncio.to_thread(served.channel.sender.retry_failed)
    assert [(r.status, r.method) for r in results] == [("sent", "template")]
    assert [m.text for m in served.api.sent] == ["echo: hello"]


async def test_reply_is_still_delivered_when_wechat_hangs_up_early(served: Served) -> None:
    served.bot.delay = 0.8
    served.sim.attempt_timeout, served.sim.attempts = 0.3, 1  # WeChat gives up first
    reply = await served.sim.send(served.sim.text("oHangup001", "are you there"))
    assert reply.status == 0
    sent = await served.api.sent_messages(1)
    assert [m.text for m in sent] == ["echo: are you there"]
    assert served.bot.calls == ["are you there"]
