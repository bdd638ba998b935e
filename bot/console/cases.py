"""What a doctor does with a handoff in the console: open it, follow it, act on it.

Access is bounded by the handoff (``HandoffService.access_in``):

- the doctor it is assigned to reads the conversation up to the end of the
  handoff: nothing logged after ``ended_at`` is shown, and the live stream
  ends when the handoff does;
- a doctor of its department sees only the summary of a queued, unclaimed
  handoff (what is needed to decide to claim it), never the transcript, and
  nothing of one that expired or was cancelled unclaimed;
- nobody sees anything once the patient withdrew consent after agreeing to the
  handoff (``withdraw_consent``; ``delete_my_data`` also access-locks the
  patient) -- checked on every page view and every poll of the live stream;
- an admin sees none of it (PIPL minimal necessity).

Every view writes its audit event (``transcript.view``, ``summary.view``, or the
refusal: ``handoff.denied``, ``transcript.denied_locked``) in the same
transaction that reads the data. Actions go through ``HandoffService`` and
return the ``OutboundMessage`` the caller delivers.
"""

from __future__ import annotations

import json

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import as_utc
from bot.console import audit as events
from bot.console.accounts import Staff
from bot.console.audit import AuditLog
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError
from bot.handoff.service import (
    ACTIVE,
    NO_ACCESS,
    SUMMARY,
    TRANSCRIPT,
    HandoffService,
    HandoffView,
)
from bot.masking import mask_patient
from bot.outbound import OutboundMessage
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient

STREAM_BATCH = 200  # messages per live-stream poll


class PatientLockedError(PermissionDeniedError):
    """The patient asked for their data to be deleted; what is kept is locked."""

    message_key = "utter_console_patient_locked"


@dataclass(frozen=True)
class TranscriptLine:
    id: int
    role: str
    text: str
    created_at: datetime


class ConsentWithdrawnError(PermissionDeniedError):
    """The patient withdrew consent after agreeing to the handoff."""

    message_key = "utter_console_consent_withdrawn"


@dataclass(frozen=True)
class CaseFile:
    """A handoff as shown on the handoff page.

    Attributes:
        transcript: whether ``lines`` is the conversation (the assigned doctor) or
            withheld (a department colleague deciding to claim: summary only).
    """

    handoff: HandoffView
    patient_label: str
    lines: list[TranscriptLine]
    transcript: bool = True


@dataclass(frozen=True)
class CaseUpdate:
    """What changed since the page was drawn (for the live stream).

    Attributes:
        ended: the handoff is over and ``lines`` reach its end: the stream stops.
    """

    status: str
    lines: list[TranscriptLine]
    ended: bool = False


