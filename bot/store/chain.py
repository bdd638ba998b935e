"""Hash-chained transcripts and audit log: every row seals the one before it.

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
every message of the conversation has been purged.

``audit_events`` form one chain of their own (``seq`` over the whole table), sealed
on insert by ``seal_audit_event`` (a ``before_insert`` event of ``AuditEvent``).

A writer with database access can still cut a chain's tail, delete a whole
conversation, or rewrite a chain from an edited row on: the chains only detect
that against the signed anchors kept outside the database (``bot.store.anchors``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, object_session

from bot.clock import as_utc, utcnow
from bot.masking import mask_id
from bot.store.audit_models import AuditEvent
from bot.store.db import Database
from bot.store.models import Message, TranscriptCheckpoint

GENESIS = "0" * 64
Watch = Callable[[str], "int | None"]  # conversation id -> a seq to report the hash of
# pg_advisory_xact_lock(int, int): the two-key space never meets a conversation's
# one-key lock (``lock_conversation``).
AUDIT_LOCK = (0x6D656462, 0x61756474)  # "medb", "audt"


def _utc_text(moment: datetime) -> str:
    return as_utc(moment).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _dump(fields: list) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def canonical(row: Any) -> bytes:
    """The sealed content of a message row (or any object with the same fields)."""
    return _dump([row.conversation_id, row.seq, row.patient_id, row.channel, row.role, row.text,
                  row.payload, row.language, row.channel_message_id, _utc_text(row.created_at)])


def seal(prev_hash: str, row: Any) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(row)).hexdigest()


def canonical_audit(row: Any) -> bytes:
    """The sealed content of an audit event. Not ``staff_id`` nor ``handoff_id``: they are
    ``ON DELETE SET NULL`` and change when an account or a handoff is deleted (``actor``
    and ``detail`` say who and what)."""
    return _dump([row.seq, row.actor, row.action, row.patient_id, row.detail, row.remote_addr,
                  _utc_text(row.created_at)])


def seal_audit(prev_hash: str, row: Any) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_audit(row)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """A problem of one conversation. Kinds found in the database alone: ``edited``,
    ``missing``, ``relinked``; against the anchors (``bot.store.anchors``):
    ``recomputed``, ``truncated``, ``deleted``, ``checkpoint_not_anchored``."""

    conversation_id: str  # empty: nothing of it is left, ``tag`` names it
    message_id: int | None
    seq: int | None
    kind: str
    tag: str | None = None  # its name in the anchor file

    def __str__(self) -> str:
        who = mask_id(self.conversation_id) if self.conversation_id \
            else f"with anchor tag {self.tag}"
        return f"conversation {who}: message id={self.message_id} seq={self.seq}: {self.kind}"


@dataclass(frozen=True)
class AuditProblem:
    """A problem of the audit chain (same kinds as ``ChainProblem``)."""

    event_id: int | None
    seq: int | None
    kind: str

    def __str__(self) -> str:
        return f"audit log: event id={self.event_id} seq={self.seq}: {self.kind}"


def _walk(rows: Iterable[Any], seq: int, prev: str,
          sealer: Callable[[str, Any], str]) -> Iterator[tuple[Any, str]]:
    """``(row, kind)`` of each broken link, rows given in sequence order."""
    for row in rows:
        if row.seq != seq:
            yield row, "missing"
        elif row.prev_hash != prev:
            yield row, "relinked"
        if row.hash != sealer(row.prev_hash or "", row):
            yield row, "edited"
        seq, prev = (row.seq or 0) + 1, row.hash


def check_conversation(conversation_id: str, rows: Iterable[Any],
                       checkpoint: Any | None = None) -> Iterator[ChainProblem]:
    """Problems in one conversation's rows, given in sequence order.

    Args:
        checkpoint: the conversation's ``TranscriptCheckpoint`` (or any object with
            ``purged_through_seq`` and ``last_hash``) when its oldest messages were purged.
    """
    seq, prev = 1, GENESIS
    if checkpoint is not None:
        seq, prev = checkpoint.purged_through_seq + 1, checkpoint.last_hash
    for row, kind in _walk(rows, seq, prev, seal):
        yield ChainProblem(conversation_id, row.id, row.seq, kind)


def check_audit(rows: Iterable[Any]) -> Iterator[AuditProblem]:
    """Problems in the audit events, given in ``seq`` order."""
    for row, kind in _walk(rows, 1, GENESIS, seal_audit):
        yield AuditProblem(row.id, row.seq, kind)


@dataclass(frozen=True)
class Tail:
    """What ``verify`` saw of one conversation: its last ``seq``, and the hash of the row
    at the ``seq`` it was asked to watch (None: no such row)."""

    last_seq: int
    watched_hash: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    conversations: int
    messages: int
    problems: tuple[ChainProblem, ...]
    tails: Mapping[str, Tail] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read-only transaction that sees one state of the database throughout (PostgreSQL:
    REPEATABLE READ; a SQLite read transaction already does), so a purge committing
    meanwhile cannot look like a deletion."""
    with db.read() as session:
        if db.dialect == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def verify(db: Database, conversation_id: str | None = None,
           watch: Watch | None = None) -> VerifyReport:
    """Check every conversation (or one): edits and deletions are reported.

    Args:
        watch: gives the ``seq`` of a conversation whose row hash goes into ``tails``.
    """
    with snapshot(db) as session:
        return verify_in(session, conversation_id, watch)


