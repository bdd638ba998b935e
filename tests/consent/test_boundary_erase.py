"""A confirmed erasure in the conversation gate also erases Rasa's tracker, and the
message never reaches the bot. (Fails on main: ``GateDecision`` has no ``erase``.)"""

from __future__ import annotations

from pathlib import Path

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff.gate import GateDecision
from bot.store.repositories import TranscriptService
from channels.boundary import ChannelBoundary
from channels.emergency import EmergencyInterrupt
from tests.handoff.test_erasure import CID, OPENID, _Agent


class _ConfirmedGate:
    def before_bot(self, channel, external_id, text, message_id, lang) -> GateDecision:
        return GateDecision(["已删除您的个人数据"], forward=False, erase=True)


async def test_a_confirmed_erasure_erases_the_tracker(sqlite_db, tmp_path: Path) -> None:
    agent = _Agent(tmp_path / "tracker.db")
    tracker = DialogueStateTracker.from_events(CID, [
        UserUttered("我叫张三"), SlotSet("appt_name", "张三")], agent.domain.slots)
    await agent.tracker_store.save(tracker)
    calls: list[str] = []

    async def bot(message: UserMessage) -> None:
        calls.append(message.text)

    emergency = EmergencyInterrupt(screen=lambda _t: None, agent_provider=lambda: agent)
    boundary = ChannelBoundary("wechat", TranscriptService(sqlite_db), emergency,
                               gate=_ConfirmedGate())  # type: ignore[arg-type]
    out = CollectingOutputChannel()
    await boundary.wrap(bot)(UserMessage("确认", out, OPENID))
    assert calls == [] and out.messages[0]["text"] == "已删除您的个人数据"
    assert await agent.tracker_store.retrieve(CID) is None
