"""Delete-my-data is complete: service data, delivery copies and Rasa's tracker go; the
record stays access-locked; the retention job later erases the rest (registry-driven)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text

from bot.consent.rights import ERASE_SIGNAL, DataRightsService
from bot.handoff.factory import consent_service
from bot.hospital import HospitalInfo
from bot.retention import RetentionService
from bot.settings import PROJECT_ROOT
from bot.store.db import Database
from bot.store.models import Message, Patient
from bot.store.registry import REGISTRY
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.triage_models import TriageRecord
from bot.store.wechat_models import WeChatDelivery, WeChatInbound, WeChatSubscription
from bot.triage.service import TriageService
from channels.boundary import ChannelBoundary
from channels.emergency import EmergencyInterrupt

OPENID = "oEraseMe000000000001"
CID = f"wechat:{OPENID}"


def _wechat_patient(db: Database) -> None:
    TranscriptService(db).log("wechat", OPENID, [LoggedMessage("patient", "我叫张三 13812345678")])
    TriageService(db).assess_text("头痛三天", None, channel="wechat", conversation_id=CID)
    now = datetime.now(timezone.utc)
    with db.begin() as s:
        s.add(WeChatInbound(dedupe_key="msg:1", openid=OPENID, reply_text="您好张三"))
        s.add(WeChatDelivery(openid=OPENID, kind="reply", method="custom", text="张三您好"))
        s.add(WeChatSubscription(openid=OPENID, subscribed=True, last_inbound_at=now))


def _count(db: Database, model) -> int:
    with db.begin() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_delete_my_data_removes_delivery_copies_and_keeps_the_locked_record(db) -> None:
    _wechat_patient(db)
    outcome = DataRightsService(db, consent_service(), HospitalInfo.load()).delete_my_data(
        "wechat", OPENID, "en")
    assert "delivery copies of messages 3" in outcome.text
    for model in (WeChatInbound, WeChatDelivery, WeChatSubscription):
        assert _count(db, model) == 0
    assert _count(db, Message) == 1 and _count(db, TriageRecord) == 1  # the record, locked
    with db.begin() as s:
        assert s.execute(select(Patient.access_locked_at)).scalar_one() is not None


def test_the_retention_job_erases_the_rest_including_the_tracker(db) -> None:
    _wechat_patient(db)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                          "timestamp FLOAT)"))
        conn.execute(text("INSERT INTO events (id, sender_id, timestamp) VALUES (1, :s, 0)"),
                     {"s": CID})
    DataRightsService(db, consent_service(), HospitalInfo.load()).delete_my_data(
        "wechat", OPENID, "zh")
    later = datetime.now(timezone.utc) + timedelta(days=365 * 4)
    report = RetentionService(db).purge(later)
    assert report.erased_patients == 1
    assert report.counts["triage_records"] == 1  # found by its conversation, not a patient id
    assert report.counts["rasa_events"] == 1
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    with db.begin() as s:
        assert s.execute(select(Patient.external_id)).scalar_one().startswith("erased:")


class _Agent:
    """Rasa's pieces the boundary uses, with Rasa's real SQL tracker store."""

    def __init__(self, path: Path) -> None:
        self.domain = Domain.load(str(PROJECT_ROOT / "bot" / "domain"))
        self.lock_store = InMemoryLockStore()
        self.tracker_store = SQLTrackerStore(self.domain, dialect="sqlite", db=str(path))


async def test_the_tracker_is_erased_after_the_turn_and_the_signal_never_reaches_the_patient(
        sqlite_db, tmp_path: Path) -> None:
    agent = _Agent(tmp_path / "tracker.db")
    tracker = DialogueStateTracker.from_events(CID, [
        UserUttered("我叫张三 电话13812345678"), SlotSet("appt_name", "张三"),
        SlotSet("appt_phone", "13812345678")], agent.domain.slots)
    await agent.tracker_store.save(tracker)
    assert len((await agent.tracker_store.retrieve(CID)).events) >= 3

    async def bot(message: UserMessage) -> None:  # what action_delete_my_data sends
        await message.output_channel.send_response(message.sender_id, {"text": "已删除"})
        await message.output_channel.send_response(message.sender_id, {"custom": ERASE_SIGNAL})

    emergency = EmergencyInterrupt(screen=lambda _t: None, agent_provider=lambda: agent)
    boundary = ChannelBoundary("wechat", TranscriptService(sqlite_db), emergency)
    out = CollectingOutputChannel()
    await boundary.wrap(bot)(UserMessage("删除我的数据", out, OPENID))
    assert out.messages == [{"recipient_id": OPENID, "text": "已删除"}]
    assert await agent.tracker_store.retrieve(CID) is None  # every text and slot gone
    with sqlite_db.begin() as s:  # and the signal is not in the transcript either
        assert s.execute(select(Message.text).where(Message.role == "bot")).scalars().all() \
            == ["已删除"]


def test_registry_kinds_match_what_delete_my_data_does() -> None:
    service = {e.name for e in REGISTRY if e.kind == "service"}
    assert {"readings", "medication_reminders", "wechat_inbound", "wechat_outbox",
            "outbox_messages"} <= service
    assert {e.name for e in REGISTRY if e.kind == "proof"} >= {"consent_records", "audit_events"}
