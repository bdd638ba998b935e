"""ORM model of the audit log: who did what to which patient's data, hash-chained."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId


class AuditEvent(Base):
    """Who did what to which patient's data, and when (append-only).

    Hash-chained over the whole table (``bot.store.chain``): ``seq``, ``prev_hash`` and
    ``hash`` are set on insert by a ``before_insert`` event; never set them yourself.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_time", "created_at"),
        Index("ix_audit_events_patient", "patient_id", "created_at"),
        UniqueConstraint("seq", name="uq_audit_events_seq"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    staff_id = Column(BigId, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    actor = Column(String(64), nullable=False)  # username, or "system"/"cli"
    action = Column(String(48), nullable=False)  # e.g. transcript.view, handoff.claim
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="SET NULL"), nullable=True)
    handoff_id = Column(BigId, ForeignKey("handoffs.id", ondelete="SET NULL"), nullable=True)
    detail = Column(Text, nullable=True)
    remote_addr = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    seq = Column(Integer, nullable=False)
    prev_hash = Column(String(64), nullable=False)
    hash = Column(String(64), nullable=False)


@event.listens_for(AuditEvent, "before_insert")
def _seal_audit_event(_mapper, connection, target: AuditEvent) -> None:
    from bot.store.chain import seal_audit_event  # chain imports this module

    seal_audit_event(connection, target)
