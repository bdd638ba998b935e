"""The console's use cases without the web: audit log, transcripts, work lists."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from bot.console import audit as events
from bot.console.cases import PatientLockedError
from bot.errors import ConflictError, PermissionDeniedError
from bot.store.audit_models import AuditEvent
from bot.store.models import Message, Patient
from bot.store.reminder_models import CareTeamFlag
from bot.store.repositories import LoggedMessage
from bot.store.revisit_models import RevisitRequest


def audit_rows(db) -> list[tuple]:
    with db.begin() as session:
        return [(r.action, r.staff_id, r.handoff_id, r.actor) for r in session.execute(
            select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def lock_patient(db, external_id: str) -> int:
    with db.begin() as session:
        patient = session.execute(select(Patient).where(
            Patient.external_id == external_id)).scalar_one()
        patient.access_locked_at = datetime.now(timezone.utc)
        return patient.id


def test_audit_log_pages_newest_first_and_filters(services, world) -> None:
    log = services.audit
    ids = [log.record(events.LOGIN, staff=world.cardio, remote_addr="10.0.0.1"),
           log.record(events.LOGIN_FAILED, actor="-", detail="outcome=unknown_user"),
           log.record(events.LOGOUT, staff=world.cardio)]
    entries = log.entries()
    assert [e.id for e in entries] == ids[::-1]
    assert (entries[-1].actor, entries[-1].staff_id, entries[-1].remote_addr) == (
        "dr.li", world.cardio.id, "10.0.0.1")
    assert [e.id for e in log.entries(before_id=ids[2])] == [ids[1], ids[0]]
    assert [e.action for e in log.entries(action=events.LOGIN_FAILED)] == [events.LOGIN_FAILED]


def test_opening_a_transcript_is_audited_and_shows_every_message(services, world, db) -> None:
    hid = world.handoff("p-cardio", "cardiology", said=("胸口疼", "still hurts"))
    joined = services.cases.claim(world.cardio, hid)
    case = services.cases.open(world.cardio, hid, remote_addr="10.1.1.1")
    assert [(line.role, line.text) for line in case.lines] == [
        ("patient", "胸口疼"), ("patient", "still hurts"), ("system", joined.text)]
    assert case.handoff.department_id == "cardiology" and "p-cardio" not in case.patient_label
    assert audit_rows(db) == [(events.HANDOFF_CLAIM, world.cardio.id, hid, "dr.li"),
                              (events.TRANSCRIPT_VIEW, world.cardio.id, hid, "dr.li")]
    last = case.lines[-1].id
    assert services.cases.updates(world.cardio, hid, last).lines == []
    world.transcripts.log("rest", "p-cardio", [LoggedMessage(role="patient", text="hello?")])
    update = services.cases.updates(world.cardio, hid, last)
    assert (update.status, [line.text for line in update.lines]) == ("claimed", ["hello?"])
    assert len(audit_rows(db)) == 2  # following the stream is not a new view


def test_another_department_and_the_admin_are_refused_and_audited(services, world,
                                                                  db) -> None:
    hid = world.handoff("p-cardio", "cardiology")
    for outsider in (world.neuro, world.admin):
        with pytest.raises(PermissionDeniedError):
            services.cases.open(outsider, hid)
        with pytest.raises(PermissionDeniedError):
            services.cases.updates(outsider, hid, 0)
        assert hid not in [h.id for h in services.cases.queue(outsider)]
    assert [(a, s) for a, s, _, _ in audit_rows(db)] == [
        (events.HANDOFF_DENIED, world.neuro.id), (events.HANDOFF_DENIED, world.admin.id)]


def test_a_locked_patients_transcript_is_refused(services, world, db) -> None:
    hid = world.handoff("p-locked", "cardiology")
    lock_patient(db, "p-locked")
    with pytest.raises(PatientLockedError):
        services.cases.open(world.cardio, hid)
    with pytest.raises(PatientLockedError):
        services.cases.updates(world.cardio, hid, 0)
    assert audit_rows(db) == [(events.TRANSCRIPT_DENIED_LOCKED, world.cardio.id, hid, "dr.li")]


def test_claim_reply_close_are_audited_and_in_the_transcript(services, world, db) -> None:
    hid = world.handoff("p1", "cardiology")
    joined = services.cases.claim(world.cardio, hid)
    with pytest.raises(ConflictError):
        services.cases.claim(world.cardio2, hid)
    reply = services.cases.reply(world.cardio, hid, "请测一下血压")
    resume, conversation = services.cases.close(world.cardio, hid, "BP advice given")
    assert conversation == world.conversation(hid)
    assert [m.kind for m in (joined, reply, resume)] == ["notice", "doctor", "notice"]
    assert [a for a, *_ in audit_rows(db)] == [
        events.HANDOFF_CLAIM, events.HANDOFF_REPLY, events.HANDOFF_CLOSE]
    with db.begin() as session:
        roles = [m.role for m in session.execute(select(Message).order_by(Message.id)).scalars()]
    assert roles == ["patient", "patient", "system", "doctor", "bot"]


def _revisit(session, patient_id: int, code: str, department: str, status: str = "queued",
             condition: str = "hypertension") -> None:
    session.add(RevisitRequest(
        code=code, patient_id=patient_id, condition_id=condition, department_id=department,
        institution="市一医院", diagnosis="原发性高血压", diagnosed_on=date(2025, 3, 1),
        drugs_json=json.dumps(["amlodipine"]), red_flags_negative=True,
        new_or_worse_symptoms=False, status=status, language="zh"))


def _patient(session, external_id: str) -> int:
    patient = Patient(channel="rest", external_id=external_id)
    session.add(patient)
    session.flush()
    return patient.id


def test_doctors_see_their_departments_open_revisit_requests(services, world, db) -> None:
    with db.begin() as session:
        a, b, c = (_patient(session, x) for x in ("a", "b", "c"))
        _revisit(session, a, "RV-CARD", "cardiology")
        _revisit(session, b, "RV-ENDO", "endocrinology", condition="type2_diabetes")
        _revisit(session, c, "RV-DONE", "cardiology", status="completed")
    assert [i.code for i in services.worklists.revisits(world.cardio)] == ["RV-CARD"]
    assert services.worklists.revisits(world.neuro) == []
    lock_patient(db, "a")
    assert services.worklists.revisits(world.cardio) == []
    with pytest.raises(PermissionDeniedError):
        services.worklists.revisits(world.admin)
    assert [a for a, *_ in audit_rows(db)].count(events.REVISITS_VIEW) == 3


def test_flags_follow_their_department_and_unrouted_ones_go_to_everyone(services, world,
                                                                        db) -> None:
    with db.begin() as session:
        p = _patient(session, "flagged")
        for reason, detail in [
                ("abnormal_reading", {"kind": "bp", "condition": "hypertension"}),
                ("missed_doses", {"streak": 3, "drug": "amlodipine"}),
                ("abnormal_reading", {"kind": "glucose", "department": "endocrinology"})]:
            session.add(CareTeamFlag(patient_id=p, reason=reason, severity="routine",
                                     status="open", detail_json=json.dumps(detail)))
        session.add(CareTeamFlag(patient_id=p, reason="missed_doses", status="closed"))
    cardio = services.worklists.flags(world.cardio)
    assert sorted((f.reason, f.department_id) for f in cardio) == [
        ("abnormal_reading", "cardiology"), ("missed_doses", None)]
    neuro = services.worklists.flags(world.neuro)
    assert [(f.reason, f.department_id) for f in neuro] == [("missed_doses", None)]
    lock_patient(db, "flagged")
    assert services.worklists.flags(world.cardio) == []
    with pytest.raises(PermissionDeniedError):
        services.worklists.flags(world.admin)


def test_a_picture_sent_during_the_handoff_shows_its_link(services, world) -> None:
    hid = world.handoff("p-pic", "cardiology", channel="wechat", said=("胸口疼",))
    services.cases.claim(world.cardio, hid)
    payload = {"MsgType": "image", "PicUrl": "https://mmbiz.example/pic-1.jpg", "MediaId": "m1"}
    world.transcripts.log("wechat", "p-pic", [LoggedMessage(
        role="patient", text="[image]", payload=json.dumps(payload))])
    case = services.cases.open(world.cardio, hid)
    assert case.lines[-1].text.startswith("[image]")
    assert "https://mmbiz.example/pic-1.jpg" in case.lines[-1].text
