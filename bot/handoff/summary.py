"""The summary a doctor sees first: reason, triage, readings, adherence, re-visit."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import Patient
from bot.store.reminder_models import Dose, MedicationReminder, Reading
from bot.store.revisit_models import RevisitRequest
from bot.store.triage_models import TriageRecord

RECENT_READINGS = 5


def build_summary(session: Session, patient: Patient, conversation_id: str, reason: str,
                  lang: str, context: dict[str, Any]) -> dict[str, Any]:
    """Everything the doctor needs before reading the transcript (JSON-ready)."""
    return {
        "reason": reason,
        "language": lang,
        "trigger": {k: v for k, v in context.items() if k != "reason" and v is not None},
        "triage": _triage(session, patient.id, conversation_id),
        "readings": _readings(session, patient.id),
        "adherence": _adherence(session, patient.id),
        "revisit_request": _revisit(session, patient.id),
    }


def _triage(session: Session, patient_id: int, conversation_id: str) -> dict | None:
    row = session.execute(
        select(TriageRecord).where((TriageRecord.patient_id == patient_id)
                                   | (TriageRecord.conversation_id == conversation_id))
        .order_by(TriageRecord.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return {"level": row.level, "departments": json.loads(row.departments_json),
            "red_flags": json.loads(row.red_flags_json), "reasons": json.loads(row.reasons_json),
            "text": row.input_text, "at": row.created_at}


def _readings(session: Session, patient_id: int) -> list[dict]:
    rows = session.execute(select(Reading).where(Reading.patient_id == patient_id)
                           .order_by(Reading.measured_at.desc()).limit(RECENT_READINGS)).scalars()
    return [{"kind": r.kind, "systolic": r.systolic, "diastolic": r.diastolic, "value": r.value,
             "unit": r.unit, "level": r.level, "at": r.measured_at} for r in rows]


def _adherence(session: Session, patient_id: int) -> dict | None:
    medicines = session.execute(select(MedicationReminder).where(
        MedicationReminder.patient_id == patient_id)).scalars().all()
    if not medicines:
        return None
    counts = dict(session.execute(
        select(Dose.status, func.count(Dose.id)).where(Dose.patient_id == patient_id)
        .group_by(Dose.status)).all())
    return {"medicines": [{"drug": m.drug_id, "dose": m.dose, "status": m.status}
                          for m in medicines],
            "taken": counts.get("taken", 0), "skipped": counts.get("skipped", 0),
            "missed": counts.get("missed", 0), "snoozed": counts.get("snoozed", 0)}


def _revisit(session: Session, patient_id: int) -> dict | None:
    row = session.execute(select(RevisitRequest).where(RevisitRequest.patient_id == patient_id)
                          .order_by(RevisitRequest.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return {"code": row.code, "condition": row.condition_id, "status": row.status,
            "diagnosis": row.diagnosis, "drugs": json.loads(row.drugs_json or "[]")}
