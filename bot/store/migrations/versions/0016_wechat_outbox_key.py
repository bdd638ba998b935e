"""The scheduler job's idempotency key on each WeChat outbox row.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wechat_outbox") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(160), nullable=True))
    op.create_index("ix_wechat_outbox_key", "wechat_outbox", ["idempotency_key"])


def downgrade() -> None:
    op.drop_index("ix_wechat_outbox_key", table_name="wechat_outbox")
    with op.batch_alter_table("wechat_outbox") as batch:
        batch.drop_column("idempotency_key")
