"""The doctor's other work lists: re-visit requests and care-team flags.

Only doctors see them (an admin sees the audit log, not health data), each
view is audited, and patients whose data is access-locked (delete_my_data)
are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bot.clock import as_utc
from bot.console import audit as events
from bot.console.accounts import Staff
from bot.console.audit import AuditLog
from bot.errors import PermissionDeniedError
from bot.kb.catalog import TermCatalog
from bot.masking import mask_patient
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.reminder_models import CareTeamFlag
from bot.store.revisit_models import RevisitRequest

OPEN_REVISITS = ("queued", "in_review")
LIMIT = 200


@dataclass(frozen=True)
class RevisitItem:
    id: int
    code: str
    patient_label: str
    condition_id: str
    institution: str
    diagnosis: str
    diagnosed_on: date
    record_number: str | None
    drug_ids: tuple[str, ...]
    status: str
    created_at: datetime


@dataclass(frozen=True)
class FlagItem:
    id: int
    patient_label: str
    reason: str
    severity: str
    detail: dict[str, Any]
    department_id: str | None
    created_at: datetime


class WorklistService:
    """Re-visit requests and care-team flags for one doctor."""

    def __init__(self, db: Database, audit: AuditLog, conditions: TermCatalog,
                 drugs: TermCatalog) -> None:
        self.db = db
        self.audit = audit
        self.conditions = conditions
        self.drugs = drugs

    def name(self, catalog: TermCatalog, entry_id: str, lang: str) -> str:
        entry = catalog.get(entry_id)
        return entry.names.get(lang, entry_id) if entry else entry_id

    def revisits(self, staff: Staff, remote_addr: str | None = None) -> list[RevisitItem]:
        """Open requests routed to the doctor's department (``revisit_requests.department_id``).

        Raises:
            PermissionDeniedError: ``staff`` is not an active doctor.
        """
        _require_doctor(staff)
        with self.db.begin() as session:
            rows = session.execute(
                select(RevisitRequest, Patient).join(Patient,
                                                     Patient.id == RevisitRequest.patient_id)
                .where(RevisitRequest.department_id == staff.department_id,
                       RevisitRequest.status.in_(OPEN_REVISITS),
                       Patient.access_locked_at.is_(None))
                .order_by(RevisitRequest.created_at, RevisitRequest.id).limit(LIMIT)).all()
            items = [RevisitItem(
                r.id, r.code, _label(p), r.condition_id, r.institution, r.diagnosis,
                r.diagnosed_on, r.record_number, tuple(json.loads(r.drugs_json or "[]")),
                r.status, as_utc(r.created_at)) for r, p in rows]
            self.audit.record_in(session, events.REVISITS_VIEW, staff=staff,
                                 detail=f"count={len(items)}", remote_addr=remote_addr)
        return items

    def flags(self, staff: Staff, remote_addr: str | None = None) -> list[FlagItem]:
        """Open care-team flags for the doctor's department, and every unrouted one.

        ``care_team_flags`` has no department column. A flag is routed by
        ``detail["department"]`` when the job that raised it set one, else by
        its condition's department in ``knowledge_base/conditions.yml`` (an
        abnormal blood-pressure reading goes to cardiology). A flag with
        neither (missed doses name a drug, not a condition) is shown to every
        doctor: a missed warning about an unsafe reading or a patient who
        stopped their medicine costs more than a doctor seeing a flag outside
        their department, and the first doctor who acts can take it.

        Raises:
            PermissionDeniedError: ``staff`` is not an active doctor.
        """
        _require_doctor(staff)
        with self.db.begin() as session:
            rows = session.execute(
                select(CareTeamFlag, Patient).join(Patient, Patient.id == CareTeamFlag.patient_id)
                .where(CareTeamFlag.status == "open", Patient.access_locked_at.is_(None))
                .order_by(CareTeamFlag.created_at.desc(), CareTeamFlag.id.desc())
                .limit(LIMIT * 10)).all()
            items = []
            for flag, patient in rows:
                detail = _json(flag.detail_json)
                department = self.department_of(detail)
                if department is not None and department != staff.department_id:
                    continue
                items.append(FlagItem(flag.id, _label(patient), flag.reason, flag.severity,
                                      detail, department, as_utc(flag.created_at)))
                if len(items) >= LIMIT:
                    break
            self.audit.record_in(session, events.FLAGS_VIEW, staff=staff,
                                 detail=f"count={len(items)}", remote_addr=remote_addr)
        return items

    def department_of(self, detail: dict[str, Any]) -> str | None:
        if detail.get("department"):
            return str(detail["department"])
        condition = self.conditions.get(detail.get("condition"))
        return getattr(condition, "department", None) or None


def _require_doctor(staff: Staff) -> None:
    if not staff.is_doctor:
        raise PermissionDeniedError(f"staff {staff.id} is not a doctor")


def _label(patient: Patient) -> str:
    return mask_patient(patient.channel, patient.external_id)


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
