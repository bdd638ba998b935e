"""Health-data consent, enforced at the core (PIPL art. 29: separate consent).

Every service that processes health information (reminders and doses, readings,
follow-up, re-visits, triage records) asks :class:`HealthConsentGuard` inside
its own transaction before it reads or writes anything, and the scheduler asks
it before every proactive send. Without *current* consent (the patient's latest
``health_data`` decision is ``granted``) it raises
:class:`~bot.errors.ConsentRequiredError` (bilingual ``message_key``).

``protect(db)`` also refuses, at flush time, any new row of a health table for
a patient without consent, so a service that forgets to ask (or lives in a
package that cannot call the guard yet, such as ``bot.triage``) still cannot
store health information. Emergency advice does not wait for consent (PIPL art.
13(4), vital interests): code that records an emergency runs inside
``with vital_interests():``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.errors import ConsentRequiredError, ValidationError
from bot.identity import split_conversation_id
from bot.store.consent_models import ConsentRecord
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.reminder_models import FollowupEnrolment, MedicationReminder, Reading
from bot.store.revisit_models import RevisitRequest
from bot.store.triage_models import TriageRecord

HEALTH_PURPOSE = "health_data"
# Rows that *start* processing health information for a patient. Doses and jobs are
# planned from a reminder or enrolment (the worker asks the guard before sending).
HEALTH_MODELS: tuple[type, ...] = (MedicationReminder, Reading, FollowupEnrolment,
                                   RevisitRequest, TriageRecord)

_BASIS: contextvars.ContextVar[str | None] = contextvars.ContextVar("medbot_lawful_basis",
                                                                   default=None)


@contextmanager
def vital_interests() -> Iterator[None]:
    """Processing needed to protect the patient's life (emergency advice and its record)."""
    token = _BASIS.set("vital_interests")
    try:
        yield
    finally:
        _BASIS.reset(token)


class ConsentCheck(Protocol):
    def granted(self, session: Session, patient_id: int | None) -> bool: ...

    def require(self, session: Session, patient_id: int | None) -> None: ...


class HealthConsentGuard:
    """Reads the patient's current health-data decision (latest record wins)."""

    def granted(self, session: Session, patient_id: int | None) -> bool:
        if patient_id is None:
            return False
        decision = session.execute(
            select(ConsentRecord.decision).where(ConsentRecord.patient_id == patient_id,
                                                 ConsentRecord.purpose == HEALTH_PURPOSE)
            .order_by(ConsentRecord.id.desc()).limit(1)).scalar_one_or_none()
        return decision == "granted"

    def require(self, session: Session, patient_id: int | None) -> None:
        """Raises:
            ConsentRequiredError: no current health-data consent.
        """
        if _BASIS.get() == "vital_interests":
            return
        if not self.granted(session, patient_id):
            raise ConsentRequiredError(f"no health-data consent (patient {patient_id})")


def protect(db: Database, guard: ConsentCheck | None = None) -> Database:
    """Refuse new health rows of a patient without consent in every session of ``db``
    (idempotent). Rows of no known patient (the staff CLI's triage) are allowed."""
    if getattr(db, "_health_consent_guard", None) is not None:
        return db
    check = guard or HealthConsentGuard()
    db._health_consent_guard = check  # type: ignore[attr-defined]

    def before_flush(session: Session, _context, _instances) -> None:
        for row in list(session.new):
            if isinstance(row, HEALTH_MODELS):
                person, patient_id = _patient_of(session, row)
                if person:
                    check.require(session, patient_id)

    event.listen(db.sessions, "before_flush", before_flush)
    return db


def _patient_of(session: Session, row: object) -> tuple[bool, int | None]:
    """``(about a patient?, patient id or None when the patient has no row yet)``."""
    patient_id = getattr(row, "patient_id", None)
    if patient_id is not None:
        return True, int(patient_id)
    try:
        channel, external_id = split_conversation_id(getattr(row, "conversation_id", None) or "")
    except ValidationError:  # the staff CLI: no patient
        return False, None
    with session.no_autoflush:
        return True, session.execute(select(Patient.id).where(
            Patient.channel == channel, Patient.external_id == external_id)
        ).scalar_one_or_none()
