"""The conversation gate: first-contact consent, handoff consent, the silent bot,
cancel, and the patient's data rights, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.consent.rights import DataRightsService
from bot.handoff.factory import build_gate, consent_service, handoff_service
from bot.handoff.gate import ConversationGate
from bot.handoff.offers import HandoffOffers
from bot.store.consent_models import ConsentPrompt, ConsentRecord
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.store.reminder_models import Reading
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.staff_models import StaffAccount

CH, ID = "rest", "p-gate-1"


@pytest.fixture
def gate(db: Database) -> ConversationGate:
    return build_gate(db)


def say(gate: ConversationGate, text: str, sender: str = ID, lang: str | None = "zh"):
    """What the boundary does: log the patient's message, then ask the gate."""
    [message_id] = TranscriptService(gate.db).log(CH, sender, [LoggedMessage("patient", text)])
    return gate.before_bot(CH, sender, text, message_id, lang), message_id


def records(db: Database, purpose: str | None = None) -> list[ConsentRecord]:
    with db.begin() as s:
        stmt = select(ConsentRecord).order_by(ConsentRecord.id)
        if purpose:
            stmt = stmt.where(ConsentRecord.purpose == purpose)
        return list(s.execute(stmt).scalars())


def consented(gate: ConversationGate, sender: str = ID) -> None:
    say(gate, "你好", sender)
    decision, _ = say(gate, "同意", sender)
    assert not decision.forward


def test_first_contact_shows_the_notice_and_asks_separately(gate: ConversationGate) -> None:
    decision, _ = say(gate, "你好")
    assert not decision.forward
    notice, question = decision.replies
    assert "隐私告知" in notice and "3年" in notice
    assert "健康信息" in question and "同意" in question
    # not answering is asked again, the bot still does not run
    decision, _ = say(gate, "我想挂号")
    assert not decision.forward and "同意" in decision.replies[0]
    assert records(gate.db) == []


def test_consent_record_stores_version_hash_language_and_message(gate: ConversationGate) -> None:
    say(gate, "hello", lang="en")
    decision, message_id = say(gate, "I agree", lang="en")
    assert not decision.forward and "version" in decision.replies[0]
    [record] = records(gate.db)
    shown = gate.consent.texts.consent("health_data", "en")
    assert (record.purpose, record.decision, record.language) == ("health_data", "granted", "en")
    assert record.text_version == shown.version == "health-2026.11-v1"
    assert record.text_sha256 == hashlib.sha256(shown.text.encode()).hexdigest()
    assert record.message_id == message_id
    decision, _ = say(gate, "I have a headache", lang="en")
    assert decision.forward and decision.replies == []


def test_declined_health_consent_refuses_health_information_only(gate: ConversationGate) -> None:
    say(gate, "你好")
    decision, _ = say(gate, "不同意")
    assert "不会处理您的健康信息" in decision.replies[0]
    assert [r.decision for r in records(gate.db)] == ["declined"]
    decision, _ = say(gate, "心内科明天有号吗")  # appointments still work
    assert decision.forward
    decision, _ = say(gate, "我头痛发烧两天了")  # health information is not processed
    assert not decision.forward and "还没有同意" in decision.replies[0]
    decision, _ = say(gate, "同意")  # ... unless the patient now agrees
    assert [r.decision for r in records(gate.db)] == ["declined", "granted"]
    assert say(gate, "我头痛发烧两天了")[0].forward


def offer(gate: ConversationGate, reason: str = "request_human", sender: str = ID,
          department: str | None = None) -> list[str]:
    offers = HandoffOffers(gate.consent, gate.handoffs)
    return offers.offer(CH, sender, reason, "zh", department)


def test_handoff_needs_its_own_consent_and_queues(gate: ConversationGate) -> None:
    consented(gate)
    [text] = offer(gate, department="cardiology")
    assert "执业医生" in text and gate.hospital.phone in text
    decision, message_id = say(gate, "同意")
    assert decision.pause and not decision.forward and decision.handoff_id
    assert "心血管内科" in decision.replies[0] or "心内科" in decision.replies[0]
    assert "前面还有0位" in decision.replies[0] or "服务时间" in decision.replies[0]
    [record] = records(gate.db, "handoff")
    assert (record.decision, record.message_id, record.handoff_id) == (
        "granted", message_id, decision.handoff_id)
    with gate.db.begin() as s:
        handoff = s.get(Handoff, decision.handoff_id)
        assert (handoff.status, handoff.reason, handoff.department_id) == (
            "queued", "request_human", "cardiology")
    # while no doctor has claimed it, the bot does not answer but says the patient waits
    decision, _ = say(gate, "我胸口还是闷")
    assert not decision.forward and "正在等待" in decision.replies[0]
    assert gate.in_handoff(CH, ID)


