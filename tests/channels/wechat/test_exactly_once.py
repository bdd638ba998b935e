"""Exactly once: WeChat's retries never run the bot twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.store.models import Message
from bot.wechat.state import WeChatState
from tests.channels.wechat.conftest import Served


def _patient_messages(served: Served) -> list[Message]:
    with served.db.begin() as s:
        return list(s.execute(select(Message).where(Message.role == "patient")).scalars())


async def test_retry_storm_runs_the_bot_once(served: Served) -> None:
    served.bot.delay = 0.3
    msg = served.sim.text("oStorm0001", "头痛")
    replies = await asyncio.gather(*(served.sim.send(msg) for _ in range(3)))
    assert served.bot.calls == ["头痛"]
    # the retries waited for the first attempt and return the same passive reply
    assert [r.text for r in replies] == ["echo: 头痛"] * 3
    rows = _patient_messages(served)
    assert len(rows) == 1 and rows[0].channel_message_id == str(msg["MsgId"])
    assert served.api.sent == []


async def test_retry_after_the_first_finished_returns_its_reply(served: Served) -> None:
    msg = served.sim.text("oStorm0002", "hello")
    first = await served.sim.send(msg)
    again = await served.sim.send(msg)
    assert first.text == again.text == "echo: hello"
    assert served.bot.calls == ["hello"]


async def test_slow_retry_storm_answers_success_and_sends_once(served: Served) -> None:
    served.bot.delay = 1.5  # > reply budget (1 s)
    msg = served.sim.text("oStorm0003", "slow")
    replies = await asyncio.gather(*(served.sim.send(msg) for _ in range(3)))
    assert all(r.status == 200 and r.text is None for r in replies)
    sent = await served.api.sent_messages(1)
    await asyncio.sleep(0.3)
    assert served.bot.calls == ["slow"]
    assert [(m.touser, m.text) for m in served.api.sent] == [("oStorm0003", "echo: slow")]


async def test_events_are_deduped_by_openid_createtime_event(served: Served) -> None:
    event = served.sim.event("oEvent0001", "CLICK", key="MENU_BOOK", create_time=1_700_000_000)
    await asyncio.gather(served.sim.send(event), served.sim.send(event))
    assert served.bot.calls == ["/book_appointment"]


def test_claim_is_held_in_the_database_across_instances(db) -> None:
    """Two processes = two WeChatState objects on one database; PostgreSQL too."""
    first, second = WeChatState(db), WeChatState(db)
    assert first.claim("msg:42", "oUser") is True
    assert second.claim("msg:42", "oUser") is False
    first.finish("msg:42", "answer", "passive")
    state = second.get("msg:42")
    assert (state.status, state.delivery, state.reply_text) == ("done", "passive", "answer")


async def test_retry_storm_across_two_processes_runs_the_bot_once(served: Served) -> None:
    """A second channel instance on the same database stands for a second process."""
    from channels.wechat import WeChatInput
    from channels.wechat.testing import WeChatSimulator
    from channels.wechat.testing.harness import serve_channel
    from tests.channels.wechat.conftest import AES_KEY, TOKEN, FakeBot

    other_bot = FakeBot(delay=0.3)
    served.bot.delay = 0.3
    other = WeChatInput(served.channel.config, served.db, gate=False)
    async with serve_channel(other, other_bot) as url:
        other_sim = WeChatSimulator(url, TOKEN, served.api.app_id, AES_KEY, mode="safe")
        msg = served.sim.text("oTwoProc01", "两个进程")
        replies = await asyncio.gather(served.sim.send(msg), other_sim.send(msg),
                                       served.sim.send(msg), other_sim.send(msg))
    assert len(served.bot.calls) + len(other_bot.calls) == 1
    assert {r.text for r in replies} == {"echo: 两个进程"}


async def test_openids_are_masked_in_logs(served: Served, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    served.bot.delay = 1.3
    msg = served.sim.text("oSecretOpenid123456", "hi")
    await asyncio.gather(served.sim.send(msg), served.sim.send(msg))
    await served.api.sent_messages(1)
    await asyncio.sleep(0.2)
    ours = [r.getMessage() for r in caplog.records
            if r.name.startswith(("channels.wechat", "bot.wechat"))]
    assert any("wechat.reply.deferred" in m for m in ours)
    assert any("wechat.message.duplicate" in m for m in ours)
    assert not any("oSecretOpenid123456" in m for m in ours)


def test_old_claims_are_purged(db) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bot.clock import utcnow
    from bot.store.wechat_models import WeChatInbound

    state = WeChatState(db)
    state.claim("msg:old", "oUser")
    state.claim("msg:new", "oUser")
    with db.begin() as s:
        s.execute(update(WeChatInbound).where(WeChatInbound.dedupe_key == "msg:old")
                  .values(created_at=utcnow() - timedelta(days=8)))
    assert state.purge(timedelta(days=7)) == 1
    assert state.get("msg:old") is None and state.get("msg:new") is not None


async def test_wechat_retry_after_a_timeout_gets_success_and_one_cs_message(
        served: Served) -> None:
    """WeChat's own schedule: attempt 1 times out, attempt 2 is answered ``success``."""
    served.bot.delay = 0.8
    served.sim.attempt_timeout = 0.4  # stands for WeChat's 5 s
    reply = await served.sim.send(served.sim.text("oRetry0001", "retry me"))
    assert reply.attempts == 2 and reply.body == "success"
    sent = await served.api.sent_messages(1)
    await asyncio.sleep(0.5)
    assert [m.text for m in served.api.sent] == ["echo: retry me"] and len(sent) == 1
    assert served.bot.calls == ["retry me"]


async def test_two_menu_clicks_in_one_second_are_two_events(served: Served) -> None:
    """Same openid, same CreateTime, different EventKey: two clicks, two turns."""
    book = served.sim.event("oEvent0002", "CLICK", key="MENU_BOOK", create_time=1_700_000_000)
    human = served.sim.event("oEvent0002", "CLICK", key="MENU_HUMAN", create_time=1_700_000_000)
    await asyncio.gather(served.sim.send(book), served.sim.send(human), served.sim.send(book))
    assert sorted(served.bot.calls) == sorted(["/book_appointment", "/request_human"])
