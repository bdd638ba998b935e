"""Hash-chain the message transcript (seq, prev_hash, hash per conversation).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from bot.store.chain import GENESIS, seal

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    _seal_existing(op.get_bind())
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_messages_conversation_seq", ["conversation_id", "seq"])


def _seal_existing(conn) -> None:
    messages = sa.table("messages", sa.column("created_at", sa.DateTime(timezone=True)), *(
        sa.column(c) for c in ("id", "conversation_id", "patient_id", "channel", "role", "text",
                               "payload", "language", "channel_message_id", "seq", "prev_hash",
                               "hash")))
    rows = conn.execute(sa.select(messages).order_by(messages.c.conversation_id, messages.c.id))
    current, seq, prev = None, 0, GENESIS
    for row in rows.mappings().all():
        if row["conversation_id"] != current:
            current, seq, prev = row["conversation_id"], 0, GENESIS
        seq += 1
        sealed = _Row(**{**row, "seq": seq})
        digest = seal(prev, sealed)
        conn.execute(messages.update().where(messages.c.id == row["id"])
                     .values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest


class _Row:
    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_conversation_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
