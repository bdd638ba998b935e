"""Medication reminders, chronic follow-up and the persistent job queue.

``ScheduledJob`` is the scheduler's queue: one row per thing to do at a time
(send a dose reminder, nudge, mark a dose missed, send a follow-up prompt).
Its ``idempotency_key`` is unique, so planning the same occurrence twice is a
no-op, and the worker's claim/lease columns make sending exactly-once-or-logged
(see ``bot/scheduling/worker.py``). JSON columns are text so SQLite and
PostgreSQL behave alike; all times are UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId

JOB_STATUSES = ("pending", "claimed", "sending", "done", "expired", "cancelled", "failed",
                "uncertain")
DOSE_STATUSES = ("scheduled", "sent", "snoozed", "taken", "skipped", "missed", "cancelled")


class ScheduledJob(Base):
    """One due item: claimed atomically, sent once, then marked."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_scheduled_jobs_key"),
        Index("ix_scheduled_jobs_due", "status", "due_at"),
        Index("ix_scheduled_jobs_ref", "kind", "ref_id"),
        CheckConstraint(
            "status IN ('pending', 'claimed', 'sending', 'done', 'expired', 'cancelled', "
            "'failed', 'uncertain')", name="ck_scheduled_jobs_status"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    kind = Column(String(32), nullable=False)  # dose | nudge | miss | followup | notice
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    ref_id = Column(BigId, nullable=True)  # dose id / enrolment id
    generation = Column(Integer, nullable=False, default=0)  # dose generation it was made for
    due_at = Column(DateTime(timezone=True), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    idempotency_key = Column(String(160), nullable=False)
    payload_json = Column(Text, nullable=True)
    claimed_by = Column(String(64), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    sent_at = Column(DateTime(timezone=True), nullable=True)
    via = Column(String(32), nullable=True)
    channel_message_id = Column(String(128), nullable=True)
    last_error = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class MedicationReminder(Base):
    """A patient's medication schedule (what, how much, when, for how long)."""

    __tablename__ = "medication_reminders"
    __table_args__ = (
        Index("ix_medication_reminders_patient", "patient_id", "status"),
        CheckConstraint("status IN ('active', 'paused', 'cancelled', 'finished')",
                        name="ck_medication_reminders_status"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    drug_id = Column(String(64), nullable=False)
    dose = Column(String(64), nullable=False)  # as the patient's doctor prescribed, verbatim
    times_json = Column(Text, nullable=False)  # ["08:00", "20:00"] local times
    meal = Column(String(16), nullable=True)  # before_meal | after_meal | bedtime
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=True)  # inclusive
    timezone = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    status = Column(String(16), nullable=False, default="active")
    planned_until = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Dose(Base):
    """One planned intake and what the patient said about it."""

    __tablename__ = "doses"
    __table_args__ = (
        UniqueConstraint("reminder_id", "scheduled_at", name="uq_doses_occurrence"),
        Index("ix_doses_patient", "patient_id", "scheduled_at"),
        CheckConstraint(
            "status IN ('scheduled', 'sent', 'snoozed', 'taken', 'skipped', 'missed', "
            "'cancelled')", name="ck_doses_status"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    reminder_id = Column(BigId, ForeignKey("medication_reminders.id", ondelete="CASCADE"),
                         nullable=False)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    scheduled_at = Column(DateTime(timezone=True), nullable=False)
    status = Column(String(16), nullable=False, default="scheduled")
    generation = Column(Integer, nullable=False, default=0)  # bumped by each snooze
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    nudged_at = Column(DateTime(timezone=True), nullable=True)
    snoozed_until = Column(DateTime(timezone=True), nullable=True)
    responded_at = Column(DateTime(timezone=True), nullable=True)


class CareTeamFlag(Base):
    """Something the care team should look at (missed doses, abnormal reading)."""

    __tablename__ = "care_team_flags"
    __table_args__ = (Index("ix_care_team_flags_open", "status", "created_at"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    reason = Column(String(32), nullable=False)  # missed_doses | abnormal_reading
    severity = Column(String(16), nullable=False, default="routine")  # routine | urgent
    detail_json = Column(Text, nullable=True)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class FollowupEnrolment(Base):
    """A patient enrolled in a chronic follow-up plan of the knowledge base."""

    __tablename__ = "followup_enrolments"
    __table_args__ = (Index("ix_followup_enrolments_patient", "patient_id", "status"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    plan_id = Column(String(64), nullable=False)
    timezone = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    status = Column(String(16), nullable=False, default="active")
    planned_until = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Reading(Base):
    """A home measurement reported by the patient, with its unit and assessment."""

    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_patient", "patient_id", "measured_at"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(16), nullable=False)  # bp | glucose
    systolic = Column(Integer, nullable=True)
    diastolic = Column(Integer, nullable=True)
    value = Column(Float, nullable=True)
    unit = Column(String(16), nullable=False)  # mmHg | mmol/L
    context = Column(String(16), nullable=True)  # fasting | postprandial | random
    level = Column(String(16), nullable=False)  # normal | high | urgent | low
    source_text = Column(Text, nullable=True)
    measured_at = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class OutboxMessage(Base):
    """A proactive message for the REST/terminal channel, polled by the client."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_key"),
        Index("ix_outbox_recipient", "channel", "external_id", "id"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(128), nullable=False)
    kind = Column(String(16), nullable=False)
    language = Column(String(8), nullable=False)
    text = Column(Text, nullable=False)
    idempotency_key = Column(String(160), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
