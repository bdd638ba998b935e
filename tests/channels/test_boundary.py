"""The channel boundary: transcripts both ways, and the red-flag interrupt."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.store.db import Database
from bot.store.models import Message
from bot.store.repositories import TranscriptService
from bot.triage.service import TriageService
from channels.boundary import ChannelBoundary
from channels.emergency import EmergencyInterrupt, conversation_language

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [report_symptoms, book_appointment]
slots:
  language: {type: categorical, values: [zh, en], initial_value: zh,
             influence_conversation: false, mappings: [{type: custom}]}
  language_locked: {type: bool, initial_value: false, influence_conversation: false,
                    mappings: [{type: custom}]}
  requested_slot: {type: any, mappings: [{type: custom}]}
  offer_pending: {type: text, influence_conversation: false, mappings: [{type: custom}]}
forms:
  appointment_form: {required_slots: []}
actions: [action_red_flag_interrupt]
""")


class FakeProcessor:
    """Just the tracker storage of Rasa's MessageProcessor."""

    def __init__(self) -> None:
        self.trackers: dict[str, DialogueStateTracker] = {}

    async def fetch_tracker_and_update_session(self, sender, output_channel=None, metadata=None):
        return self.trackers.setdefault(
            sender, DialogueStateTracker.from_events(sender, [], DOMAIN.slots))

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        self.trackers[tracker.sender_id] = tracker


class FakeAgent:
    def __init__(self) -> None:
        self.lock_store = InMemoryLockStore()
        self.processor = FakeProcessor()
        self.domain = DOMAIN


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def boundary(sqlite_db: Database, agent: FakeAgent) -> ChannelBoundary:
    return ChannelBoundary("rest", TranscriptService(sqlite_db),
                           EmergencyInterrupt(agent_provider=lambda: agent))


def bot_calls() -> tuple[list[UserMessage], Any]:
    seen: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "您好！"})
        await message.output_channel.send_response(
            message.sender_id, {"text": "choose", "buttons": [{"title": "A", "payload": "/a"}]})

    return seen, on_new_message


def transcript(db: Database, sender: str) -> list[tuple[str, str | None]]:
    with db.begin() as session:
        rows = session.execute(select(Message).where(Message.conversation_id == f"rest:{sender}")
                               .order_by(Message.id)).scalars().all()
        return [(r.role, r.text) for r in rows]


async def test_both_sides_are_logged_in_order(boundary, sqlite_db) -> None:
    seen, bot = bot_calls()
    out = CollectingOutputChannel()
    await boundary.wrap(bot)(UserMessage("你好", out, "p1", metadata={"message_id": "m1"}))
    assert len(seen) == 1
    assert [m["text"] for m in out.messages] == ["您好！", "choose"]  # the channel still got them
    assert transcript(sqlite_db, "p1") == [("patient", "你好"), ("bot", "您好！"), ("bot", "choose")]


@pytest.mark.parametrize("text", [
    "我想挂下周的心内科，刚才胸口压着疼还一直出汗",
    "my chest is crushing and I'm sweating a lot",
])
async def test_red_flag_answers_before_the_bot_and_cancels_a_form(
        boundary, agent, sqlite_db, text) -> None:
    from rasa.shared.core.events import ActiveLoop

    tracker = await agent.processor.fetch_tracker_and_update_session("rest:p2")
    tracker.update(ActiveLoop("appointment_form"))
    seen, bot = bot_calls()
    out = CollectingOutputChannel()
    await boundary.wrap(bot)(UserMessage(text, out, "p2"))
    assert seen == []  # the bot never ran
    [reply] = out.messages
    assert "120" in reply["text"]
    # it offers the emergency entrance, and the tracker holds the offer for "好的"
    assert any(w in reply["text"] for w in ("急诊的地址和电话", "emergency address"))
    tracker = agent.processor.trackers["rest:p2"]
    assert tracker.get_slot("offer_pending") == "emergency_info"
    assert tracker.active_loop_name is None
    assert tracker.latest_action_name == "action_listen"
    assert tracker.latest_message.parse_data["red_flag"]
    assert transcript(sqlite_db, "p2")[0] == ("patient", text)
    assert transcript(sqlite_db, "p2")[1][0] == "bot"
    [record] = TriageService(sqlite_db).records("rest:p2")  # the decision is kept
    assert record.level == "emergency" and record.channel == "rest"


@pytest.mark.parametrize("text", [
    "没有胸痛，就是咳嗽",
    "my dad had a stroke years ago, I want his follow-up",
    "心梗有什么症状",
    "/book_appointment",
])
async def test_controls_go_to_the_bot(boundary, text) -> None:
    seen, bot = bot_calls()
    await boundary.wrap(bot)(UserMessage(text, CollectingOutputChannel(), "p3"))
    assert len(seen) == 1


def test_answer_language() -> None:
    assert conversation_language("my chest hurts badly", "zh", locked=False) == "en"
    assert conversation_language("胸口痛", "en", locked=True) == "en"
    assert conversation_language("!!!", "en", locked=False) == "en"
