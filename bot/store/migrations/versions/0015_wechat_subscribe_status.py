"""WeChat long-term subscription answers per patient and template.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_subscribe_status",
        sa.Column("openid", sa.String(128), primary_key=True),
        sa.Column("template_id", sa.String(128), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('offered', 'accept', 'reject')",
                           name="ck_wechat_subscribe_status_status"),
    )


def downgrade() -> None:
    op.drop_table("wechat_subscribe_status")
