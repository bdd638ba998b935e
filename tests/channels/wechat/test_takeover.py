"""A retry takes over the turn of a process that died mid-turn, exactly once,
and never takes over a turn whose process is alive (issue 5, exactly once)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import select, update

from bot.clock import utcnow
from bot.store.models import Message
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.wechat_models import WeChatInbound
from bot.wechat.state import WeChatState
from channels.wechat.turns import TurnRunner
from tests.channels.wechat.conftest import Served

STALE = timedelta(seconds=8)


def _backdate(db, key: str, seconds: float) -> None:
    with db.begin() as s:
        s.execute(update(WeChatInbound).where(WeChatInbound.dedupe_key == key)
                  .values(heartbeat_at=utcnow() - timedelta(seconds=seconds)))


def _died_mid_turn(served: Served, msg: dict) -> str:
    """Another process claimed ``msg`` and died 20 s ago, before answering."""
    key = f"msg:{msg['MsgId']}"
    assert WeChatState(served.db).claim(key, msg["FromUserName"])
    _backdate(served.db, key, 20)
    return key


def _row(db, key: str) -> WeChatInbound:
    with db.begin() as s:
        row = s.execute(select(WeChatInbound).where(WeChatInbound.dedupe_key == key)).scalar_one()
        s.expunge(row)
        return row


def test_a_fresh_claim_is_not_abandoned_and_a_stale_one_is_taken_over_once(db) -> None:
    """SQLite and PostgreSQL: only one of two processes wins the takeover."""
    first, second, third = WeChatState(db), WeChatState(db), WeChatState(db)
    assert first.claim("msg:t1", "oUser")
    assert not second.get("msg:t1").abandoned(STALE)
    assert second.take_over("msg:t1", STALE) is False
    _backdate(db, "msg:t1", 9)
    assert second.get("msg:t1").abandoned(STALE)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.take_over("msg:t1", STALE)))
               for s in (second, third)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert _row(db, "msg:t1").attempts == 2
    assert not first.get("msg:t1").abandoned(STALE)  # the new owner's heartbeat is fresh


def test_heartbeat_keeps_a_claim_alive_and_finished_turns_are_never_taken_over(db) -> None:
    state = WeChatState(db)
    state.claim("msg:t2", "oUser")
    state.claim("msg:t3", "oUser")
    _backdate(db, "msg:t2", 30)
    _backdate(db, "msg:t3", 30)
    state.heartbeat(["msg:t2"])
    assert not state.get("msg:t2").abandoned(STALE)
    state.finish("msg:t3", "answer", "passive")
    assert not state.get("msg:t3").abandoned(STALE)
    assert state.take_over("msg:t3", timedelta(0)) is False


async def test_retry_takes_over_a_dead_process_turn_and_runs_the_bot_once(
        served: Served) -> None:
    msg = served.sim.text("oDead00001", "头痛三天")
    key = _died_mid_turn(served, msg)
    replies = await asyncio.gather(served.sim.send(msg), served.sim.send(msg))
    assert served.bot.calls == ["头痛三天"]
    assert {r.text for r in replies} == {"echo: 头痛三天"}
    row = _row(served.db, key)
    assert (row.status, row.delivery, row.attempts) == ("done", "passive", 2)


async def test_a_dead_turn_the_bot_had_answered_is_not_run_again(served: Served) -> None:
    """The dead process got as far as the bot's answer (logged) but not the reply."""
    msg = served.sim.text("oDead00002", "我想挂号")
    _died_mid_turn(served, msg)
    TranscriptService(served.db).log("wechat", "oDead00002", [
        LoggedMessage(role="patient", text="我想挂号", channel_message_id=str(msg["MsgId"])),
        LoggedMessage(role="bot", text="请问您想挂哪个科室？"),
    ])
    reply = await served.sim.send(msg)
    assert served.bot.calls == []
    assert reply.text == "请问您想挂哪个科室？"


async def test_a_dead_turn_rasa_never_saved_runs_again_and_logs_nothing_twice(
        served: Served) -> None:
    """The dead process logged the message and died while its bot worked; Rasa never
    saved the turn (here: no tracker store to ask), so the retry runs the turn again —
    the actions that had acted answer from their kept results (``bot.action_replay``)."""
    msg = served.sim.text("oDead00003", "hello")
    _died_mid_turn(served, msg)
    TranscriptService(served.db).log("wechat", "oDead00003", [
        LoggedMessage(role="patient", text="hello", channel_message_id=str(msg["MsgId"]))])
    reply = await served.sim.send(msg)
    assert served.bot.calls == ["hello"]
    assert reply.text == "echo: hello"
    with served.db.begin() as s:  # the retry logs nothing twice
        patient_rows = s.execute(select(Message).where(
            Message.conversation_id == "wechat:oDead00003", Message.role == "patient")).scalars().all()
    assert len(patient_rows) == 1