def verify_in(session: Session, conversation_id: str | None = None,
              watch: Watch | None = None) -> VerifyReport:
    """``verify`` in the caller's transaction."""
    stmt = select(Message).order_by(Message.conversation_id, Message.seq, Message.id)
    marks = select(TranscriptCheckpoint)
    if conversation_id is not None:
        stmt = stmt.where(Message.conversation_id == conversation_id)
        marks = marks.where(TranscriptCheckpoint.conversation_id == conversation_id)
    problems: list[ChainProblem] = []
    tails: dict[str, Tail] = {}
    messages = 0
    checkpoints = {c.conversation_id: c for c in session.execute(marks).scalars()}
    current = ""
    batch: list[Message] = []

    def close() -> None:
        if batch:
            problems.extend(check_conversation(current, batch, checkpoints.get(current)))
            seq = watch(current) if watch is not None else None
            watched = next((r.hash for r in batch if r.seq == seq), None) if seq else None
            tails[current] = Tail(batch[-1].seq, watched)

    for row in session.execute(stmt).scalars().yield_per(1000):
        messages += 1
        if row.conversation_id != current or not batch:
            close()
            current, batch = row.conversation_id, []
        batch.append(row)
    close()
    return VerifyReport(len(tails), messages, tuple(problems), tails)


@dataclass(frozen=True)
class AuditReport:
    events: int
    problems: tuple[AuditProblem, ...]
    last_seq: int = 0
    watched_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(db: Database, watch: int | None = None) -> AuditReport:
    """Check the audit chain; ``watched_hash`` is the hash of the event at ``seq == watch``."""
    with snapshot(db) as session:
        return verify_audit_in(session, watch)


def verify_audit_in(session: Session, watch: int | None = None) -> AuditReport:
    """``verify_audit`` in the caller's transaction."""
    seen: dict[str, Any] = {"events": 0, "last_seq": 0, "watched": None}

    def counted(rows: Iterable[AuditEvent]) -> Iterator[AuditEvent]:
        for row in rows:
            seen["events"] += 1
            seen["last_seq"] = row.seq
            if row.seq == watch:
                seen["watched"] = row.hash
            yield row

    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id))
    problems = tuple(check_audit(counted(rows.scalars().yield_per(1000))))
    return AuditReport(seen["events"], problems, seen["last_seq"], seen["watched"])


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


def seal_audit_event(connection: Connection, event: AuditEvent) -> None:
    """Give a new audit event its ``seq``, ``prev_hash`` and ``hash`` (before its INSERT).

    Appends are serialised by a transaction-scoped advisory lock on PostgreSQL (SQLite
    has one writer); events of the same flush not inserted yet continue each other.
    ``created_at`` is stored in UTC, so the sealed text is the text read back.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                           {"a": AUDIT_LOCK[0], "b": AUDIT_LOCK[1]})
    event.created_at = as_utc(event.created_at or utcnow()).astimezone(timezone.utc)
    last = connection.execute(select(AuditEvent.seq, AuditEvent.hash)
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS)
    session = object_session(event)
    for other in session.new if session is not None else ():
        if isinstance(other, AuditEvent) and other is not event and other.hash \
                and other.seq > seq:
            seq, prev = other.seq, other.hash
    event.seq, event.prev_hash = seq + 1, prev
    event.hash = seal_audit(prev, event)
