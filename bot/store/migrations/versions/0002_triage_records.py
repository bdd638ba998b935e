"""Triage decisions (issue 4).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "triage_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("patient_id", BigId, sa.ForeignKey("patients.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("conversation_id", sa.String(160), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("input_text", sa.Text(), nullable=True),
        sa.Column("case_json", sa.Text(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("departments_json", sa.Text(), nullable=False),
        sa.Column("red_flags_json", sa.Text(), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        sa.Column("ruleset", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level IN ('emergency', 'urgent', 'routine', 'self_care')",
                           name="ck_triage_level"),
    )
    op.create_index("ix_triage_records_conversation", "triage_records", ["conversation_id", "id"])
    op.create_index("ix_triage_records_level", "triage_records", ["level", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_triage_records_level", table_name="triage_records")
    op.drop_index("ix_triage_records_conversation", table_name="triage_records")
    op.drop_table("triage_records")