class CaseService:
    def __init__(self, db: Database, handoffs: HandoffService, audit: AuditLog) -> None:
        self.db = db
        self.handoffs = handoffs
        self.audit = audit

    def queue(self, staff: Staff) -> list[HandoffView]:
        """Open handoffs the doctor may see (none for an admin)."""
        return self.handoffs.visible(staff)  # type: ignore[arg-type] - duck-typed account

    def open(self, staff: Staff, handoff_id: int, *, via: str = "page",
             remote_addr: str | None = None, after_id: int = 0,
             transcript: bool = False) -> CaseFile:
        """The handoff, with the conversation when ``staff`` may read it (from
        ``after_id`` on, for a stream that reconnects); audited as ``transcript.view``
        or ``summary.view``.

        Args:
            transcript: the caller needs the conversation (the live stream): a
                summary-only viewer is refused.

        Raises:
            NotFoundError: no such handoff.
            PermissionDeniedError: not visible to ``staff`` (audited ``handoff.denied``).
            ConsentWithdrawnError: the patient withdrew consent (``handoff.denied``).
            PatientLockedError: the patient is access-locked (audited
                ``transcript.denied_locked``).
        """
        with self.db.begin() as session:
            row, patient = self._row(session, handoff_id)
            level, denial, reason = self._check(session, staff, row, patient, transcript)
            detail = f"via={via}"
            if denial is None:
                action = events.SUMMARY_VIEW if level == SUMMARY else events.TRANSCRIPT_VIEW
            elif reason == "patient_locked":
                action = events.TRANSCRIPT_DENIED_LOCKED
            else:
                action, detail = events.HANDOFF_DENIED, f"{detail} reason={reason}"
            self.audit.record_in(session, action, staff=staff, patient_id=patient.id,
                                 handoff_id=row.id, detail=detail, remote_addr=remote_addr)
            if denial is None:
                shown = level == TRANSCRIPT
                case = CaseFile(HandoffView.of(row),
                                mask_patient(patient.channel, patient.external_id) if shown
                                else "",
                                self._lines(session, row, after_id, None) if shown else [],
                                transcript=shown)
        if denial is not None:
            raise denial
        return case

    def updates(self, staff: Staff, handoff_id: int, after_id: int) -> CaseUpdate:
        """Messages after ``after_id``; checks access, consent and the lock again each time.

        Raises:
            NotFoundError, PermissionDeniedError, PatientLockedError,
                ConsentWithdrawnError: as ``open`` (not audited: the stream's start was).
        """
        with self.db.read() as session:
            row, patient = self._row(session, handoff_id)
            _, denial, _ = self._check(session, staff, row, patient, transcript=True)
            if denial is not None:
                raise denial
            lines = self._lines(session, row, after_id, STREAM_BATCH)
            return CaseUpdate(row.status, lines,
                              ended=row.status not in ACTIVE and len(lines) < STREAM_BATCH)

    def _check(self, session: Session, staff: Staff, row: Handoff, patient: Patient,
               transcript: bool) -> tuple[str, PermissionDeniedError | None, str | None]:
        """The access level of ``staff``, and the refusal with its reason, if any.

        The order matters: someone who may not see the handoff at all learns
        nothing about the patient (locked or not, consent or not).
        """
        level = self.handoffs.access(staff, row)  # type: ignore[arg-type]
        if level == NO_ACCESS:
            return level, PermissionDeniedError(
                f"handoff {row.id} is not visible to {staff.id}"), "not_visible"
        if patient.access_locked_at is not None:
            return level, PatientLockedError(
                f"patient {patient.id} is access-locked"), "patient_locked"
        if self.handoffs.consent_withdrawn(session, row):
            return level, ConsentWithdrawnError(
                f"handoff {row.id}: the patient withdrew consent"), "consent_withdrawn"
        if level == SUMMARY and transcript:
            return level, PermissionDeniedError(
                f"handoff {row.id}: summary only for {staff.id} until claimed"), "summary_only"
        return level, None, None

    def claim(self, staff: Staff, handoff_id: int,
              remote_addr: str | None = None) -> OutboundMessage:
        """Take a queued handoff; returns the "doctor has joined" notice to deliver.

        Raises:
            ConflictError: another doctor claimed it first.
            PermissionDeniedError: not the doctor's department.
        """
        try:
            notice = self.handoffs.claim(staff, handoff_id)  # type: ignore[arg-type]
        except PermissionDeniedError:
            if self._taken_by_colleague(staff, handoff_id):
                raise ConflictError(f"handoff {handoff_id} was claimed by another doctor") \
                    from None
            raise
        self._audit(events.HANDOFF_CLAIM, staff, handoff_id, remote_addr)
        return notice

    def reply(self, staff: Staff, handoff_id: int, text: str,
              remote_addr: str | None = None) -> OutboundMessage:
        message = self.handoffs.reply(staff, handoff_id, text)  # type: ignore[arg-type]
        self._audit(events.HANDOFF_REPLY, staff, handoff_id, remote_addr,
                    f"chars={len(message.text)}")
        return message

    def close(self, staff: Staff, handoff_id: int, note: str,
              remote_addr: str | None = None) -> tuple[OutboundMessage, str]:
        """Close with a note; returns the bot's resume message and the conversation id."""
        message = self.handoffs.close(staff, handoff_id, note)  # type: ignore[arg-type]
        conversation_id = self._audit(events.HANDOFF_CLOSE, staff, handoff_id, remote_addr)
        return message, conversation_id

    def _audit(self, action: str, staff: Staff, handoff_id: int, remote_addr: str | None,
               detail: str | None = None) -> str:
        """Record an action on a handoff; returns its conversation id."""
        with self.db.begin() as session:
            row, _ = self._row(session, handoff_id)
            self.audit.record_in(session, action, staff=staff, patient_id=row.patient_id,
                                 handoff_id=handoff_id, detail=detail, remote_addr=remote_addr)
            return row.conversation_id

    def _taken_by_colleague(self, staff: Staff, handoff_id: int) -> bool:
        """A handoff of the doctor's own department that another doctor claimed first
        (``can_see`` hides it from then on, so ``HandoffService.claim`` refuses it as
        invisible; for the doctor who saw it queued that is a conflict)."""
        with self.db.begin() as session:
            row = session.get(Handoff, handoff_id)
            return (row is not None and staff.is_doctor
                    and row.department_id == staff.department_id
                    and row.staff_id not in (None, staff.id))

    @staticmethod
    def _row(session: Session, handoff_id: int) -> tuple[Handoff, Patient]:
        row = session.get(Handoff, handoff_id)
        if row is None:
            raise NotFoundError(f"handoff {handoff_id} not found")
        return row, session.get(Patient, row.patient_id)

    @staticmethod
    def _lines(session: Session, row: Handoff, after_id: int,
               limit: int | None) -> list[TranscriptLine]:
        """The conversation of the handoff, up to its end (``ended_at``) once it ended."""
        stmt = (select(Message).where(Message.conversation_id == row.conversation_id,
                                      Message.patient_id == row.patient_id,
                                      Message.id > after_id).order_by(Message.id))
        if row.ended_at is not None:
            stmt = stmt.where(Message.created_at <= row.ended_at)
        found = session.execute(stmt if limit is None else stmt.limit(limit)).scalars()
        return [TranscriptLine(m.id, m.role, _with_attachment(m), as_utc(m.created_at))
                for m in found]


_ATTACHMENT_FIELDS = ("PicUrl", "Url", "Title", "Label", "Location_X", "Location_Y", "MediaId")


def _with_attachment(message: Message) -> str:
    """The message text, plus what a doctor needs of a picture, link or location the
    patient sent during the handoff (the channel logged it as the payload)."""
    text = message.text or ""
    if not message.payload or message.role != "patient":
        return text
    try:
        payload = json.loads(message.payload)
    except ValueError:
        return text
    if not isinstance(payload, dict):
        return text
    extra = [f"{k}: {payload[k]}" for k in _ATTACHMENT_FIELDS if payload.get(k)]
    return f"{text} ({'; '.join(extra)})" if extra else text
