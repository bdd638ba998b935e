"""Signed anchors of the hash chains, in an append-only file outside the database.

The chains (``bot.store.chain``) show an edit or a gap, but someone with database
access can cut a conversation's tail, delete a conversation with its checkpoint,
or recompute a chain from an edited row on. So the heads of the chains are
written, signed with a key kept outside the database (``bot.store.keys``, name
``anchor``), to a JSON-lines file (``Settings.anchor_path``). One line::

    {"v": 1, "n": 7, "at": "2026-03-02T02:05:00+00:00", "prev": "<mac of line 6>",
     "through_message_id": 4711, "conversations": {"<tag>": [12, "<hash>"]},
     "audit": [88, "<hash>"], "purged": {"<tag>": [40, "<hash>"]}, "mac": "<hmac>"}

``mac`` is HMAC-SHA256 of the canonical JSON of the line without ``mac``; ``prev``
and ``n`` chain the lines, so an edited or removed line is found. A conversation
is named by its ``tag``, a keyed hash of its id: the file, which is never
rewritten, holds no openid that would outlive the purge and erasure. ``anchor`` lists
only the conversations whose head changed (the first line lists all of them and
adopts the checkpoints already there); the retention purge writes a ``purged``
record for each checkpoint it sets, before its transaction commits. Several
processes append under an exclusive ``flock``; every write is fsynced.

``bot.store.integrity.verify_all`` checks the database against these lines.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.masking import mask_id
from bot.settings import Settings
from bot.store.audit_models import AuditEvent
from bot.store.chain import snapshot
from bot.store.db import Database
from bot.store.keys import load_key
from bot.store.models import Message, TranscriptCheckpoint

log = logging.getLogger(__name__)

VERSION = 1
CHUNK = 1000  # conversations (or purge records) per line
Head = tuple[int, str]


@dataclass(frozen=True)
class AnchorProblem:
    """A line of the anchor file that was removed, edited or reordered."""

    line: int  # line number in the file
    kind: str  # "unreadable" | "bad_mac" | "misnumbered" | "broken_link"
    detail: str = ""

    def __str__(self) -> str:
        return f"anchor file line {self.line}: {self.kind}" + (
            f" ({self.detail})" if self.detail else "")


def _later(old: Head | None, new: Head) -> Head:
    """The head with the higher ``seq``; the first one seen for the same ``seq``."""
    return new if old is None or new[0] > old[0] else old


@dataclass
class AnchorState:
    """What the lines of the file say; a line whose mac fails is reported, not believed."""

    lines: int = 0
    last_n: int = 0
    last_mac: str | None = ""
    last_at: str | None = None
    signed: int = 0
    heads: dict[str, Head] = field(default_factory=dict)  # tag: highest anchored head
    audit: Head | None = None
    purged: dict[str, set[Head]] = field(default_factory=dict)  # tag: signed checkpoints
    runs: list[int] = field(default_factory=list)  # through_message_id of the last runs
    problems: list[AnchorProblem] = field(default_factory=list)

    @property
    def wrong_key(self) -> bool:
        """Every line fails its mac: the key is not the one the file was signed with."""
        return self.lines > 0 and self.signed == 0

    @property
    def since(self) -> int:
        """Messages after this id are looked at again (two runs back: a transaction still
        open during the last run is not missed)."""
        return self.runs[-2] if len(self.runs) >= 2 else 0

    def head_of(self, tag: str) -> Head | None:
        """The highest ``seq`` known of a conversation: anchored, or a signed checkpoint."""
        head = self.heads.get(tag)
        for record in self.purged.get(tag, ()):
            if head is None or record[0] > head[0]:
                head = record
        return head

    def anchored(self) -> set[str]:
        """The tags of the conversations the file names."""
        return set(self.heads) | set(self.purged)

    def feed(self, key: bytes, raw: bytes) -> None:
        """Check one line (without its newline) and take in what it says."""
        self.lines += 1
        try:
            line = json.loads(raw)
            body = {k: v for k, v in line.items() if k != "mac"}
            mac, n, prev = line["mac"], line["n"], line["prev"]
            if not (isinstance(mac, str) and isinstance(n, int) and isinstance(prev, str)):
                raise TypeError("mac, n, prev")
        except (ValueError, KeyError, TypeError, AttributeError):
            self.problems.append(AnchorProblem(self.lines, "unreadable"))
            self.last_n, self.last_mac = self.last_n + 1, None  # its mac is unknown
            return
        authentic = hmac.compare_digest(mac.encode("utf-8"), _mac(key, body).encode("ascii"))
        if not authentic:
            self.problems.append(AnchorProblem(self.lines, "bad_mac",
                                               "edited, or signed with another key"))
        if n != self.last_n + 1:
            self.problems.append(AnchorProblem(
                self.lines, "misnumbered",
                f"n={n}, expected {self.last_n + 1}: lines removed or reordered"))
        if self.last_mac is not None and prev != self.last_mac:
            self.problems.append(AnchorProblem(self.lines, "broken_link",
                                               "prev is not the mac of the line before"))
        self.last_n, self.last_mac = n, mac
        if authentic:
            self.signed += 1
            self._take(body)

    def _take(self, body: Mapping[str, Any]) -> None:
        self.last_at = body.get("at")
        for tag, (seq, digest) in (body.get("conversations") or {}).items():
            self.heads[tag] = _later(self.heads.get(tag), (seq, digest))
        if body.get("audit"):
            self.audit = _later(self.audit, tuple(body["audit"]))  # type: ignore[arg-type]
        for tag, (seq, digest) in (body.get("purged") or {}).items():
            self.purged.setdefault(tag, set()).add((seq, digest))
        through = body.get("through_message_id")
        if through is not None and (not self.runs or self.runs[-1] != through):
            self.runs = [*self.runs[-1:], through]


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


class AnchorLog:
    """Appends signed lines to the anchor file and reads them back."""

    def __init__(self, path: Path, key: bytes, chunk: int = CHUNK) -> None:
        if len(key) < 32:
            raise ValueError("an anchor key has at least 32 bytes")
        self.path = path
        self._key = key
        self.chunk = chunk
        self._cache: tuple[int, int, AnchorState] | None = None  # inode, offset, state

    @classmethod
    def from_settings(cls, settings: Settings) -> AnchorLog:
        return cls(settings.anchor_path, load_key("anchor", settings.keys_dir, settings.anchor_key))

    def tag(self, conversation_id: str) -> str:
        """A conversation's name in the file (128 bits of a keyed hash of its id)."""
        return hmac.new(self._key, b"conversation:" + conversation_id.encode("utf-8"),
                        hashlib.sha256).hexdigest()[:32]

    # ------------------------------------------------------------------ writing
    def anchor(self, db: Database, now: datetime) -> list[dict]:
        """Sign the heads that changed since the last line; returns the lines written
        (none when nothing changed). The first line lists every conversation and adopts
        the checkpoints already in the database."""
        with self._locked() as fd:
            state = self._state(fd)
            first = not state.runs
            with snapshot(db) as session:
                through = session.execute(select(func.max(Message.id))).scalar() or 0
                heads = _heads(session, 0 if first else state.since)
                audit = session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                        .order_by(AuditEvent.seq.desc()).limit(1)).first()
                adopted = {} if not first else {
                    self.tag(c.conversation_id): [c.purged_through_seq, c.last_hash]
                    for c in session.execute(select(TranscriptCheckpoint)).scalars()}
            changed = {c: h for c, h in heads.items() if state.heads.get(self.tag(c)) != h}
            audit_head = [audit.seq, audit.hash] if audit is not None else None
            self._warn_regressions(state, changed, audit_head)
            if not first and not changed and _same(audit_head, state.audit):
                return []
            items = sorted((self.tag(c), list(h)) for c, h in changed.items())
            purges = sorted(adopted.items())
            count = max(1, -(-len(items) // self.chunk), -(-len(purges) // self.chunk))
            bodies = [{"through_message_id": through, "audit": audit_head,
                       "conversations": dict(items[i * self.chunk:(i + 1) * self.chunk]),
                       "purged": dict(purges[i * self.chunk:(i + 1) * self.chunk])}
                      for i in range(count)]
            lines = self._append(fd, state, bodies, now)
        log.info("anchor.written lines=%d conversations=%d audit_seq=%s", len(lines),
                 len(changed), audit_head[0] if audit_head else "-")
        return lines

    def record_purges(self, purged: Mapping[str, Head], now: datetime) -> list[dict]:
        """Sign the checkpoints a purge is about to commit (``{conversation: (seq, hash)}``)."""
        if not purged:
            return []
        items = sorted((self.tag(c), [seq, digest]) for c, (seq, digest) in purged.items())
        bodies = [{"through_message_id": None, "audit": None, "conversations": {},
                   "purged": dict(items[i:i + self.chunk])}
                  for i in range(0, len(items), self.chunk)]
        with self._locked() as fd:
            return self._append(fd, self._state(fd), bodies, now)

    def _warn_regressions(self, state: AnchorState, changed: Mapping[str, Head],
                          audit: list | None) -> None:
        for conversation_id, (seq, _) in changed.items():
            old = state.heads.get(self.tag(conversation_id))
            if old is not None and seq <= old[0]:
                log.error("anchor.regressed conversation_id=%s anchored_seq=%d now_seq=%d: "
                          "run medbot transcript verify", mask_id(conversation_id), old[0], seq)
        if audit is not None and state.audit is not None and audit[0] <= state.audit[0] \
                and not _same(audit, state.audit):
            log.error("anchor.regressed audit anchored_seq=%d now_seq=%d: run medbot "
                      "transcript verify", state.audit[0], audit[0])

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close
            yield fd
        except BaseException:
            self._cache = None  # the file may hold a part of a line: read it again
            raise
        finally:
            os.close(fd)

    def _state(self, fd: int) -> AnchorState:
        """The state after every complete line; drops a line a crash left incomplete."""
        stat = os.fstat(fd)
        inode, offset, state = (self._cache if self._cache and self._cache[0] == stat.st_ino
                                and self._cache[1] <= stat.st_size
                                else (stat.st_ino, 0, AnchorState()))
        data = os.pread(fd, stat.st_size - offset, offset)
        complete = data.rfind(b"\n") + 1
        if complete < len(data):  # a crash in the middle of a write: never committed
            log.warning("anchor.partial_line_dropped path=%s bytes=%d", self.path,
                        len(data) - complete)
            os.ftruncate(fd, offset + complete)
        for raw in data[:complete].split(b"\n")[:-1]:
            state.feed(self._key, raw)
        self._cache = (inode, offset + complete, state)
        return state

    def _append(self, fd: int, state: AnchorState, bodies: list[dict],
                now: datetime) -> list[dict]:
        at = now.astimezone(timezone.utc).isoformat(timespec="seconds")
        lines, out = [], bytearray()
        for body in bodies:
            body = {"v": VERSION, "n": state.last_n + 1, "at": at, "prev": state.last_mac or "",
                    **body}
            line = {**body, "mac": _mac(self._key, body)}
            raw = _canonical(line)
            state.feed(self._key, raw)
            out += raw + b"\n"
            lines.append(line)
        empty = os.fstat(fd).st_size == 0
        view = memoryview(bytes(out))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        if empty:  # a new file: its directory entry must survive a crash too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        inode, offset, _ = self._cache or (os.fstat(fd).st_ino, 0, state)
        self._cache = (inode, offset + len(out), state)
        return lines

    # ------------------------------------------------------------------ reading
    def read(self) -> AnchorState | None:
        """Every line, checked (None: there is no anchor file)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # no half-written line of a live writer
            data = os.pread(fd, os.fstat(fd).st_size, 0)
        finally:
            os.close(fd)
        state = AnchorState()
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()  # the newline that ends the last line
        for raw in lines:
            state.feed(self._key, raw)
        return state


def _same(head: list | None, anchored: Head | None) -> bool:
    return (head is None and anchored is None) or (
        head is not None and anchored is not None and tuple(head) == tuple(anchored))


def _heads(session: Session, since: int) -> dict[str, Head]:
    """The last ``(seq, hash)`` of every conversation with a message after id ``since``."""
    touched = select(Message.conversation_id).where(Message.id > since)
    last = (select(Message.conversation_id, func.max(Message.seq).label("seq"))
            .where(Message.conversation_id.in_(touched))
            .group_by(Message.conversation_id).subquery())
    rows = session.execute(select(Message.conversation_id, Message.seq, Message.hash).join(
        last, and_(Message.conversation_id == last.c.conversation_id,
                   Message.seq == last.c.seq)))
    return {row.conversation_id: (row.seq, row.hash) for row in rows}
