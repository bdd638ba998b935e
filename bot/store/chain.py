"""Hash-chained transcripts: every message seals the one before it.

Each message of a conversation has a sequence number and
``hash = sha256(prev_hash + canonical(message))``, with ``prev_hash`` of the
first message being ``GENESIS``. Editing a row changes its hash; deleting one
leaves a gap in the sequence and a broken link. ``verify`` walks every
conversation and reports both.

The retention purge (``bot.retention``) deletes a conversation's oldest messages
as a prefix and records a ``TranscriptCheckpoint`` (the last purged ``seq`` and
its ``hash``): verification then starts at ``purged_through_seq + 1`` with that
hash as the previous one, so a deletion or edit after the checkpoint is still
found. ``head`` is the link a new message continues from, the checkpoint when
every message of the conversation has been purged. Neither the checkpoint nor the
last message is protected against a writer who rewrites the chain from there:
like deleting the newest messages, that needs a signature or an external anchor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.store.db import Database
from bot.store.handoff_models import TranscriptCheckpoint
from bot.store.models import Message

GENESIS = "0" * 64


def _utc_text(moment: datetime) -> str:
    # SQLite hands back naive datetimes for timezone-aware columns: they are UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def canonical(row: Any) -> bytes:
    """The sealed content of a message row (or any object with the same fields)."""
    fields = [row.conversation_id, row.seq, row.patient_id, row.channel, row.role, row.text,
              row.payload, row.language, row.channel_message_id, _utc_text(row.created_at)]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal(prev_hash: str, row: Any) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(row)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    conversation_id: str
    message_id: int | None
    seq: int | None
    kind: str  # "edited" | "missing" | "relinked"

    def __str__(self) -> str:
        return (f"conversation {self.conversation_id}: message id={self.message_id} "
                f"seq={self.seq}: {self.kind}")


def check_conversation(conversation_id: str, rows: Iterable[Any],
                       checkpoint: Any | None = None) -> Iterator[ChainProblem]:
    """Problems in one conversation's rows, given in sequence order.

    Args:
        checkpoint: the conversation's ``TranscriptCheckpoint`` (or any object with
            ``purged_through_seq`` and ``last_hash``) when its oldest messages were purged.
    """
    expected_seq, prev = 1, GENESIS
    if checkpoint is not None:
        expected_seq, prev = checkpoint.purged_through_seq + 1, checkpoint.last_hash
    for row in rows:
        if row.seq != expected_seq:
            yield ChainProblem(conversation_id, row.id, row.seq, "missing")
        elif row.prev_hash != prev:
            yield ChainProblem(conversation_id, row.id, row.seq, "relinked")
        if row.hash != seal(row.prev_hash or "", row):
            yield ChainProblem(conversation_id, row.id, row.seq, "edited")
        expected_seq, prev = (row.seq or 0) + 1, row.hash


@dataclass(frozen=True)
class VerifyReport:
    conversations: int
    messages: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(db: Database, conversation_id: str | None = None) -> VerifyReport:
    """Check every conversation (or one): edits and deletions are reported."""
    stmt = select(Message).order_by(Message.conversation_id, Message.seq, Message.id)
    marks = select(TranscriptCheckpoint)
    if conversation_id is not None:
        stmt = stmt.where(Message.conversation_id == conversation_id)
        marks = marks.where(TranscriptCheckpoint.conversation_id == conversation_id)
    problems: list[ChainProblem] = []
    conversations = messages = 0
    with db.begin() as session:
        checkpoints = {c.conversation_id: c for c in session.execute(marks).scalars()}
        current: str | None = None
        batch: list[Message] = []
        for row in session.execute(stmt).scalars().yield_per(1000):
            messages += 1
            if row.conversation_id != current:
                if batch:
                    problems.extend(check_conversation(current or "", batch,
                                                       checkpoints.get(current or "")))
                current, batch = row.conversation_id, []
                conversations += 1
            batch.append(row)
        if batch:
            problems.extend(check_conversation(current or "", batch,
                                               checkpoints.get(current or "")))
    return VerifyReport(conversations, messages, tuple(problems))


def lock_conversation(session: Session, conversation_id: str) -> None:
    """Serialise writers of one conversation's chain (appends, the retention purge).

    PostgreSQL: a transaction-scoped advisory lock; SQLite already has one writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:c, 0))"),
                        {"c": conversation_id})


def head(session: Session, conversation_id: str) -> tuple[int, str]:
    """The ``(seq, hash)`` a new message of the conversation links to.

    The last message, else the retention checkpoint (every message was purged),
    else ``(0, GENESIS)``. Call it after ``lock_conversation``.
    """
    last = session.execute(
        select(Message.seq, Message.hash).where(Message.conversation_id == conversation_id)
        .order_by(Message.seq.desc()).limit(1)).first()
    if last is not None:
        return last.seq, last.hash
    mark = session.get(TranscriptCheckpoint, conversation_id)
    if mark is not None:
        return mark.purged_through_seq, mark.last_hash
    return 0, GENESIS
