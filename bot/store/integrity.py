"""``medbot transcript verify``: the hash chains, the anchor file, the chains against it.

For each conversation the anchored head with the highest ``seq`` (of the
``conversations`` entries and the purge records of ``bot.store.anchors``) is
checked: the row at that ``seq`` must exist with that hash (else ``recomputed``),
or a checkpoint must cover it; rows that stop before it are ``truncated``, no rows
and no checkpoint ``deleted``. Every checkpoint must equal a signed purge record
(else ``checkpoint_not_anchored``). The audit chain's anchored head likewise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from bot.store.anchors import AnchorLog, AnchorState, Head
from bot.store.chain import (
    AuditProblem,
    AuditReport,
    ChainProblem,
    Tail,
    VerifyReport,
    snapshot,
    verify_audit_in,
    verify_in,
)
from bot.store.db import Database
from bot.store.models import TranscriptCheckpoint


@dataclass(frozen=True)
class IntegrityReport:
    """``medbot transcript verify``: the chains, the anchor file, the chains against it.

    Attributes:
        anchors: None when there is no anchor file (only the database was checked).
        anchored: problems found against the anchors.
    """

    transcripts: VerifyReport
    audit: AuditReport
    anchors: AnchorState | None
    anchored: tuple[ChainProblem | AuditProblem, ...] = ()

    @property
    def problems(self) -> list[object]:
        return [*(self.anchors.problems if self.anchors else ()), *self.transcripts.problems,
                *self.audit.problems, *self.anchored]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_all(db: Database, anchors: AnchorLog | None,
               conversation_id: str | None = None) -> IntegrityReport:
    """Check the chains in the database and, with an anchor file, against its heads.

    The file is read before the database (every anchored head is then older than
    what is read) and its purge records once more after it (a purge signs its
    checkpoint before committing it, so every checkpoint read has its record).
    """
    state = anchors.read() if anchors is not None else None
    if state is None or anchors is None:
        with snapshot(db) as session:
            return IntegrityReport(verify_in(session, conversation_id),
                                   verify_audit_in(session), None)
    heads = {tag: state.head_of(tag) for tag in state.anchored()}

    def watch(name: str) -> int | None:
        head = heads.get(anchors.tag(name))  # type: ignore[union-attr]
        return head[0] if head is not None else None

    with snapshot(db) as session:
        transcripts = verify_in(session, conversation_id, watch)
        audit = verify_audit_in(session, state.audit[0] if state.audit else None)
        marks = select(TranscriptCheckpoint)
        if conversation_id is not None:
            marks = marks.where(TranscriptCheckpoint.conversation_id == conversation_id)
        checkpoints = {c.conversation_id: (c.purged_through_seq, c.last_hash)
                       for c in session.execute(marks).scalars()}
    after = anchors.read()
    purged = after.purged if after is not None else state.purged
    names = {anchors.tag(name): name for name in {*transcripts.tails, *checkpoints}}
    only = anchors.tag(conversation_id) if conversation_id is not None else None
    problems: list[ChainProblem | AuditProblem] = []
    for tag in sorted(state.anchored()):
        if only is None or tag == only:
            name = names.get(tag) or conversation_id
            problems.extend(_against_head(
                name or "", tag, heads[tag], transcripts.tails.get(name or ""),
                checkpoints.get(name or "")))
    for name, mark in sorted(checkpoints.items()):
        if mark not in purged.get(anchors.tag(name), set()):
            problems.append(ChainProblem(name, None, mark[0], "checkpoint_not_anchored"))
    if state.audit is not None:
        problems.extend(_audit_against_head(state.audit, audit))
    return IntegrityReport(transcripts, audit, state, tuple(problems))


def _against_head(name: str, tag: str, head: Head | None, tail: Tail | None,
                  mark: Head | None) -> Iterator[ChainProblem]:
    """``name`` is empty when the database has nothing left of the conversation (``tag``)."""
    if head is None:
        return
    seq, digest = head

    def problem(kind: str) -> ChainProblem:
        return ChainProblem(name, None, seq, kind, tag=tag)

    if tail is not None and tail.watched_hash is not None:
        if tail.watched_hash != digest:
            yield problem("recomputed")
    elif mark is not None and mark[0] >= seq:  # purged: the checkpoint must be signed
        if mark[0] == seq and mark[1] != digest:
            yield problem("recomputed")
    elif tail is not None:
        yield problem("truncated" if tail.last_seq < seq else "missing")
    else:
        yield problem("truncated" if mark is not None else "deleted")


def _audit_against_head(head: Head, audit: AuditReport) -> Iterator[AuditProblem]:
    seq, digest = head
    if audit.watched_hash is not None:
        if audit.watched_hash != digest:
            yield AuditProblem(None, seq, "recomputed")
    elif audit.events == 0:
        yield AuditProblem(None, seq, "deleted")
    else:
        yield AuditProblem(None, seq, "truncated" if audit.last_seq < seq else "missing")
