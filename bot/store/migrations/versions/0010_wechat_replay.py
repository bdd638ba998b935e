"""WeChat replay protection: (timestamp, nonce, signature) seen within the window, shared by all processes.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_replay",
        sa.Column("replay_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wechat_replay_expires", "wechat_replay", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_wechat_replay_expires", table_name="wechat_replay")
    op.drop_table("wechat_replay")
