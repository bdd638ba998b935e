"""The audit log is hash-chained like the transcripts (``bot.store.chain``).

``audit_events.seq`` (unique over the table), ``prev_hash`` and ``hash``; the
existing events are sealed in ``id`` order, new ones on insert.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from bot.store.chain import GENESIS, seal_audit

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (("seq", sa.Integer()), ("prev_hash", sa.String(64)), ("hash", sa.String(64)))


def upgrade() -> None:
    # plain ADD COLUMN first; the rebuild below is of audit_events alone (no table
    # references it)
    for name, type_ in COLUMNS:
        op.add_column("audit_events", sa.Column(name, type_, nullable=True))
    _seal_existing(op.get_bind())
    with op.batch_alter_table("audit_events") as batch:
        for name, type_ in COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_unique_constraint("uq_audit_events_seq", ["seq"])


def _seal_existing(conn) -> None:
    events = sa.table("audit_events", sa.column("created_at", sa.DateTime(timezone=True)), *(
        sa.column(c) for c in ("id", "actor", "action", "patient_id", "detail", "remote_addr",
                               "seq", "prev_hash", "hash")))
    prev = GENESIS
    rows = conn.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for seq, row in enumerate(rows, start=1):
        digest = seal_audit(prev, _Row(**{**row, "seq": seq}))
        conn.execute(events.update().where(events.c.id == row["id"])
                     .values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest


class _Row:
    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("uq_audit_events_seq", type_="unique")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
