"""ORM model of online re-visit (复诊/续方) requests queued for a doctor.

Integrity lives in the database: a request can only exist with a negative red-flag
screen and no new or worse symptoms (CHECK), whatever the code above it does, and a
patient has at most one open request per condition (partial UNIQUE index).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId

REVISIT_STATUSES = ("queued", "in_review", "completed", "rejected")
_OPEN = text("status IN ('queued', 'in_review')")


class RevisitRequest(Base):
    """An eligible online re-visit (复诊/续方) request, queued for a doctor.

    Medicines are *requested* renewals (drug ids); only a doctor prescribes.
    JSON is stored as text so SQLite and PostgreSQL behave alike.
    """

    __tablename__ = "revisit_requests"
    __table_args__ = (
        UniqueConstraint("code", name="uq_revisit_requests_code"),
        CheckConstraint("status IN ('queued', 'in_review', 'completed', 'rejected')",
                        name="ck_revisit_status"),
        CheckConstraint("red_flags_negative AND NOT new_or_worse_symptoms",
                        name="ck_revisit_gate"),
        Index("ix_revisit_requests_status", "status", "created_at"),
        # one open request per patient and condition (a double submit cannot queue twice)
        Index("uq_revisit_open_patient_condition", "patient_id", "condition_id", unique=True,
              sqlite_where=_OPEN, postgresql_where=_OPEN),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    code = Column(String(16), nullable=False)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    condition_id = Column(String(64), nullable=False)
    department_id = Column(String(64), nullable=True)
    institution = Column(String(200), nullable=False)
    diagnosis = Column(String(500), nullable=False)
    diagnosed_on = Column(Date, nullable=False)
    record_number = Column(String(64), nullable=True)
    drugs_json = Column(Text, nullable=False, default="[]")
    red_flags_negative = Column(Boolean, nullable=False)
    new_or_worse_symptoms = Column(Boolean, nullable=False)
    status = Column(String(16), nullable=False, default="queued")
    language = Column(String(8), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
