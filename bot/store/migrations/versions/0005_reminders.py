"""Medication reminders, follow-up, readings, care-team flags, job queue, outbox (issue 7).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def _patient() -> sa.Column:
    return sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs", _id(),
        sa.Column("kind", sa.String(32), nullable=False),
        _patient(),
        sa.Column("ref_id", BigId, nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(160), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("via", sa.String(32), nullable=True),
        sa.Column("channel_message_id", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_scheduled_jobs_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'sending', 'done', 'expired', 'cancelled', "
            "'failed', 'uncertain')", name="ck_scheduled_jobs_status"),
    )
    op.create_index("ix_scheduled_jobs_due", "scheduled_jobs", ["status", "due_at"])
    op.create_index("ix_scheduled_jobs_ref", "scheduled_jobs", ["kind", "ref_id"])
    op.create_table(
        "medication_reminders", _id(), _patient(),
        sa.Column("drug_id", sa.String(64), nullable=False),
        sa.Column("dose", sa.String(64), nullable=False),
        sa.Column("times_json", sa.Text(), nullable=False),
        sa.Column("meal", sa.String(16), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("planned_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused', 'cancelled', 'finished')",
                           name="ck_medication_reminders_status"),
    )
    op.create_index("ix_medication_reminders_patient", "medication_reminders",
                    ["patient_id", "status"])
    op.create_table(
        "doses", _id(),
        sa.Column("reminder_id", BigId,
                  sa.ForeignKey("medication_reminders.id", ondelete="CASCADE"), nullable=False),
        _patient(),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("nudged_at", TS, nullable=True),
        sa.Column("snoozed_until", TS, nullable=True),
        sa.Column("responded_at", TS, nullable=True),
        sa.UniqueConstraint("reminder_id", "scheduled_at", name="uq_doses_occurrence"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'snoozed', 'taken', 'skipped', 'missed', "
            "'cancelled')", name="ck_doses_status"),
    )
    op.create_index("ix_doses_patient", "doses", ["patient_id", "scheduled_at"])
    op.create_table(
        "care_team_flags", _id(), _patient(),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_care_team_flags_open", "care_team_flags", ["status", "created_at"])
    op.create_table(
        "followup_enrolments", _id(), _patient(),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("planned_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_followup_enrolments_patient", "followup_enrolments",
                    ["patient_id", "status"])
    op.create_table(
        "readings", _id(), _patient(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("context", sa.String(16), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=True),
        sa.Column("measured_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_readings_patient", "readings", ["patient_id", "measured_at"])
    op.create_table(
        "outbox_messages", _id(),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(160), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_recipient", "outbox_messages", ["channel", "external_id", "id"])


def downgrade() -> None:
    for index, table in (("ix_outbox_recipient", "outbox_messages"),
                         ("ix_readings_patient", "readings"),
                         ("ix_followup_enrolments_patient", "followup_enrolments"),
                         ("ix_care_team_flags_open", "care_team_flags"),
                         ("ix_doses_patient", "doses"),
                         ("ix_medication_reminders_patient", "medication_reminders"),
                         ("ix_scheduled_jobs_ref", "scheduled_jobs"),
                         ("ix_scheduled_jobs_due", "scheduled_jobs")):
        op.drop_index(index, table_name=table)
    for table in ("outbox_messages", "readings", "followup_enrolments", "care_team_flags",
                  "doses", "medication_reminders", "scheduled_jobs"):
        op.drop_table(table)
