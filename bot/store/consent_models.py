"""ORM models of consent: the decisions patients made and the questions awaiting an answer.

Consent records are append-only: a withdrawal is a new record, not an update.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text

from bot.clock import utcnow
from bot.store.models import Base, BigId

_PENDING = "status = 'pending'"


class ConsentRecord(Base):
    """One consent decision (PIPL art. 29: separate consent for health data).

    Attributes:
        purpose: ``health_data`` (processing health information) or ``handoff``
            (a licensed doctor reads the conversation).
        text_version / text_sha256: the exact text the patient was shown.
        decision: ``granted``, ``declined`` or ``withdrawn``.
        message_id: the patient's message that carried the decision.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("decision IN ('granted', 'declined', 'withdrawn')",
                        name="ck_consent_decision"),
        CheckConstraint("purpose IN ('health_data', 'handoff')", name="ck_consent_purpose"),
        Index("ix_consent_records_patient", "patient_id", "purpose", "id"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    purpose = Column(String(32), nullable=False)
    text_version = Column(String(32), nullable=False)
    text_sha256 = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    decision = Column(String(16), nullable=False)
    message_id = Column(BigId, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    handoff_id = Column(BigId, ForeignKey("handoffs.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ConsentPrompt(Base):
    """A consent question shown to a patient and not yet answered.

    At most one pending prompt per patient and purpose (enforced by a partial
    unique index). ``context_json`` carries what to do on consent (for a
    handoff: reason, department, triage record).
    """

    __tablename__ = "consent_prompts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'answered', 'dropped')", name="ck_prompt_status"),
        Index("uq_consent_prompt_pending", "patient_id", "purpose", unique=True,
              sqlite_where=_PENDING, postgresql_where=_PENDING),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(String(160), nullable=False)
    purpose = Column(String(32), nullable=False)
    text_version = Column(String(32), nullable=False)
    text_sha256 = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    context_json = Column(Text, nullable=False, default="{}")
    status = Column(String(16), nullable=False, default="pending")
    asked = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    answered_at = Column(DateTime(timezone=True), nullable=True)
