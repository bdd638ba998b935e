"""Channel namespaces for conversations: tracker and transcript ids become <channel>:<external id>.

Before, a conversation (and Rasa tracker) was keyed by the sender id alone, so a
REST caller naming a WeChat openid shared that patient's tracker. Now every id
is ``<channel>:<external id>`` (``bot.identity``). This migration renames:

- ``messages.conversation_id`` by each row's own ``channel``; the hash chain
  covers the conversation id, so each conversation is re-sequenced and re-sealed,
  after its old chain has been verified (a broken chain stops the migration:
  run ``medbot transcript verify`` and keep the evidence before resealing,
  or set ``MEDBOT_MIGRATION_RESEAL_BROKEN=1`` to reseal anyway);
- ``transcript_checkpoints`` with the channel of the conversation's messages;
- ``handoffs`` and ``triage_records`` by their ``channel``, ``consent_prompts``
  by their patient's channel;
- Rasa's ``events`` (tracker store, when present) by the one channel its
  transcript was logged on. A tracker whose id was used on several channels (the
  impersonation this fixes) or never logged goes to ``legacy:<id>``, a namespace
  no channel produces, so nobody continues it.

Revision ID: 0009
Revises: 0008
"""
import hashlib
import json
from collections import defaultdict
from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
TMP = "~0009~"
LEGACY = "legacy"

messages = sa.table(
    "messages", sa.column("id"), sa.column("conversation_id"), sa.column("seq"),
    sa.column("patient_id"), sa.column("channel"), sa.column("role"), sa.column("text"),
    sa.column("payload"), sa.column("language"), sa.column("channel_message_id"),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("prev_hash"),
    sa.column("hash"))
checkpoints = sa.table("transcript_checkpoints", sa.column("conversation_id"),
                       sa.column("purged_through_seq"), sa.column("last_hash"),
                       sa.column("purged_at"))
events = sa.table("events", sa.column("id"), sa.column("sender_id"))


# -- the chain as sealed at this revision (bot/store/chain.py), frozen here ----------------
def _utc_text(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _seal(prev_hash, row, conversation_id, seq):
    fields = [conversation_id, seq, row.patient_id, row.channel, row.role, row.text,
              row.payload, row.language, row.channel_message_id, _utc_text(row.created_at)]
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def _chain_ok(conversation_id, rows, checkpoint):
    seq, prev = (1, GENESIS) if checkpoint is None else (checkpoint[0] + 1, checkpoint[1])
    for row in rows:
        if row.seq != seq or row.prev_hash != prev or \
                row.hash != _seal(row.prev_hash, row, conversation_id, row.seq):
            return False
        seq, prev = row.seq + 1, row.hash
    return True


# -- renaming ---------------------------------------------------------------------------
def _rekey_messages(bind, new_id):
    """Give every message its new conversation id and reseal each new conversation.

    ``new_id(old_id, channel)`` names the new conversation. Checkpoints move with
    their conversation (to each new conversation made from it).
    """
    rows = bind.execute(sa.select(messages).order_by(
        messages.c.conversation_id, messages.c.seq, messages.c.id)).all()
    marks = {r.conversation_id: (r.purged_through_seq, r.last_hash, r.purged_at)
             for r in bind.execute(sa.select(checkpoints))}
    by_old = defaultdict(list)
    for row in rows:
        by_old[row.conversation_id].append(row)
    broken = [cid for cid, batch in by_old.items()
              if not _chain_ok(cid, batch, marks.get(cid))]
    if broken and not op.get_context().config.attributes.get("reseal_broken"):
        raise RuntimeError(
            f"migration 0009: the transcript chain of {len(broken)} conversation(s) is broken "
            "(run `medbot transcript verify` and keep the evidence); set "
            "MEDBOT_MIGRATION_RESEAL_BROKEN=1 to reseal them anyway.")
    # 1. out of the way: ids unique per row, so no (conversation_id, seq) clash in between
    for row in rows:
        bind.execute(messages.update().where(messages.c.id == row.id)
                     .values(conversation_id=f"{TMP}{row.id}"))
    # 2. new conversations, in the order the messages were written
    new_marks = {}
    by_new = defaultdict(list)
    for old, batch in by_old.items():
        for row in batch:
            by_new[new_id(old, row.channel)].append((old, row))
    for new, items in by_new.items():
        items.sort(key=lambda item: item[1].id)
        old_mark = marks.get(items[0][0])
        seq, prev = (0, GENESIS) if old_mark is None else (old_mark[0], old_mark[1])
        if old_mark is not None:
            new_marks[new] = old_mark
        for _, row in items:
            seq += 1
            sealed = _seal(prev, row, new, seq)
            bind.execute(messages.update().where(messages.c.id == row.id).values(
                conversation_id=new, seq=seq, prev_hash=prev, hash=sealed))
            prev = sealed
    # 3. checkpoints of conversations whose messages are all purged keep their own key
    for old, mark in marks.items():
        if old not in by_old:
            new_marks.setdefault(new_id(old, None), mark)
    bind.execute(checkpoints.delete())
    for new, (through, last_hash, purged_at) in new_marks.items():
        bind.execute(checkpoints.insert().values(conversation_id=new, purged_through_seq=through,
                                                 last_hash=last_hash, purged_at=purged_at))
    return {old: {new_id(old, r.channel) for r in batch} for old, batch in by_old.items()}


def _rekey_events(bind, rename):
    if not sa.inspect(bind).has_table("events"):
        return
    senders = [r[0] for r in bind.execute(sa.select(events.c.sender_id).distinct())]
    for sender in senders:
        bind.execute(events.update().where(events.c.sender_id == sender)
                     .values(sender_id=TMP + sender))
    for sender in senders:
        bind.execute(events.update().where(events.c.sender_id == TMP + sender)
                     .values(sender_id=rename(sender)))


def upgrade() -> None:
    bind = op.get_bind()

    def namespaced(old, channel):
        return f"{channel or LEGACY}:{old}"

    channels_of = _rekey_messages(bind, namespaced)

    def tracker(sender):
        new_ids = channels_of.get(sender, set())
        return next(iter(new_ids)) if len(new_ids) == 1 else f"{LEGACY}:{sender}"

    _rekey_events(bind, tracker)
    op.execute("UPDATE handoffs SET conversation_id = channel || ':' || conversation_id")
    op.execute("UPDATE triage_records SET conversation_id = channel || ':' || conversation_id "
               "WHERE conversation_id IS NOT NULL")
    op.execute("UPDATE consent_prompts SET conversation_id = (SELECT p.channel FROM patients p "
               "WHERE p.id = consent_prompts.patient_id) || ':' || conversation_id")


def _strip(value):
    return value.split(":", 1)[1] if ":" in value else value


def downgrade() -> None:
    bind = op.get_bind()
    _rekey_messages(bind, lambda old, _channel: _strip(old))
    _rekey_events(bind, _strip)
    for name in ("handoffs", "triage_records", "consent_prompts"):
        target = sa.table(name, sa.column("id"), sa.column("conversation_id"))
        for row in bind.execute(sa.select(target).where(target.c.conversation_id.like("%:%"))):
            bind.execute(target.update().where(target.c.id == row.id)
                         .values(conversation_id=_strip(row.conversation_id)))
