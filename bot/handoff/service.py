"""Human handoff: queue, claim, doctor replies, close, cancel, unclaimed timeout.

Patient-side methods take the caller's ``Session`` (the conversation gate
records the consent and starts the handoff in one transaction); doctor-side
methods run their own transaction. Messages for the patient come back as
``OutboundMessage`` for the caller to deliver through the patient's channel;
everything either side says is appended to the hash-chained transcript.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from bot.handoff.config import HandoffConfig
from bot.handoff.summary import build_summary
from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.kb.departments import load_departments
from bot.outbound import OutboundMessage
from bot.store.consent_models import ConsentRecord
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Patient
from bot.store.repositories import LoggedMessage, MessageRepository
from bot.store.staff_models import StaffAccount

ACTIVE = ("queued", "claimed")
MAX_REPLY_CHARS = 2000
# What a console user may see of one handoff (``HandoffService.access``).
NO_ACCESS, SUMMARY, TRANSCRIPT = "none", "summary", "transcript"
# Withdrawing either consent ends a doctor's access (bot/consent/rights.py).
_ACCESS_CONSENTS = ("handoff", "health_data")


@dataclass(frozen=True)
class QueuePosition:
    ahead: int
    wait_minutes: int
    on_duty: bool


@dataclass(frozen=True)
class HandoffView:
    """What the console shows of a handoff (no ORM object leaves a transaction)."""

    id: int
    patient_id: int
    conversation_id: str
    channel: str
    department_id: str
    reason: str
    language: str
    status: str
    summary: dict[str, Any]
    staff_id: int | None
    created_at: Any
    claimed_at: Any
    ended_at: Any
    close_note: str | None

    @classmethod
    def of(cls, row: Handoff) -> HandoffView:
        return cls(row.id, row.patient_id, row.conversation_id, row.channel, row.department_id,
                   row.reason, row.language, row.status, json.loads(row.summary_json or "{}"),
                   row.staff_id, row.created_at, row.claimed_at, row.ended_at, row.close_note)


class HandoffService:
    """Use cases of the handoff, for the patient's gate and the doctor console."""

    def __init__(self, db: Database, config: HandoffConfig, clock: Clock | None = None,
                 hospital: HospitalInfo | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock or SystemClock()
        self.hospital = hospital or HospitalInfo.load()
        self.messages = MessageRepository()
        self._departments = load_departments()

    # -- patient side (caller's session) -------------------------------------------
    def active(self, session: Session, patient_id: int) -> Handoff | None:
        return session.execute(select(Handoff).where(
            Handoff.patient_id == patient_id, Handoff.status.in_(ACTIVE))).scalar_one_or_none()

    def start(self, session: Session, patient: Patient, conversation_id: str, channel: str,
              context: dict[str, Any], lang: str) -> Handoff:
        """Queue a handoff (the patient has consented). One active per patient."""
        existing = self.active(session, patient.id)
        if existing is not None:
            return existing
        department = context.get("department")
        if department not in self._departments:
            department = self.config.default_department
        reason = context.get("reason") or "request_human"
        now = self.clock.now()
        row = Handoff(
            patient_id=patient.id, conversation_id=conversation_id, channel=channel,
            department_id=department, reason=reason, language=lang, status="queued",
            summary_json=json.dumps(build_summary(session, patient, conversation_id, reason,
                                                  lang, context), ensure_ascii=False,
                                    default=str),
            claim_deadline=now + timedelta(minutes=self.config.claim_timeout_minutes),
            created_at=now)
        session.add(row)
        session.flush()
        return row

    def position(self, session: Session, handoff: Handoff) -> QueuePosition:
        ahead = session.execute(select(func.count(Handoff.id)).where(
            Handoff.status == "queued", Handoff.department_id == handoff.department_id,
            Handoff.id < handoff.id)).scalar_one()
        return QueuePosition(ahead, (ahead + 1) * self.config.minutes_per_patient,
                             self.config.on_duty(self.clock.now()))

    def queued_text(self, session: Session, handoff: Handoff, lang: str,
                    waiting: bool = False) -> str:
        """Where the patient is in the queue: on joining it, or (``waiting``) when the
        patient writes before a doctor has claimed the handoff ("hello?")."""
        pos = self.position(session, handoff)
        params = {**self.hospital.params(lang), "department": self.department_name(
            handoff.department_id, lang), "ahead": pos.ahead, "wait": pos.wait_minutes,
            "hours": self.config.service_hours_text[lang]}
        key = "utter_handoff_waiting" if waiting else "utter_handoff_queued"
        return t(key if pos.on_duty else f"{key}_off_duty", lang, **params)

    def cancel(self, session: Session, handoff: Handoff) -> None:
        handoff.status, handoff.ended_at = "cancelled", self.clock.now()

    def department_name(self, department_id: str, lang: str) -> str:
        department = self._departments.get(department_id)
        return (department.names.get(lang) if department else None) or department_id

    # -- doctor side ----------------------------------------------------------------
    @staticmethod
    def access(staff: StaffAccount, handoff: Handoff | HandoffView) -> str:
        """What ``staff`` may see of ``handoff``, judged on the row (PIPL minimal necessity).

        - ``TRANSCRIPT``: the doctor it is assigned to (claimed, and after it ended:
          the conversation up to ``ended_at`` only, see ``bot.console.cases``).
        - ``SUMMARY``: a doctor of its department while it is queued and unclaimed:
          the summary needed to decide to claim it (reason, triage, readings,
          adherence, re-visit), never the transcript.
        - ``NO_ACCESS``: everyone else: admins, other departments, colleagues once a
          doctor claimed it, and the whole department once it expired or was
          cancelled unclaimed.

        Consent is checked by ``access_in`` (it needs the database).
        """
        if staff.role != "doctor" or not staff.active:
            return NO_ACCESS
        if handoff.staff_id is not None:
            return TRANSCRIPT if handoff.staff_id == staff.id else NO_ACCESS
        if handoff.status == "queued" and handoff.department_id == staff.department_id:
            return SUMMARY
        return NO_ACCESS

    @staticmethod
    def can_see(staff: StaffAccount, handoff: Handoff | HandoffView) -> bool:
        """``staff`` may see something of ``handoff`` (row rule only; see ``access``)."""
        return HandoffService.access(staff, handoff) != NO_ACCESS

    def access_in(self, session: Session, staff: StaffAccount,
                  handoff: Handoff | HandoffView) -> str:
        """``access``, and nothing once the patient withdrew consent after the handoff."""
        level = self.access(staff, handoff)
        if level != NO_ACCESS and self.consent_withdrawn(session, handoff):
            return NO_ACCESS
        return level

    @staticmethod
    def consent_withdrawn(session: Session, handoff: Handoff | HandoffView) -> bool:
        """The patient withdrew consent (``withdraw_consent``/``delete_my_data``) after
        agreeing to this handoff: a withdrawal record newer than the handoff's grant
        (or, for a handoff without one, made at or after its start)."""
        grant = session.execute(select(ConsentRecord.id).where(
            ConsentRecord.handoff_id == handoff.id, ConsentRecord.decision == "granted")
            .order_by(ConsentRecord.id).limit(1)).scalar_one_or_none()
        stmt = select(ConsentRecord.id).where(
            ConsentRecord.patient_id == handoff.patient_id,
            ConsentRecord.decision == "withdrawn",
            ConsentRecord.purpose.in_(_ACCESS_CONSENTS))
        stmt = stmt.where(ConsentRecord.id > grant if grant is not None
                          else ConsentRecord.created_at >= handoff.created_at)
        return session.execute(stmt.limit(1)).first() is not None

    def visible(self, staff: StaffAccount, include_closed: bool = False) -> list[HandoffView]:
        stmt = select(Handoff, Patient.access_locked_at).join(
            Patient, Patient.id == Handoff.patient_id).order_by(Handoff.created_at, Handoff.id)
        if not include_closed:
            stmt = stmt.where(Handoff.status.in_(ACTIVE))
        with self.db.read() as session:
            return [HandoffView.of(h) for h, locked in session.execute(stmt).all()
                    if locked is None and self.access_in(session, staff, h) != NO_ACCESS]

    def get_for(self, staff: StaffAccount, handoff_id: int) -> HandoffView:
        with self.db.begin() as session:
            return HandoffView.of(self._visible_row(session, staff, handoff_id))

    def _visible_row(self, session: Session, staff: StaffAccount, handoff_id: int,
                     lock: bool = False, consent: bool = True) -> Handoff:
        """The handoff, if ``staff`` may act on it (``consent=False``: even after the
        patient withdrew consent -- closing reveals nothing and gives the bot back)."""
        stmt = select(Handoff).where(Handoff.id == handoff_id)
        if lock:
            stmt = stmt.with_for_update()
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"handoff {handoff_id} not found")
        level = self.access_in(session, staff, row) if consent else self.access(staff, row)
        if level == NO_ACCESS:
            raise PermissionDeniedError(f"handoff {handoff_id} is not visible to {staff.id}")
        return row

    def claim(self, staff: StaffAccount, handoff_id: int) -> OutboundMessage:
        """Assign a queued handoff to ``staff`` (first claim wins, enforced by the update)."""
        with self.db.begin() as session:
            row = session.get(Handoff, handoff_id)
            if (row is not None and row.status != "queued" and staff.role == "doctor"
                    and row.department_id == staff.department_id):
                raise ConflictError(f"handoff {handoff_id} is no longer queued")
            row = self._visible_row(session, staff, handoff_id)
            claimed = session.execute(
                update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "queued")
                .values(status="claimed", staff_id=staff.id, claimed_at=self.clock.now())
                .execution_options(synchronize_session=False)).rowcount
            if claimed != 1:
                raise ConflictError(f"handoff {handoff_id} is no longer queued")
            session.refresh(row)
            text = t("utter_handoff_claimed", row.language, doctor=staff.display_name)
            return self._say(session, row, "system", text, "notice")

    def reply(self, staff: StaffAccount, handoff_id: int, text: str) -> OutboundMessage:
        text = (text or "").strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            raise ValidationError(f"reply must be 1..{MAX_REPLY_CHARS} characters")
        with self.db.begin() as session:
            row = self._visible_row(session, staff, handoff_id, lock=True)
            if row.status != "claimed" or row.staff_id != staff.id:
                raise ConflictError(f"handoff {handoff_id} is not claimed by {staff.id}")
            return self._say(session, row, "doctor", text, "doctor")

    def close(self, staff: StaffAccount, handoff_id: int, note: str) -> OutboundMessage:
        """Close a claimed handoff with a note; returns the bot's resume message."""
        with self.db.begin() as session:
            row = self._visible_row(session, staff, handoff_id, lock=True, consent=False)
            if row.status != "claimed" or row.staff_id != staff.id:
                raise ConflictError(f"handoff {handoff_id} is not claimed by {staff.id}")
            row.status, row.ended_at = "closed", self.clock.now()
            row.close_note = (note or "").strip()[:2000] or None
            return self._say(session, row, "bot", t("utter_handoff_closed", row.language),
                             "notice")

    def expire_unclaimed(self) -> list[OutboundMessage]:
        """End queued handoffs past their claim deadline; the patient is told."""
        now = self.clock.now()
        out = []
        with self.db.begin() as session:
            rows = session.execute(select(Handoff).where(
                Handoff.status == "queued", Handoff.claim_deadline <= now)
                .with_for_update(skip_locked=True)).scalars().all()
            for row in rows:
                row.status, row.ended_at = "expired", now
                text = t("utter_handoff_expired", row.language,
                         minutes=self.config.claim_timeout_minutes,
                         **self.hospital.params(row.language))
                out.append(self._say(session, row, "bot", text, "notice"))
        return out

    def _say(self, session: Session, row: Handoff, role: str, text: str,
             kind: str) -> OutboundMessage:
        patient = session.get(Patient, row.patient_id)
        self.messages.append(session, patient, row.conversation_id, row.channel,
                             LoggedMessage(role=role, text=text, language=row.language))
        return OutboundMessage(channel=row.channel, external_id=patient.external_id, text=text,
                               kind=kind, language=row.language)
