"""Console login throttling per client address and account state (disabled, password changed).

``staff_accounts.auth_version`` / ``staff_sessions.auth_version``: a password
reset or a disable bumps the account's version and every older session is dead.
``console_login_throttle``: failed logins per address and per (account, address),
shared by all processes (bot/console/throttle.py).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # plain ADD COLUMN (no batch table rebuild: staff_accounts is the parent of
    # sessions, handoffs and audit events)
    for table in ("staff_accounts", "staff_sessions"):
        op.add_column(table, sa.Column("auth_version", sa.Integer(), nullable=False,
                                       server_default="0"))
    op.create_table(
        "console_login_throttle",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _ts("window_start"), _ts("locked_until", nullable=True), _ts("updated_at"),
    )
    op.create_index("ix_console_login_throttle_updated", "console_login_throttle",
                    ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_console_login_throttle_updated", table_name="console_login_throttle")
    op.drop_table("console_login_throttle")
    # SQLite >= 3.35 drops a column in place (no rebuild of the parent table)
    for table in ("staff_sessions", "staff_accounts"):
        op.drop_column(table, "auth_version")