def test_declining_a_handoff_offers_phone_and_visit(gate: ConversationGate) -> None:
    consented(gate)
    offer(gate)
    decision, _ = say(gate, "不同意")
    assert gate.hospital.phone in decision.replies[0] and "门诊" in decision.replies[0]
    assert not decision.pause
    assert [r.decision for r in records(gate.db, "handoff")] == ["declined"]
    with gate.db.begin() as s:
        assert s.execute(select(func.count(Handoff.id))).scalar() == 0


def test_other_reply_goes_to_the_bot_and_keeps_the_handoff_question(
        gate: ConversationGate) -> None:
    """Issue 15: "我同意" a message later still answers it (tests/consent for the lapse)."""
    consented(gate)
    offer(gate)
    decision, _ = say(gate, "帮我预约明天的心内科")
    assert decision.forward
    with gate.db.begin() as s:
        assert s.execute(select(ConsentPrompt.status).where(
            ConsentPrompt.purpose == "handoff")).scalar_one() == "pending"
    assert records(gate.db, "handoff") == []


def test_patient_cancels_and_the_bot_resumes(gate: ConversationGate) -> None:
    consented(gate)
    offer(gate)
    say(gate, "同意")
    decision, _ = say(gate, "取消")
    assert decision.resume and not decision.forward and "取消" in decision.replies[0]
    assert not gate.in_handoff(CH, ID)
    decision, _ = say(gate, "你好")
    assert decision.forward and decision.resume  # the tracker is made to listen again


def test_queue_position_counts_the_department_only(db: Database) -> None:
    gate = build_gate(db)
    for sender, dept in (("a", "cardiology"), ("b", "neurology"), ("c", "cardiology")):
        consented(gate, sender)
        offer(gate, sender=sender, department=dept)
        say(gate, "同意", sender)
    with db.begin() as s:
        rows = s.execute(select(Handoff).order_by(Handoff.id)).scalars().all()
        positions = [gate.handoffs.position(s, h).ahead for h in rows]
    assert positions == [0, 0, 1]


def test_offer_while_waiting_says_so(gate: ConversationGate) -> None:
    consented(gate)
    offer(gate)
    say(gate, "同意")
    [text] = offer(gate)
    assert "已在等待医生" in text


def test_unclaimed_handoff_expires_and_tells_the_patient(db: Database) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))  # 10:00 Beijing
    gate = build_gate(db)
    gate.handoffs.clock = clock
    consented(gate)
    offer(gate)
    assert "前面还有0位" in say(gate, "同意")[0].replies[0]
    assert gate.handoffs.expire_unclaimed() == []
    clock.advance(timedelta(minutes=gate.handoffs.config.claim_timeout_minutes + 1))
    [notice] = gate.handoffs.expire_unclaimed()
    assert notice.external_id == ID and gate.hospital.phone in notice.text
    assert not gate.in_handoff(CH, ID)
    assert gate.handoffs.expire_unclaimed() == []  # exactly once
    with db.begin() as s:
        last = s.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar_one()
    assert last.role == "bot" and last.text == notice.text


def test_doctor_claims_replies_closes(db: Database) -> None:
    gate = build_gate(db)
    consented(gate)
    offer(gate, department="cardiology")
    handoff_id = say(gate, "同意")[0].handoff_id
    with db.begin() as s:
        doctor = StaffAccount(username="drli", display_name="李", password_hash="x",
                              role="doctor", department_id="cardiology")
        s.add(doctor)
        s.flush()
        s.expunge(doctor)
    service = gate.handoffs
    assert [h.id for h in service.visible(doctor)] == [handoff_id]
    joined = service.claim(doctor, handoff_id)
    assert "李" in joined.text
    decision, _ = say(gate, "我血压有点高")  # a doctor is reading: the bot is silent
    assert (decision.forward, decision.replies) == (False, [])
    reply = service.reply(doctor, handoff_id, "请测一下血压")
    assert (reply.channel, reply.external_id, reply.kind) == (CH, ID, "doctor")
    resume = service.close(doctor, handoff_id, "建议门诊随访")
    assert "智能助手继续" in resume.text
    assert not gate.in_handoff(CH, ID)
    with db.begin() as s:
        roles = [m.role for m in s.execute(select(Message).where(
            Message.conversation_id == f"{CH}:{ID}").order_by(Message.seq)).scalars()]
        handoff = s.get(Handoff, handoff_id)
        assert (handoff.status, handoff.close_note) == ("closed", "建议门诊随访")
    assert roles[-4:] == ["system", "patient", "doctor", "bot"]


