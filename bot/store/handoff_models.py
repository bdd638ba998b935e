"""ORM model of the human handoff: a conversation queued for, claimed and closed by a doctor.

JSON is stored as text so SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, String, Text

from bot.clock import utcnow
from bot.store.models import Base, BigId

_ACTIVE = "status IN ('queued', 'claimed')"


class Handoff(Base):
    """A conversation handed to a human doctor, from the queue to its close."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'claimed', 'closed', 'cancelled', 'expired')",
            name="ck_handoff_status"),
        CheckConstraint(
            "reason IN ('request_human', 'urgent_triage', 'abnormal_reading', 'fallbacks')",
            name="ck_handoff_reason"),
        Index("ix_handoffs_queue", "status", "department_id", "created_at"),
        # one open handoff per patient: a double consent cannot queue twice
        Index("uq_handoff_active_patient", "patient_id", unique=True,
              sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(String(160), nullable=False)
    channel = Column(String(32), nullable=False)
    department_id = Column(String(64), nullable=False)
    reason = Column(String(32), nullable=False)
    language = Column(String(8), nullable=False)
    summary_json = Column(Text, nullable=False, default="{}")
    status = Column(String(16), nullable=False, default="queued")
    staff_id = Column(BigId, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    claim_deadline = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    close_note = Column(Text, nullable=True)
