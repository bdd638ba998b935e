"""What a doctor does with a handoff in the console: open it, follow it, act on it.

Visibility is ``HandoffService.can_see`` (a doctor sees their department's
queue and the handoffs assigned to them; an admin sees none: PIPL minimal
necessity). Opening a transcript writes ``transcript.view`` in the same
transaction that reads it; a patient whose data is access-locked
(delete_my_data) is refused and the refusal is audited. Actions go through
``HandoffService`` and return the ``OutboundMessage`` the caller delivers.
"""

from __future__ import annotations

import json

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console import audit as events
from bot.console.accounts import Staff, as_utc
from bot.console.audit import AuditLog
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError
from bot.handoff.service import HandoffService, HandoffView
from bot.outbound import OutboundMessage
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.wechat.protocol import mask

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


@dataclass(frozen=True)
class CaseFile:
    """A handoff with its transcript, as shown on the handoff page."""

    handoff: HandoffView
    patient_label: str
    lines: list[TranscriptLine]


@dataclass(frozen=True)
class CaseUpdate:
    """What changed since the page was drawn (for the live stream)."""

    status: str
    lines: list[TranscriptLine]


class CaseService:
    def __init__(self, db: Database, handoffs: HandoffService, audit: AuditLog) -> None:
        self.db = db
        self.handoffs = handoffs
        self.audit = audit

    def queue(self, staff: Staff) -> list[HandoffView]:
        """Open handoffs the doctor may see (none for an admin)."""
        return self.handoffs.visible(staff)  # type: ignore[arg-type] - duck-typed account

    def open(self, staff: Staff, handoff_id: int, *, via: str = "page",
             remote_addr: str | None = None, after_id: int = 0) -> CaseFile:
        """The handoff and its full transcript (from ``after_id`` on, for a stream that
        reconnects); audited as ``transcript.view``.

        Raises:
            NotFoundError: no such handoff.
            PermissionDeniedError: not visible to ``staff`` (audited ``handoff.denied``).
            PatientLockedError: the patient is access-locked (audited
                ``transcript.denied_locked``).
        """
        denial: PermissionDeniedError | None = None
        with self.db.begin() as session:
            row, patient = self._row(session, handoff_id)
            action = events.TRANSCRIPT_VIEW
            if not HandoffService.can_see(staff, row):  # type: ignore[arg-type]
                action = events.HANDOFF_DENIED
                denial = PermissionDeniedError(f"handoff {handoff_id} is not visible to "
                                               f"{staff.id}")
            elif patient.access_locked_at is not None:
                action = events.TRANSCRIPT_DENIED_LOCKED
                denial = PatientLockedError(f"patient {patient.id} is access-locked")
            self.audit.record_in(session, action, staff=staff, patient_id=patient.id,
                                 handoff_id=row.id, detail=f"via={via}", remote_addr=remote_addr)
            if denial is None:
                case = CaseFile(HandoffView.of(row), f"{patient.channel}:"
                                f"{mask(patient.external_id)}",
                                self._lines(session, row, after_id, None))
        if denial is not None:
            raise denial
        return case

    def updates(self, staff: Staff, handoff_id: int, after_id: int) -> CaseUpdate:
        """Messages after ``after_id``; checks visibility and the lock again each time.

        Raises:
            NotFoundError, PermissionDeniedError, PatientLockedError: as ``open``
                (not audited: the stream's start was).
        """
        with self.db.begin() as session:
            row, patient = self._row(session, handoff_id)
            if not HandoffService.can_see(staff, row):  # type: ignore[arg-type]
                raise PermissionDeniedError(f"handoff {handoff_id} is no longer visible")
            if patient.access_locked_at is not None:
                raise PatientLockedError(f"patient {patient.id} is access-locked")
            return CaseUpdate(row.status, self._lines(session, row, after_id, STREAM_BATCH))

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
        stmt = (select(Message).where(Message.conversation_id == row.conversation_id,
                                      Message.patient_id == row.patient_id,
                                      Message.id > after_id).order_by(Message.id))
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
