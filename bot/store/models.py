"""ORM models of the foundation: patients and the message transcript.

Later features add their models in their own modules on the same ``Base`` and
their own Alembic migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from bot.clock import utcnow

Base = declarative_base()

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Patient(Base):
    """A person talking to medbot through one channel identity."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_patient_channel_id"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(128), nullable=False)
    preferred_language = Column(String(8), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    # delete_my_data: what the law makes us keep is access-locked, not deleted;
    # the console refuses a locked patient's transcript and the retention job purges it.
    access_locked_at = Column(DateTime(timezone=True), nullable=True)

    messages = relationship("Message", back_populates="patient", lazy="raise")


class Message(Base):
    """One inbound or outbound message, logged at the channel boundary.

    Append-only and hash-chained per conversation (``bot.store.chain``).
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_patient", "patient_id", "id"),
        CheckConstraint("role IN ('patient', 'bot', 'doctor', 'system')", name="ck_messages_role"),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
    )

    ROLES = ("patient", "bot", "doctor", "system")

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(String(160), nullable=False)
    channel = Column(String(32), nullable=False)
    role = Column(String(16), nullable=False)
    text = Column(Text, nullable=True)
    payload = Column(Text, nullable=True)
    language = Column(String(8), nullable=True)
    channel_message_id = Column(String(128), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Hash chain (bot/store/chain.py): position in the conversation and the seals.
    seq = Column(Integer, nullable=False)
    prev_hash = Column(String(64), nullable=False)
    hash = Column(String(64), nullable=False)

    patient = relationship("Patient", back_populates="messages", lazy="raise")


class TranscriptCheckpoint(Base):
    """Where a conversation's chain continues after the retention purge removed
    its oldest messages: ``verify`` starts at ``purged_through_seq + 1`` with
    ``last_hash`` as the previous hash."""

    __tablename__ = "transcript_checkpoints"

    conversation_id = Column(String(160), primary_key=True)
    purged_through_seq = Column(Integer, nullable=False)
    last_hash = Column(String(64), nullable=False)
    purged_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
