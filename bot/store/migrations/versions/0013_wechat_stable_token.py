"""WeChat stable access token: the force-refresh ledger on the shared token row.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot drop columns in place (downgrade)
    with op.batch_alter_table("wechat_tokens") as batch:
        batch.add_column(sa.Column("force_day", sa.String(10), nullable=True))
        batch.add_column(sa.Column("force_count", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("force_last_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wechat_tokens") as batch:
        batch.drop_column("force_last_at")
        batch.drop_column("force_count")
        batch.drop_column("force_day")
