"""Re-visit use cases: screen, check eligibility, queue for a doctor, read the queue."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.appointments.interface import PatientRef
from bot.appointments.local import new_code
from bot.clock import Clock, SystemClock, as_utc
from bot.consent.guard import ConsentCheck, HealthConsentGuard
from bot.errors import ConflictError, ValidationError
from bot.kb.drugs import DrugCatalog
from bot.revisits.eligibility import Eligibility, EligibilityPolicy, Reason, RevisitDraft
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.repositories import PatientRepository
from bot.store.revisit_models import RevisitRequest

log = logging.getLogger(__name__)

Screen = Callable[[str], object | None]


class NotEligibleError(ValidationError):
    """The request fails the gate; ``reasons`` say exactly why. Nothing was stored."""

    message_key = "utter_revisit_not_eligible"

    def __init__(self, reasons: tuple[Reason, ...]) -> None:
        super().__init__(", ".join(r.key for r in reasons))
        self.reasons = reasons


class DuplicateRevisitError(ConflictError):
    """An open request for this condition is already queued."""

    message_key = "utter_revisit_duplicate"


@dataclass(frozen=True)
class QueuedRevisit:
    """A stored request as shown to the patient or the doctor."""

    code: str
    patient: PatientRef
    condition_id: str
    department_id: str | None
    institution: str
    diagnosis: str
    diagnosed_on: date
    record_number: str | None
    drug_ids: tuple[str, ...]
    status: str
    language: str | None
    created_at: datetime


def _default_screen(text: str) -> object | None:
    from bot.triage.red_flags import screen

    return screen(text)


class RevisitService:
    """The gate and the queue. The gate is checked again on submit, whatever the caller did."""

    def __init__(self, db: Database, policy: EligibilityPolicy, drugs: DrugCatalog, *,
                 clock: Clock | None = None, timezone_name: str = "Asia/Shanghai",
                 expected_response_hours: int = 24, screen: Screen | None = None,
                 consent: ConsentCheck | None = None) -> None:
        self.db = db
        self.consent = consent or HealthConsentGuard()
        self.policy = policy
        self.drugs = drugs
        self.clock = clock or SystemClock()
        self.tz = ZoneInfo(timezone_name)
        self.expected_response_hours = expected_response_hours
        self._screen = screen or _default_screen
        self.patients = PatientRepository()

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def screen(self, text: str) -> object | None:
        """The red-flag screen over the patient's words: a hit (``.message(lang)``) or None."""
        return self._screen(text or "")

    def check(self, draft: RevisitDraft) -> Eligibility:
        return self.policy.check(draft, self.today())

    def submit(self, patient: PatientRef, draft: RevisitDraft,
               language: str = "zh") -> QueuedRevisit:
        """Queue an eligible request for a doctor.

        Raises:
            NotEligibleError: the gate fails (nothing stored).
            ValidationError: an unknown drug id.
            DuplicateRevisitError: an open request for this condition exists.
        """
        result = self.check(draft)
        if not result.eligible:
            log.info("revisit.not_eligible reasons=%s", [r.key for r in result.reasons])
            raise NotEligibleError(result.reasons)
        unknown = [d for d in draft.drug_ids if self.drugs.get(d) is None]
        if unknown:
            raise ValidationError(f"unknown drugs {unknown}")
        evidence = draft.evidence
        assert evidence is not None and evidence.diagnosed_on is not None and result.condition
        try:
            with self.db.begin() as session:
                row_patient = self.patients.get_or_create(session, patient.channel,
                                                          patient.external_id)
                self.consent.require(session, row_patient.id)
                row = RevisitRequest(
                    code=new_code("R"), patient_id=row_patient.id,
                    condition_id=result.condition.id, department_id=result.condition.department,
                    institution=evidence.institution.strip()[:200],
                    diagnosis=evidence.diagnosis.strip()[:500], diagnosed_on=evidence.diagnosed_on,
                    record_number=(evidence.record_number or "").strip()[:64] or None,
                    drugs_json=json.dumps(list(dict.fromkeys(draft.drug_ids))),
                    red_flags_negative=True, new_or_worse_symptoms=False, status="queued",
                    language=language, created_at=datetime.now(timezone.utc))
                session.add(row)
                session.flush()
                queued = self._item(row, patient)
        except IntegrityError as exc:
            raise DuplicateRevisitError(f"open request for {result.condition.id}") from exc
        log.info("revisit.queued code=%s condition=%s drugs=%d", queued.code,
                 queued.condition_id, len(queued.drug_ids))
        return queued

    def queue(self, status: str | None = "queued", limit: int = 100) -> list[QueuedRevisit]:
        """Requests for the doctors, oldest first."""
        with self.db.begin() as session:
            stmt = (select(RevisitRequest, Patient)
                    .join(Patient, Patient.id == RevisitRequest.patient_id)
                    .order_by(RevisitRequest.created_at, RevisitRequest.id).limit(limit))
            if status:
                stmt = stmt.where(RevisitRequest.status == status)
            return [self._item(r, PatientRef(p.channel, p.external_id))
                    for r, p in session.execute(stmt).all()]

    @staticmethod
    def _item(row: RevisitRequest, patient: PatientRef) -> QueuedRevisit:
        return QueuedRevisit(
            code=row.code, patient=patient, condition_id=row.condition_id,
            department_id=row.department_id, institution=row.institution,
            diagnosis=row.diagnosis, diagnosed_on=row.diagnosed_on,
            record_number=row.record_number, drug_ids=tuple(json.loads(row.drugs_json or "[]")),
            status=row.status, language=row.language,
            created_at=as_utc(row.created_at))
