"""WeChat customer-service quota ledger per openid; why a delivery took the fallback.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_quota",
        sa.Column("openid", sa.String(128), primary_key=True),
        sa.Column("message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_used", sa.Integer(), nullable=False, server_default="0"),
    )
    with op.batch_alter_table("wechat_outbox") as batch:
        batch.add_column(sa.Column("fallback", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wechat_outbox") as batch:
        batch.drop_column("fallback")
    op.drop_table("wechat_quota")
