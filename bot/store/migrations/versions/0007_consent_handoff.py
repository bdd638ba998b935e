"""Consent records, handoffs, console accounts and sessions, audit log, retention checkpoints.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE = "status IN ('queued', 'claimed')"
_PENDING = "status = 'pending'"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(_ts("access_locked_at", nullable=True))
    op.create_table(
        "staff_accounts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _ts("locked_until", nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("username", name="uq_staff_username"),
        sa.CheckConstraint("role IN ('doctor', 'admin')", name="ck_staff_role"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("staff_id", BigId, sa.ForeignKey("staff_accounts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _ts("created_at"), _ts("expires_at"), _ts("revoked_at", nullable=True),
        sa.UniqueConstraint("token_sha256", name="uq_staff_session_token"),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("staff_id", BigId, sa.ForeignKey("staff_accounts.id", ondelete="SET NULL"),
                  nullable=True),
        _ts("claim_deadline"), _ts("created_at"), _ts("claimed_at", nullable=True),
        _ts("ended_at", nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'claimed', 'closed', 'cancelled', 'expired')",
                           name="ck_handoff_status"),
        sa.CheckConstraint(
            "reason IN ('request_human', 'urgent_triage', 'abnormal_reading', 'fallbacks')",
            name="ck_handoff_reason"),
    )
    op.create_index("ix_handoffs_queue", "handoffs", ["status", "department_id", "created_at"])
    op.create_index("uq_handoff_active_patient", "handoffs", ["patient_id"], unique=True,
                    sqlite_where=sa.text(_ACTIVE), postgresql_where=sa.text(_ACTIVE))
    op.create_table(
        "consent_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("message_id", BigId, sa.ForeignKey("messages.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("handoff_id", BigId, sa.ForeignKey("handoffs.id", ondelete="SET NULL"),
                  nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("decision IN ('granted', 'declined', 'withdrawn')",
                           name="ck_consent_decision"),
        sa.CheckConstraint("purpose IN ('health_data', 'handoff')", name="ck_consent_purpose"),
    )
    op.create_index("ix_consent_records_patient", "consent_records",
                    ["patient_id", "purpose", "id"])
    op.create_table(
        "consent_prompts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("context_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        _ts("created_at"), _ts("answered_at", nullable=True),
        sa.CheckConstraint("status IN ('pending', 'answered', 'dropped')",
                           name="ck_prompt_status"),
    )
    op.create_index("uq_consent_prompt_pending", "consent_prompts", ["patient_id", "purpose"],
                    unique=True, sqlite_where=sa.text(_PENDING),
                    postgresql_where=sa.text(_PENDING))
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("staff_id", BigId, sa.ForeignKey("staff_accounts.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("handoff_id", BigId, sa.ForeignKey("handoffs.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_audit_events_time", "audit_events", ["created_at"])
    op.create_index("ix_audit_events_patient", "audit_events", ["patient_id", "created_at"])
    op.create_table(
        "transcript_checkpoints",
        sa.Column("conversation_id", sa.String(160), primary_key=True),
        sa.Column("purged_through_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        _ts("purged_at"),
    )


def downgrade() -> None:
    for table in ("transcript_checkpoints", "audit_events", "consent_prompts",
                  "consent_records", "handoffs", "staff_sessions", "staff_accounts"):
        op.drop_table(table)
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("access_locked_at")
