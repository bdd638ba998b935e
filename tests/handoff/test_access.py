"""A doctor's access is bounded by the handoff (SQLite and PostgreSQL).

The patient goes through the real conversation gate (consents, handoff offer,
"同意"), exercises their rights through ``DataRightsService``; the doctor acts
through ``CaseService`` as the console does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.clock import FakeClock
from bot.consent.rights import DataRightsService
from bot.console import audit as events
from bot.console.accounts import Staff, StaffService
from bot.console.audit import AuditLog
from bot.console.cases import CaseService, ConsentWithdrawnError, PatientLockedError
from bot.errors import ConflictError, PermissionDeniedError
from bot.handoff.factory import build_gate
from bot.handoff.gate import ConversationGate
from bot.i18n import t
from bot.store.audit_models import AuditEvent
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message
from bot.store.repositories import LoggedMessage, TranscriptService
from tests.handoff.test_gate import CH, ID, consented, offer, say

PASSWORD = "correct horse battery"


class Desk:
    """The gate, the console's case service and three doctors on one database."""

    def __init__(self, db: Database) -> None:
        # 10:00 in Beijing on a weekday: on duty
        self.clock = FakeClock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
        self.db = db
        self.gate: ConversationGate = build_gate(db)
        self.gate.handoffs.clock = self.clock
        self.cases = CaseService(db, self.gate.handoffs, AuditLog(db, self.clock))
        staff = StaffService(db, self.clock,
                             hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.li: Staff = staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
        self.chen: Staff = staff.create("dr.chen", "陈医生", PASSWORD, "doctor", "cardiology")
        self.wang: Staff = staff.create("dr.wang", "王医生", PASSWORD, "doctor", "neurology")
        self.rights = DataRightsService(db, self.gate.consent, self.gate.hospital)

    def queued(self, sender: str = ID) -> int:
        """A cardiology handoff the patient consented to through the gate."""
        consented(self.gate, sender)
        say(self.gate, "我胸口疼 secret-before", sender)
        offer(self.gate, sender=sender, department="cardiology")
        decision, _ = say(self.gate, "同意", sender)
        assert decision.handoff_id
        return decision.handoff_id

    def last_message_time(self, handoff_id: int) -> datetime:
        with self.db.begin() as s:
            conversation = s.get(Handoff, handoff_id).conversation_id
            moment = s.execute(select(Message.created_at).where(
                Message.conversation_id == conversation).order_by(Message.id.desc())
                .limit(1)).scalar_one()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def audit(self) -> list[tuple[str, int | None, str | None]]:
        with self.db.begin() as s:
            return [(e.action, e.staff_id, e.detail) for e in s.execute(
                select(AuditEvent).order_by(AuditEvent.id)).scalars()]

    def status(self, handoff_id: int) -> str:
        with self.db.begin() as s:
            return s.get(Handoff, handoff_id).status


@pytest.fixture
def desk(db: Database) -> Desk:
    return Desk(db)


def texts(case) -> list[str]:
    return [line.text for line in case.lines]


def test_the_department_sees_only_the_summary_of_a_queued_handoff(desk: Desk) -> None:
    hid = desk.queued()
    case = desk.cases.open(desk.chen, hid, remote_addr="10.0.0.8")
    assert case.transcript is False and case.lines == [] and case.patient_label == ""
    assert case.handoff.summary["reason"] == "request_human"  # what is needed to claim
    with pytest.raises(PermissionDeniedError):  # the live stream is the transcript
        desk.cases.open(desk.chen, hid, via="sse", transcript=True)
    with pytest.raises(PermissionDeniedError):
        desk.cases.updates(desk.chen, hid, 0)
    assert desk.audit() == [
        (events.SUMMARY_VIEW, desk.chen.id, "via=page"),
        (events.HANDOFF_DENIED, desk.chen.id, "via=sse reason=summary_only")]
    assert [h.id for h in desk.cases.queue(desk.chen)] == [hid]
    desk.cases.claim(desk.li, hid)
    case = desk.cases.open(desk.li, hid)
    assert case.transcript and "我胸口疼 secret-before" in texts(case)
    assert desk.audit()[-1][:2] == (events.TRANSCRIPT_VIEW, desk.li.id)
    with pytest.raises(PermissionDeniedError):  # claimed by a colleague: nothing
        desk.cases.open(desk.chen, hid)


def test_expired_or_cancelled_unclaimed_handoffs_are_not_readable(desk: Desk) -> None:
    expired = desk.queued("p-expired")
    desk.clock.advance(timedelta(minutes=desk.gate.handoffs.config.claim_timeout_minutes + 1))
    assert len(desk.gate.handoffs.expire_unclaimed()) == 1
    cancelled = desk.queued("p-cancel")
    say(desk.gate, "取消", "p-cancel")
    assert (desk.status(expired), desk.status(cancelled)) == ("expired", "cancelled")
    for hid in (expired, cancelled):
        for doctor in (desk.li, desk.chen):
            with pytest.raises(PermissionDeniedError):
                desk.cases.open(doctor, hid)
            with pytest.raises(PermissionDeniedError):
                desk.cases.updates(doctor, hid, 0)
        assert hid not in [h.id for h in desk.gate.handoffs.visible(desk.li,
                                                                    include_closed=True)]
    assert {a for a, _, _ in desk.audit()} == {events.HANDOFF_DENIED}


def test_the_assigned_doctor_sees_the_conversation_up_to_the_end_only(desk: Desk) -> None:
    hid = desk.queued()
    desk.cases.claim(desk.li, hid)
    desk.cases.reply(desk.li, hid, "请测一下血压")
    # the close happens at the time of the last message so far (the clocks of the
    # transcript and of the handoff are both the system clock in production)
    desk.clock.set(desk.last_message_time(hid))
    desk.cases.close(desk.li, hid, "done")
    say(desk.gate, "谢谢医生 secret-after")  # the bot answers again: after the handoff
    case = desk.cases.open(desk.li, hid)
    assert "我胸口疼 secret-before" in texts(case) and "请测一下血压" in texts(case)
    assert "谢谢医生 secret-after" not in texts(case)
    assert t("utter_handoff_closed", "zh") not in texts(case)  # logged after ended_at
    update = desk.cases.updates(desk.li, hid, case.lines[-1].id)
    assert (update.status, update.lines, update.ended) == ("closed", [], True)
    assert texts(desk.cases.updates(desk.li, hid, 0)) == texts(case)


def test_a_claimed_handoff_the_patient_cancels_ends_the_doctors_view_there(desk: Desk) -> None:
    hid = desk.queued()
    desk.cases.claim(desk.li, hid)
    # what the boundary does with "取消": log it, then ask the gate (which ends the
    # handoff at the clock's time: that of the patient's message)
    [message_id] = TranscriptService(desk.db).log(CH, ID, [LoggedMessage("patient", "取消")])
    desk.clock.set(desk.last_message_time(hid))
    assert desk.gate.before_bot(CH, ID, "取消", message_id, "zh").resume
    say(desk.gate, "我又不舒服了 secret-after")
    assert desk.status(hid) == "cancelled"
    case = desk.cases.open(desk.li, hid)
    assert "我胸口疼 secret-before" in texts(case) and "取消" in texts(case)
    assert "我又不舒服了 secret-after" not in texts(case)
    with pytest.raises(PermissionDeniedError):
        desk.cases.open(desk.chen, hid)


def test_withdrawing_consent_ends_access_at_once(desk: Desk) -> None:
    hid = desk.queued()
    other = desk.queued("p-queued")
    desk.cases.claim(desk.li, hid)
    assert desk.cases.open(desk.li, hid).transcript
    assert desk.rights.withdraw(CH, ID, "zh").withdrawn == ("health_data", "handoff")
    assert desk.rights.withdraw(CH, "p-queued", "zh").withdrawn
    with pytest.raises(ConsentWithdrawnError):
        desk.cases.open(desk.li, hid)
    with pytest.raises(ConsentWithdrawnError):  # the live stream's next poll
        desk.cases.updates(desk.li, hid, 0)
    # the withdrawal also ended both handoffs, so the bot answers the patients again
    assert desk.status(hid) == desk.status(other) == "cancelled"
    with pytest.raises(PermissionDeniedError):  # a queued one: not even the summary
        desk.cases.open(desk.chen, other)
    assert desk.cases.queue(desk.li) == [] and desk.cases.queue(desk.chen) == []
    with pytest.raises(PermissionDeniedError):
        desk.cases.reply(desk.li, hid, "还在吗？")
    with pytest.raises(ConflictError):  # nothing left to claim
        desk.cases.claim(desk.chen, other)
    with pytest.raises(ConsentWithdrawnError):
        desk.cases.open(desk.li, hid)
    denied = [d for a, _, d in desk.audit() if a == events.HANDOFF_DENIED]
    assert denied == ["via=page reason=consent_withdrawn", "via=page reason=not_visible",
                      "via=page reason=consent_withdrawn"]
    assert t("utter_console_consent_withdrawn", "en") != t("utter_console_consent_withdrawn",
                                                           "zh")


def test_delete_my_data_ends_access_and_locks_the_patient(desk: Desk) -> None:
    hid = desk.queued()
    desk.cases.claim(desk.li, hid)
    desk.rights.delete_my_data(CH, ID, "zh")
    assert desk.status(hid) == "cancelled"
    with pytest.raises(PatientLockedError):
        desk.cases.open(desk.li, hid)
    with pytest.raises(PatientLockedError):
        desk.cases.updates(desk.li, hid, 0)
    with pytest.raises(PermissionDeniedError):  # a colleague learns nothing more
        desk.cases.open(desk.chen, hid)
    assert [a for a, _, _ in desk.audit()][-2:] == [events.TRANSCRIPT_DENIED_LOCKED,
                                                   events.HANDOFF_DENIED]


def test_a_withdrawal_before_a_new_consent_does_not_hide_the_new_handoff(desk: Desk) -> None:
    consented(desk.gate)
    desk.rights.withdraw(CH, ID, "zh")
    say(desk.gate, "我胸口疼")  # health information: asked again
    say(desk.gate, "同意")
    offer(desk.gate, department="cardiology")
    hid = say(desk.gate, "同意")[0].handoff_id
    assert desk.cases.open(desk.chen, hid).handoff.id == hid
    desk.cases.claim(desk.li, hid)
    assert desk.cases.open(desk.li, hid).transcript
