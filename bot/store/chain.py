"""Hash-chained transcripts: every message seals the one before it.

Each message of a conversation has a sequence number and
``hash = sha256(prev_hash + canonical(message))``, with ``prev_hash`` of the
first message being ``GENESIS``. Editing a row changes its hash; deleting one
leaves a gap in the sequence and a broken link. ``verify`` walks every
conversation and reports both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from bot.store.db import Database
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


def check_conversation(conversation_id: str, rows: Iterable[Any]) -> Iterator[ChainProblem]:
    """Problems in one conversation's rows, given in sequence order."""
    expected_seq, prev = 1, GENESIS
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
    if conversation_id is not None:
        stmt = stmt.where(Message.conversation_id == conversation_id)
    problems: list[ChainProblem] = []
    conversations = messages = 0
    with db.begin() as session:
        current: str | None = None
        batch: list[Message] = []
        for row in session.execute(stmt).scalars().yield_per(1000):
            messages += 1
            if row.conversation_id != current:
                if batch:
                    problems.extend(check_conversation(current or "", batch))
                current, batch = row.conversation_id, []
                conversations += 1
            batch.append(row)
        if batch:
            problems.extend(check_conversation(current or "", batch))
    return VerifyReport(conversations, messages, tuple(problems))
