"""``TriageRecord``: every triage decision, with the case and ruleset behind it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, String, Text

from bot.clock import utcnow
from bot.store.models import Base, BigId

TRIAGE_LEVELS = ("emergency", "urgent", "routine", "self_care")


class TriageRecord(Base):
    """One decision of the triage engine (chat or CLI), kept for audit.

    JSON columns are stored as text so SQLite and PostgreSQL behave alike.
    """

    __tablename__ = "triage_records"
    __table_args__ = (
        CheckConstraint(
            "level IN ('emergency', 'urgent', 'routine', 'self_care')", name="ck_triage_level"
        ),
        Index("ix_triage_records_conversation", "conversation_id", "id"),
        Index("ix_triage_records_level", "level", "created_at"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="SET NULL"), nullable=True)
    conversation_id = Column(String(160), nullable=True)
    channel = Column(String(32), nullable=False, default="cli")
    language = Column(String(8), nullable=True)
    input_text = Column(Text, nullable=True)
    case_json = Column(Text, nullable=False)
    level = Column(String(16), nullable=False)
    departments_json = Column(Text, nullable=False)
    red_flags_json = Column(Text, nullable=False)
    reasons_json = Column(Text, nullable=False)
    ruleset = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
