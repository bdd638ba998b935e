"""WeChat channel state (issue 5).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wechat_inbound",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("openid", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivery", sa.String(20), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_wechat_inbound_dedupe_key"),
        sa.CheckConstraint("status IN ('processing', 'done', 'failed')",
                           name="ck_wechat_inbound_status"),
        sa.CheckConstraint("delivery IN ('pending', 'passive', 'customer_service', 'none')",
                           name="ck_wechat_inbound_delivery"),
    )
    op.create_index("ix_wechat_inbound_created", "wechat_inbound", ["created_at"])
    op.create_table(
        "wechat_subscriptions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("openid", sa.String(128), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("openid", name="uq_wechat_subscriptions_openid"),
    )
    op.create_table(
        "wechat_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("openid", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'suppressed')",
                           name="ck_wechat_outbox_status"),
    )
    op.create_index("ix_wechat_outbox_status", "wechat_outbox", ["status", "id"])
    op.create_table(
        "wechat_tokens",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wechat_tokens")
    op.drop_index("ix_wechat_outbox_status", table_name="wechat_outbox")
    op.drop_table("wechat_outbox")
    op.drop_table("wechat_subscriptions")
    op.drop_index("ix_wechat_inbound_created", table_name="wechat_inbound")
    op.drop_table("wechat_inbound")