async def test_a_turn_rasa_saved_is_answered_from_its_tracker() -> None:
    """Rasa saved the turn (the tracker has the message id) but the process died before
    the transcript logged the answer: the retry sends what the bot said, without a
    second run; a turn that said nothing asks the patient to send it again."""
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from channels.wechat.connector import _saved_turn

    store = InMemoryTrackerStore(Domain.empty())
    await store.save(DialogueStateTracker.from_events("wechat:oSaved01", [
        UserUttered("停车场在哪", message_id="m1"), BotUttered("停车场在B2。"),
        BotUttered("还有别的吗？"), UserUttered("谢谢", message_id="m2"),
        UserUttered("hello", message_id="m3"), BotUttered("您好")]))
    agent = type("Agent", (), {"tracker_store": store})()
    assert await _saved_turn(agent, "wechat:oSaved01", "m1") == ["停车场在B2。", "还有别的吗？"]
    assert await _saved_turn(agent, "wechat:oSaved01", "m2") == []
    assert await _saved_turn(agent, "wechat:oSaved01", "m4") is None  # never saved: run again
    assert await _saved_turn(None, "wechat:oSaved01", "m1") is None


async def test_a_slow_turn_whose_process_is_alive_is_never_taken_over(served: Served) -> None:
    """Another process (a second channel instance) keeps beating while its bot is slow."""
    from channels.wechat import WeChatInput
    from channels.wechat.testing import WeChatSimulator
    from channels.wechat.testing.harness import serve_channel
    from tests.channels.wechat.conftest import AES_KEY, TOKEN, FakeBot

    def fast_beat(channel: WeChatInput) -> None:
        channel.turns = TurnRunner(channel.state, channel.sender, channel.hospital,
                                   heartbeat=0.2, stale_after=1.5)

    fast_beat(served.channel)
    other = WeChatInput(served.channel.config, served.db, gate=False)
    fast_beat(other)
    other_bot = FakeBot(delay=4.0)  # > budget (1 s) and > stale_after: alive, just slow
    async with serve_channel(other, other_bot) as url:
        other_sim = WeChatSimulator(url, TOKEN, served.api.app_id, AES_KEY, mode="safe")
        msg = served.sim.text("oAlive0001", "慢")
        first = asyncio.create_task(other_sim.send(msg))
        await asyncio.sleep(0.2)
        # 3 retries x 1 s budget: they poll well past stale_after while the first beats
        retries = [await served.sim.send(msg) for _ in range(3)]
        assert all(r.text is None for r in retries)
        await first
        await served.api.sent_messages(1)
        if other.turns.background:
            await asyncio.wait(other.turns.background, timeout=5)
    assert served.bot.calls == [] and other_bot.calls == ["慢"]
    assert [m.text for m in served.api.sent] == ["echo: 慢"]


async def test_a_retry_does_not_answer_success_for_a_process_that_just_died(
        served: Served) -> None:
    """The other process claimed the message and died a moment ago: its heartbeat is
    still fresh when the retry's budget ends. "success" would end WeChat's retries and
    the message would never be answered; the retry waits for the claim to go stale,
    takes the turn over and the answer goes as the turn's customer-service message."""
    served.channel.turns = TurnRunner(served.channel.state, served.channel.sender,
                                      served.channel.hospital, heartbeat=0.2, stale_after=1.5)
    msg = served.sim.text("oDead00004", "刚断线")
    key = f"msg:{msg['MsgId']}"
    assert WeChatState(served.db).claim(key, "oDead00004")  # fresh heartbeat, never beats again
    reply = await served.sim.send(msg)  # budget 1 s < stale_after 1.5 s
    assert reply.status == 200 and reply.text is None
    await served.api.sent_messages(1)
    assert served.bot.calls == ["刚断线"]
    assert [(m.touser, m.text) for m in served.api.sent] == [("oDead00004", "echo: 刚断线")]
    row = _row(served.db, key)
    assert (row.status, row.delivery, row.attempts) == ("done", "customer_service", 2)