def test_withdraw_and_delete_my_data(db: Database) -> None:
    gate = build_gate(db)
    consented(gate)
    with db.begin() as s:
        patient = s.execute(select(Patient)).scalar_one()
        s.add(Reading(patient_id=patient.id, kind="bp", systolic=150, diastolic=95,
                      unit="mmHg", level="high", measured_at=datetime.now(timezone.utc)))
    rights = DataRightsService(db, consent_service(), gate.hospital)
    outcome = rights.withdraw(CH, ID, "zh")
    assert outcome.withdrawn == ("health_data",) and "3年" in outcome.text
    assert [r.decision for r in records(db)] == ["granted", "withdrawn"]
    assert rights.withdraw(CH, ID, "en").withdrawn == ()  # nothing left to withdraw
    # health information is refused again after the withdrawal
    assert not say(gate, "我血压160/100")[0].forward
    outcome = rights.delete_my_data(CH, ID, "en")
    assert "readings 1" in outcome.text and "locked" in outcome.text
    with db.begin() as s:
        patient = s.execute(select(Patient)).scalar_one()
        assert patient.access_locked_at is not None
        assert s.execute(select(func.count(Reading.id))).scalar() == 0
        assert s.execute(select(func.count(Message.id))).scalar() > 0  # kept, locked


def test_services_build_from_the_knowledge_base(db: Database) -> None:
    assert handoff_service(db).config.claim_timeout_minutes >= 1
    texts = consent_service().texts
    for lang in ("zh", "en"):
        assert texts.consent("handoff", lang).sha256 != texts.consent("health_data", lang).sha256
    assert texts.parse("不同意。") == "declined" and texts.parse("I agree!") == "granted"
    assert texts.parse("同意吗？我想先问问") is None


def test_claim_timeout_is_configurable_and_bad_values_are_refused() -> None:
    from bot.errors import ConfigError
    from bot.handoff.config import HandoffConfig
    from bot.settings import Settings

    def load(value: str) -> HandoffConfig:
        return HandoffConfig.load(settings=Settings.from_env(
            {"MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES": value}))

    assert load("5").claim_timeout_minutes == 5
    for bad in ("abc", "0"):
        with pytest.raises(ConfigError, match="MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES"):
            load(bad)


@pytest.mark.parametrize(("text", "lang"), [("算了 不用了", "zh"), ("算了吧", "zh"),
                                            ("never mind", "en"), ("forget it", "en")])
def test_an_exit_while_waiting_cancels_the_handoff(gate: ConversationGate, text, lang) -> None:
    """Issue 15: "算了 不用了" in the doctor queue got no reply at all."""
    consented(gate)
    offer(gate)
    say(gate, "同意")
    decision, _ = say(gate, text, lang=lang)
    assert decision.resume and not decision.forward and decision.replies
    assert not gate.in_handoff(CH, ID)


def test_hello_while_waiting_says_the_patient_is_waiting(gate: ConversationGate) -> None:
    """Issue 15: "hello?" in the doctor queue got no reply at all."""
    consented(gate)
    offer(gate, department="cardiology")
    say(gate, "同意")
    decision, _ = say(gate, "hello?", lang="en")
    assert not decision.forward and not decision.resume
    [reply] = decision.replies
    assert "等待" in reply and "取消" in reply  # in the handoff's language
    assert gate.in_handoff(CH, ID)  # still queued: "hello?" is no exit
    decision, _ = say(gate, "我还要等多久", lang="zh")
    assert "前面还有0位" in decision.replies[0] or "服务时间" in decision.replies[0]


@pytest.mark.parametrize("again, lang", [("同意", "zh"), ("yes I agree", "en"), ("我同意", "zh")])
def test_agreeing_again_says_it_is_recorded(gate: ConversationGate, again: str, lang: str) -> None:
    """A second "同意" (a double tap, or a late reply to the question already answered)
    got "I didn't get that": it is answered as recorded, and nothing is stored twice;
    a bare "yes" still goes to the bot (it may answer the bot's own question)."""
    consented(gate)
    decision, _ = say(gate, again, lang=lang)
    assert not decision.forward and "health-2026.11-v1" in decision.replies[0]
    assert len(records(gate.db, "health_data")) == 1
    decision, _ = say(gate, "好的")
    assert decision.forward
