"""Consent decisions and a wired reminder stack with the *real* consent guard."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import utcnow
from bot.store.consent_models import ConsentRecord
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.repositories import PatientRepository


def decide(db: Database, channel: str, external_id: str, decision: str,
           purpose: str = "health_data") -> int:
    """Record a consent decision for the patient (created if new); returns the patient id."""
    with db.begin() as s:
        patient = PatientRepository().get_or_create(s, channel, external_id)
        s.add(ConsentRecord(patient_id=patient.id, purpose=purpose, text_version="health-test",
                            text_sha256="0" * 64, language="zh", decision=decision,
                            created_at=utcnow()))
        return patient.id


def patient_id(db: Database, channel: str, external_id: str) -> int | None:
    with db.begin() as s:
        return s.execute(select(Patient.id).where(Patient.channel == channel,
                                                  Patient.external_id == external_id)
                         ).scalar_one_or_none()
