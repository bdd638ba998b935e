"""Scheduling models: departments, doctors, sessions, slots and appointments.

Integrity lives in the database, not only in code:

* ``slots.booked`` can never exceed ``slots.capacity`` (CHECK), and bookings
  take a place with a conditional ``UPDATE ... WHERE booked < capacity``;
* a patient holds at most one active booking per slot (partial UNIQUE index);
* booking codes are UNIQUE.
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
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId

SESSIONS = ("am", "pm")
APPOINTMENT_STATUSES = ("booked", "cancelled", "rescheduled")


class Department(Base):
    """A clinical department (ids from knowledge_base/departments.yml)."""

    __tablename__ = "departments"

    id = Column(String(64), primary_key=True)
    name_zh = Column(String(100), nullable=False)
    name_en = Column(String(200), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Doctor(Base):
    """A doctor who holds outpatient sessions."""

    __tablename__ = "doctors"
    __table_args__ = (CheckConstraint("fee_cents >= 0", name="ck_doctors_fee"),)

    id = Column(String(64), primary_key=True)
    department_id = Column(String(64), ForeignKey("departments.id", ondelete="RESTRICT"),
                           nullable=False, index=True)
    name_zh = Column(String(100), nullable=False)
    name_en = Column(String(200), nullable=False)
    title = Column(String(32), nullable=False)
    fee_cents = Column(Integer, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class ScheduleSession(Base):
    """A weekly half-day session of a doctor (the template slots are made from)."""

    __tablename__ = "schedule_sessions"
    __table_args__ = (
        UniqueConstraint("doctor_id", "weekday", "session", name="uq_schedule_session"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_schedule_weekday"),
        CheckConstraint("session IN ('am', 'pm')", name="ck_schedule_session"),
        CheckConstraint("capacity > 0", name="ck_schedule_capacity"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    doctor_id = Column(String(64), ForeignKey("doctors.id", ondelete="CASCADE"), nullable=False)
    weekday = Column(SmallInteger, nullable=False)  # Monday = 0
    session = Column(String(2), nullable=False)
    capacity = Column(Integer, nullable=False)


class Slot(Base):
    """One bookable half-day of one doctor on one date, with its place count."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("doctor_id", "day", "session", name="uq_slot_doctor_day_session"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_capacity"),
        CheckConstraint("session IN ('am', 'pm')", name="ck_slot_session"),
        Index("ix_slots_day", "day", "session"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    doctor_id = Column(String(64), ForeignKey("doctors.id", ondelete="RESTRICT"), nullable=False)
    day = Column(Date, nullable=False)
    session = Column(String(2), nullable=False)
    starts_at = Column(DateTime(timezone=True), nullable=False)
    ends_at = Column(DateTime(timezone=True), nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)


_ACTIVE = text("status = 'booked'")


class Appointment(Base):
    """A patient's booking of one slot; cancelled/rescheduled rows are kept."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("code", name="uq_appointments_code"),
        CheckConstraint("status IN ('booked', 'cancelled', 'rescheduled')",
                        name="ck_appointments_status"),
        Index("uq_appointments_active_patient_slot", "patient_id", "slot_id", unique=True,
              sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
        Index("ix_appointments_patient", "patient_id", "status"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    code = Column(String(16), nullable=False)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    slot_id = Column(BigId, ForeignKey("slots.id", ondelete="RESTRICT"), nullable=False)
    status = Column(String(16), nullable=False, default="booked")
    patient_name = Column(String(100), nullable=False)
    patient_phone = Column(String(20), nullable=False)
    language = Column(String(8), nullable=True)
    rescheduled_from_id = Column(BigId, ForeignKey("appointments.id", ondelete="SET NULL"),
                                 nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    cancelled_at = Column(DateTime(timezone=True), nullable=True)
