"""Appointments (departments, doctors, schedules, slots) and re-visit requests (issue 6).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("status = 'booked'")
OPEN = sa.text("status IN ('queued', 'in_review')")


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "doctors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("department_id", sa.String(64),
                  sa.ForeignKey("departments.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("title", sa.String(32), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("fee_cents >= 0", name="ck_doctors_fee"),
    )
    op.create_index("ix_doctors_department_id", "doctors", ["department_id"])
    op.create_table(
        "schedule_sessions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("doctor_id", sa.String(64), sa.ForeignKey("doctors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("session", sa.String(2), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.UniqueConstraint("doctor_id", "weekday", "session", name="uq_schedule_session"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_schedule_weekday"),
        sa.CheckConstraint("session IN ('am', 'pm')", name="ck_schedule_session"),
        sa.CheckConstraint("capacity > 0", name="ck_schedule_capacity"),
    )
    op.create_table(
        "slots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("doctor_id", sa.String(64), sa.ForeignKey("doctors.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("session", sa.String(2), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.UniqueConstraint("doctor_id", "day", "session", name="uq_slot_doctor_day_session"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_capacity"),
        sa.CheckConstraint("session IN ('am', 'pm')", name="ck_slot_session"),
    )
    op.create_index("ix_slots_day", "slots", ["day", "session"])
    op.create_table(
        "appointments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("slot_id", BigId, sa.ForeignKey("slots.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("patient_name", sa.String(100), nullable=False),
        sa.Column("patient_phone", sa.String(20), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("rescheduled_from_id", BigId,
                  sa.ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("code", name="uq_appointments_code"),
        sa.CheckConstraint("status IN ('booked', 'cancelled', 'rescheduled')",
                           name="ck_appointments_status"),
    )
    op.create_index("uq_appointments_active_patient_slot", "appointments",
                    ["patient_id", "slot_id"], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.create_index("ix_appointments_patient", "appointments", ["patient_id", "status"])
    op.create_table(
        "revisit_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("condition_id", sa.String(64), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=True),
        sa.Column("institution", sa.String(200), nullable=False),
        sa.Column("diagnosis", sa.String(500), nullable=False),
        sa.Column("diagnosed_on", sa.Date(), nullable=False),
        sa.Column("record_number", sa.String(64), nullable=True),
        sa.Column("drugs_json", sa.Text(), nullable=False),
        sa.Column("red_flags_negative", sa.Boolean(), nullable=False),
        sa.Column("new_or_worse_symptoms", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name="uq_revisit_requests_code"),
        sa.CheckConstraint("status IN ('queued', 'in_review', 'completed', 'rejected')",
                           name="ck_revisit_status"),
        sa.CheckConstraint("red_flags_negative AND NOT new_or_worse_symptoms",
                           name="ck_revisit_gate"),
    )
    op.create_index("ix_revisit_requests_status", "revisit_requests", ["status", "created_at"])
    op.create_index("uq_revisit_open_patient_condition", "revisit_requests",
                    ["patient_id", "condition_id"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("uq_revisit_open_patient_condition", table_name="revisit_requests")
    op.drop_index("ix_revisit_requests_status", table_name="revisit_requests")
    op.drop_table("revisit_requests")
    op.drop_index("ix_appointments_patient", table_name="appointments")
    op.drop_index("uq_appointments_active_patient_slot", table_name="appointments")
    op.drop_table("appointments")
    op.drop_index("ix_slots_day", table_name="slots")
    op.drop_table("slots")
    op.drop_table("schedule_sessions")
    op.drop_index("ix_doctors_department_id", table_name="doctors")
    op.drop_table("doctors")
    op.drop_table("departments")
