"""FHIR R5 export: the bundle's resources, codes and validation; ``medbot export``."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from sqlalchemy import select

from bot.cli import main
from bot.errors import NotFoundError, ValidationError
from bot.fhir_export import FhirExporter, check_bundle, resource_counts
from bot.store.appointment_models import Appointment, Department, Doctor, Slot
from bot.store.audit_models import AuditEvent
from bot.store.consent_models import ConsentRecord
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.reminder_models import Reading
from bot.store.repositories import LoggedMessage, TranscriptService

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _consent(pid: int, purpose: str, decision: str) -> ConsentRecord:
    return ConsentRecord(patient_id=pid, purpose=purpose, text_version="2026.1",
                         text_sha256="ab" * 32, language="zh", decision=decision)


@pytest.fixture
def patient_id(db: Database) -> int:
    TranscriptService(db).log("wechat", "oOpenid123456", [
        LoggedMessage("patient", "我血压有点高", language="zh"),
        LoggedMessage("bot", "请告诉我您的血压读数。", language="zh",
                      payload='{"buttons": ["/cancel"]}'),
        LoggedMessage("doctor", "请按时服药。", language="zh"),
        LoggedMessage("patient", "150/95", language="zh")])
    TranscriptService(db).log("rest", "someone-else", [LoggedMessage("patient", "hi")])
    with db.begin() as session:
        pid = session.execute(select(Patient.id).where(
            Patient.external_id == "oOpenid123456")).scalar_one()
        session.add_all([_consent(pid, "health_data", "granted"),
                         _consent(pid, "handoff", "declined"),
                         _consent(pid, "health_data", "withdrawn")])
        session.add(Reading(patient_id=pid, kind="bp", systolic=150, diastolic=95,
                            unit="mmHg", level="high", measured_at=NOW))
        session.add(Reading(patient_id=pid, kind="glucose", value=6.1, unit="mmol/L",
                            context="fasting", level="normal", measured_at=NOW))
        session.add(Department(id="cardiology", name_zh="心内科", name_en="Cardiology"))
        session.add(Doctor(id="d1", department_id="cardiology", name_zh="王医生",
                           name_en="Dr Wang", title="attending", fee_cents=5000))
        session.flush()
        slot = Slot(doctor_id="d1", day=date(2026, 3, 3), session="am", capacity=10, booked=1,
                    starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=4))
        session.add(slot)
        session.flush()
        first = Appointment(code="A1", patient_id=pid, slot_id=slot.id, status="rescheduled",
                            patient_name="张三", patient_phone="13800000000",
                            cancelled_at=NOW)
        session.add(first)
        session.flush()
        session.add(Appointment(code="A2", patient_id=pid, slot_id=slot.id, status="booked",
                                patient_name="张三", patient_phone="13800000000",
                                rescheduled_from_id=first.id))
    return pid


def _bundle(db: Database, pid: int) -> Bundle:
    with db.begin() as session:
        return FhirExporter().bundle(session, pid, NOW)


def _of(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.resource_type == kind]


def test_the_bundle_has_every_record_of_the_patient_and_round_trips(db, patient_id) -> None:
    bundle = _bundle(db, patient_id)
    assert bundle.type == "collection"
    assert resource_counts(bundle) == {"Patient": 1, "Device": 1, "Consent": 3,
                                       "Communication": 4, "Appointment": 2, "Observation": 2}
    again = Bundle.parse_raw(bundle.json())
    assert again.json() == bundle.json()
    check_bundle(again)
    assert "oOpenid123456" not in bundle.json() and "13800000000" not in bundle.json()


def test_patient_and_communications(db, patient_id) -> None:
    bundle = _bundle(db, patient_id)
    patient = _of(bundle, "Patient")[0]
    assert patient.identifier[1].system == "urn:medbot:fhir:wechat:sha256"
    assert [c.language.coding[0].code for c in patient.communication] == ["zh-CN"]
    patient_url = f"urn:uuid:{patient.id}"
    messages = _of(bundle, "Communication")
    assert [m.payload[0].contentCodeableConcept.text for m in messages] == [
        "我血压有点高", "请告诉我您的血压读数。", "请按时服药。", "150/95"]
    assert messages[0].sender.reference == patient_url
    assert messages[1].sender.type == "Device" and messages[1].recipient[0].reference == \
        patient_url
    assert messages[1].payload[1].contentAttachment.contentType == "application/json"
    assert messages[2].sender.type == "Practitioner"
    assert all(m.status == "completed" and m.language == "zh-CN" for m in messages)


def test_consents_map_decisions_to_r5_status(db, patient_id) -> None:
    consents = _of(_bundle(db, patient_id), "Consent")
    assert [(c.status, c.decision) for c in consents] == [
        ("inactive", "permit"),  # granted, then withdrawn
        ("active", "deny"),      # declined (R5 has no "rejected")
        ("inactive", "deny")]    # the withdrawal
    assert consents[0].category[0].coding[0].code == "59284-0"
    assert consents[1].category[0].coding[1].code == "handoff"
    text = consents[0].sourceAttachment[0]
    assert {e.url.rsplit(":", 1)[1]: e.valueString for e in text.extension} == {
        "text-version": "2026.1", "text-sha256": "ab" * 32}


def test_observations_use_loinc_and_ucum(db, patient_id) -> None:
    bp, glucose = _of(_bundle(db, patient_id), "Observation")
    assert bp.code.coding[0].code == "85354-9"
    assert [(c.code.coding[0].code, c.valueQuantity.value, c.valueQuantity.code)
            for c in bp.component] == [("8480-6", 150, "mm[Hg]"), ("8462-4", 95, "mm[Hg]")]
    assert bp.interpretation[0].coding[0].code == "H"
    assert glucose.code.coding[0].code == "15074-8"
    assert (float(glucose.valueQuantity.value), glucose.valueQuantity.code,
            glucose.valueQuantity.system) == (6.1, "mmol/L", "http://unitsofmeasure.org")


def test_appointments(db, patient_id) -> None:
    first, second = _of(_bundle(db, patient_id), "Appointment")
    assert (first.status, first.cancellationReason.text) == ("cancelled", "rescheduled")
    assert second.status == "booked" and second.replaces[0].reference == f"urn:uuid:{first.id}"
    assert second.start < second.end and second.participant[1].actor.display == "Dr Wang"


def test_check_bundle_catches_what_fhir_resources_lets_through(db, patient_id) -> None:
    bundle = _bundle(db, patient_id)
    consent = _of(bundle, "Consent")[0]
    consent.status = "rejected"  # an R4 code: fhir.resources 7 accepts it
    with pytest.raises(ValidationError, match="rejected"):
        check_bundle(bundle)
    consent.status = "active"
    _of(bundle, "Communication")[0].sender.reference = "urn:uuid:nowhere"
    with pytest.raises(ValidationError, match="not in the bundle"):
        check_bundle(bundle)


def test_unknown_patient(db) -> None:
    with db.begin() as session, pytest.raises(NotFoundError):
        FhirExporter().bundle(session, 999, NOW)


# ------------------------------------------------------------------ the command
def test_cli_writes_the_bundle_and_audits(db, patient_id, tmp_path: Path, monkeypatch,
                                          capsys) -> None:
    monkeypatch.setenv("MEDBOT_DATABASE_URL", db.url)
    out = tmp_path / "export" / "p.json"
    assert main(["export", "--patient", str(patient_id), "--out", str(out)]) == 0
    bundle = Bundle.parse_file(out)
    assert resource_counts(bundle)["Communication"] == 4
    assert sorted(p.name for p in out.parent.iterdir()) == ["p.json"]  # no temp file left
    with db.begin() as session:
        audit = session.execute(select(AuditEvent)).scalar_one()
    assert (audit.actor, audit.action, audit.patient_id) == ("cli", "export", patient_id)
    assert json.loads(audit.detail)["resources"]["Observation"] == 2


def test_cli_unknown_patient_fails_cleanly(db, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MEDBOT_DATABASE_URL", db.url)
    out = tmp_path / "exports" / "p.json"
    out.parent.mkdir()
    assert main(["export", "--patient", "4242", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "没有找到相关记录" in err and "No matching record" in err and "4242" in err
    assert list(out.parent.iterdir()) == []
    with db.begin() as session:
        assert session.execute(select(AuditEvent)).first() is None


def test_cli_refuses_a_locked_patient_unless_told(db, patient_id, tmp_path, monkeypatch,
                                                 capsys) -> None:
    monkeypatch.setenv("MEDBOT_DATABASE_URL", db.url)
    with db.begin() as session:
        session.get(Patient, patient_id).access_locked_at = NOW
    out = tmp_path / "p.json"
    assert main(["export", "--patient", str(patient_id), "--out", str(out)]) == 1
    assert not out.exists() and "access-locked" in capsys.readouterr().err
    assert main(["export", "--patient", str(patient_id), "--allow-locked"]) == 0
    assert json.loads(capsys.readouterr().out)["resourceType"] == "Bundle"
    with db.begin() as session:
        detail = json.loads(session.execute(select(AuditEvent.detail)).scalar_one())
    assert detail["locked"] is True and detail["out"] == "stdout"
