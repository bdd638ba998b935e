"""Repositories: data access for patients and transcripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.errors import ValidationError
from bot.identity import conversation_id as make_conversation_id
from bot.store.chain import head, lock_conversation, seal
from bot.store.db import Database
from bot.store.feed import announce
from bot.store.models import Message, Patient


class PatientRepository:
    """Find or create patients by (channel, external id)."""

    def get(self, session: Session, channel: str, external_id: str) -> Patient | None:
        stmt = select(Patient).where(
            Patient.channel == channel, Patient.external_id == external_id
        )
        return session.execute(stmt).scalar_one_or_none()

    def get_or_create(self, session: Session, channel: str, external_id: str) -> Patient:
        """Return the patient, creating it; a concurrent insert is tolerated."""
        patient = self.get(session, channel, external_id)
        if patient is not None:
            return patient
        try:
            with session.begin_nested():
                patient = Patient(channel=channel, external_id=external_id)
                session.add(patient)
                session.flush()
        except IntegrityError:
            patient = self.get(session, channel, external_id)
            assert patient is not None
        return patient


@dataclass(frozen=True)
class LoggedMessage:
    role: str
    text: str | None
    payload: str | None = None
    language: str | None = None
    channel_message_id: str | None = None


class MessageRepository:
    """Append messages to a conversation's transcript and read them back."""

    def append(
        self, session: Session, patient: Patient, conversation_id: str, channel: str,
        message: LoggedMessage,
    ) -> Message:
        if message.role not in Message.ROLES:
            raise ValidationError(f"unknown message role {message.role!r}")
        lock_conversation(session, conversation_id)
        last_seq, last_hash = head(session, conversation_id)  # continues after a purge
        row = Message(
            patient_id=patient.id,
            conversation_id=conversation_id,
            channel=channel,
            role=message.role,
            text=message.text,
            payload=message.payload,
            language=message.language,
            channel_message_id=message.channel_message_id,
            created_at=utcnow(),
            seq=last_seq + 1,
            prev_hash=last_hash,
        )
        row.hash = seal(row.prev_hash, row)
        session.add(row)
        session.flush()
        announce(session, conversation_id)  # live views of this conversation look again
        return row

    def conversation(self, session: Session, conversation_id: str) -> Sequence[Message]:
        stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(
            Message.id
        )
        return session.execute(stmt).scalars().all()


class TranscriptService:
    """Use case: log what crosses a channel boundary, one transaction per call."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.patients = PatientRepository()
        self.messages = MessageRepository()

    def log(
        self, channel: str, external_id: str, messages: Sequence[LoggedMessage],
        conversation_id: str | None = None,
    ) -> list[int]:
        """Log messages of one patient in order; returns their ids."""
        if not messages:
            return []
        for message in messages:  # validate everything before writing anything
            if message.role not in Message.ROLES:
                raise ValidationError(f"unknown message role {message.role!r}")
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            # The language the bot answers in is the patient's conversation language;
            # proactive messages (reminders, doctor replies) use it later.
            replied_in = [m.language for m in messages if m.role == "bot" and m.language]
            if replied_in and patient.preferred_language != replied_in[-1]:
                patient.preferred_language = replied_in[-1]
            rows = [
                self.messages.append(
                    session, patient, conversation_id or make_conversation_id(channel, external_id),
                    channel, message
                )
                for message in messages
            ]
            return [row.id for row in rows]

    def conversation(self, conversation_id: str) -> list[Message]:
        with self.db.begin() as session:
            return list(self.messages.conversation(session, conversation_id))

    def patient_message_id(self, channel: str, conversation_id: str, channel_message_id: str
                           ) -> int | None:
        """The transcript id of the patient's message ``channel_message_id``, if logged."""
        with self.db.begin() as session:
            return _patient_message(session, channel, conversation_id, channel_message_id)

    def replies_to(self, channel: str, conversation_id: str, channel_message_id: str
                   ) -> list[str] | None:
        """The bot texts logged after the patient's message ``channel_message_id``
        (up to the patient's next message); ``None`` when that message was never logged."""
        with self.db.begin() as session:
            asked = _patient_message(session, channel, conversation_id, channel_message_id)
            if asked is None:
                return None
            later = session.execute(select(Message.role, Message.text).where(
                Message.conversation_id == conversation_id, Message.id > asked,
            ).order_by(Message.id)).all()
        replies: list[str] = []
        for role, text in later:
            if role == "patient":
                break
            if role == "bot" and text:
                replies.append(text)
        return replies


def _patient_message(session: Session, channel: str, conversation_id: str,
                     channel_message_id: str) -> int | None:
    return session.execute(select(Message.id).where(
        Message.conversation_id == conversation_id, Message.channel == channel,
        Message.role == "patient", Message.channel_message_id == channel_message_id,
    ).order_by(Message.id).limit(1)).scalar_one_or_none()
