"""Retention: purge personal data once the legal retention period has passed.

The period is ``MEDBOT_RETENTION_DAYS`` (default 1096 days = 3 years); shorter
values are refused because the law requires at least 3 years, unless
``MEDBOT_RETENTION_ALLOW_SHORT=1`` (tests, demos). ``RetentionService.purge(now)``
runs three phases, each in short transactions:

1. **Transcripts.** Per conversation, the messages older than the cutoff are
   deleted as a *prefix* (lowest ``seq`` first, stopping at the first message that
   is still within retention) and the conversation's ``TranscriptCheckpoint``
   records the last purged ``seq`` and its hash, so ``bot.store.chain.verify``
   still verifies what is left and still detects a later edit or deletion; with an
   ``AnchorLog`` each checkpoint is also signed in the anchor file (``purged``
   record) before the batch commits, so a forged checkpoint is found. A
   prefix whose own chain is broken is *not* purged (that would launder the
   tampering): it is reported and logged ``retention.chain_broken``. One
   transaction per batch of conversations.
2. **Other records** past the cutoff (``bot.retention_rules.RULES``): triage
   records, readings, doses of ended reminders, answered consent prompts, ended
   handoffs, past appointments, the outboxes, Rasa tracker events, ...
3. **Erasure of locked patients** (``delete_my_data``) whose every message has
   been purged: what is left of their personal data is deleted and the patient
   row is pseudonymised (``bot.retention_rules.erase_patient``).

Kept on purpose, whatever their age: ``consent_records`` and ``audit_events`` —
the proof that processing was lawful (consent, withdrawal, who accessed what)
must outlive the data it covers; they hold no message text or health data.
Each run that deletes something writes one audit event (actor ``system``,
action ``retention.purge``) with the counts.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import as_utc
from bot.retention_rules import ERASED_PREFIX, RULES, erase_patient, purge_rule
from bot.settings import MIN_RETENTION_DAYS, Settings
from bot.store.anchors import AnchorLog
from bot.store.audit_models import AuditEvent
from bot.store.chain import check_conversation, lock_conversation
from bot.store.db import Database
from bot.store.keys import load_key
from bot.store.models import Message, Patient, TranscriptCheckpoint

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = MIN_RETENTION_DAYS


@dataclass(frozen=True)
class RetentionConfig:
    """How long personal data is kept, and how much one transaction purges.

    Attributes:
        days: retention period; records older than ``now - days`` are purged.
        batch_size: conversations (phase 1) or rows (phase 2) per transaction.
    """

    days: int = DEFAULT_RETENTION_DAYS
    batch_size: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionConfig:
        """``MEDBOT_RETENTION_DAYS``; ``Settings`` refuses less than 3 years (unless
        ``MEDBOT_RETENTION_ALLOW_SHORT``) before anything is purged."""
        return cls(days=settings.retention_days)


@dataclass
class RetentionReport:
    """What a purge deleted (or, with ``dry_run``, would delete).

    Attributes:
        counts: rows per table (``messages``, ``triage_records``, ...).
        conversations: conversations whose oldest messages were purged.
        broken: conversations left alone because their chain is broken.
        erased_patients: locked patients whose remaining data was erased.

    A dry run deletes nothing, so a row that both an age rule and an erasure would
    delete is counted twice there.
    """

    cutoff: datetime
    dry_run: bool
    counts: Counter = field(default_factory=Counter)
    conversations: int = 0
    broken: list[str] = field(default_factory=list)
    erased_patients: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "dry_run": self.dry_run,
                "counts": dict(sorted(self.counts.items())),
                "conversations": self.conversations, "broken": len(self.broken),
                "erased_patients": self.erased_patients}


class RetentionService:
    """Use case: purge everything past the retention period."""

    def __init__(self, db: Database, config: RetentionConfig | None = None,
                 erasure_key: bytes | None = None, anchors: AnchorLog | None = None) -> None:
        """Args:
            erasure_key: keys the pseudonyms of erased patients (``bot.store.keys``); a
                random one when not given (tests), so no pseudonym is guessable.
            anchors: signs each checkpoint the purge sets (``bot.store.anchors``), before
                it is committed; without it ``medbot transcript verify`` reports the
                checkpoints as ``checkpoint_not_anchored`` once an anchor file exists.
        """
        self.db = db
        self.config = config or RetentionConfig()
        self.erasure_key = erasure_key or secrets.token_bytes(32)
        self.anchors = anchors

    @classmethod
    def from_settings(cls, db: Database, settings: Settings,
                      anchors: AnchorLog | None = None) -> RetentionService:
        return cls(db, RetentionConfig.from_settings(settings),
                   load_key("erasure", settings.keys_dir, settings.erasure_key),
                   anchors or AnchorLog.from_settings(settings))

    def cutoff(self, now: datetime) -> datetime:
        # UTC: SQLite compares the stored text, which is UTC without an offset
        return as_utc(now).astimezone(timezone.utc) - timedelta(days=self.config.days)

    def purge(self, now: datetime, dry_run: bool = False) -> RetentionReport:
        """Purge (or count, with ``dry_run``) what is older than ``now - days``."""
        report = RetentionReport(cutoff=self.cutoff(now), dry_run=dry_run)
        self._purge_transcripts(report, as_utc(now))
        for rule in RULES:
            report.counts[rule.name] += purge_rule(self.db, rule, report.cutoff, dry_run,
                                                   self.config.batch_size * 5)
        self._erase_locked_patients(report, as_utc(now))
        report.counts = Counter({k: v for k, v in report.counts.items() if v})
        if not dry_run and (report.total or report.broken):
            with self.db.begin() as session:
                session.add(AuditEvent(actor="system", action="retention.purge",
                                       detail=json.dumps(report.as_dict()), created_at=now))
        log.info("retention.purge.%s cutoff=%s conversations=%d erased=%d broken=%d counts=%s",
                 "dry_run" if dry_run else "done", report.cutoff.isoformat(),
                 report.conversations, report.erased_patients, len(report.broken),
                 dict(report.counts))
        return report

    # ---------------------------------------------------------------- phase 1
    def _purge_transcripts(self, report: RetentionReport, now: datetime) -> None:
        after: str | None = None
        while True:
            stmt = (select(Message.conversation_id).where(Message.created_at < report.cutoff)
                    .group_by(Message.conversation_id).order_by(Message.conversation_id)
                    .limit(self.config.batch_size))
            if after is not None:
                stmt = stmt.where(Message.conversation_id > after)
            marks: dict[str, tuple[int, str]] = {}
            with self.db.begin() as session:  # one transaction per batch of conversations
                batch = session.execute(stmt).scalars().all()
                for conversation_id in batch:  # sorted: locks are always taken in one order
                    lock_conversation(session, conversation_id)
                    purged = self._purge_prefix(session, conversation_id, report, now, marks)
                    if purged:
                        report.counts["messages"] += purged
                        report.conversations += 1
                if marks and self.anchors is not None:
                    # signed before the commit: a record without its checkpoint is harmless,
                    # a checkpoint without a record is reported by verify
                    self.anchors.record_purges(marks, now)
            if len(batch) < self.config.batch_size:
                return
            after = batch[-1]

    def _purge_prefix(self, session: Session, conversation_id: str, report: RetentionReport,
                      now: datetime, marks: dict[str, tuple[int, str]]) -> int:
        in_conversation = Message.conversation_id == conversation_id
        keep_from = session.execute(select(func.min(Message.seq)).where(
            in_conversation, Message.created_at >= report.cutoff)).scalar()
        prefix = [in_conversation] + ([Message.seq < keep_from] if keep_from is not None else [])
        rows = session.execute(select(Message).where(*prefix).order_by(Message.seq)).scalars().all()
        if not rows:
            return 0
        mark = session.get(TranscriptCheckpoint, conversation_id)
        if any(check_conversation(conversation_id, rows, mark)):
            log.error("retention.chain_broken conversation_id=%s: prefix kept as evidence; "
                      "run medbot transcript verify", conversation_id)
            report.broken.append(conversation_id)
            return 0
        if report.dry_run:
            return len(rows)
        last = rows[-1]
        session.execute(delete(Message).where(*prefix)
                        .execution_options(synchronize_session=False))
        if mark is None:
            session.add(TranscriptCheckpoint(conversation_id=conversation_id,
                                             purged_through_seq=last.seq, last_hash=last.hash,
                                             purged_at=now))
        else:
            mark.purged_through_seq, mark.last_hash, mark.purged_at = last.seq, last.hash, now
        session.flush()
        marks[conversation_id] = (last.seq, last.hash)
        return len(rows)

    # ---------------------------------------------------------------- phase 3
    def _erase_locked_patients(self, report: RetentionReport, now: datetime) -> None:
        """Locked patients with no message left: erase what the law lets us erase."""
        candidates = select(Patient.id).where(
            Patient.access_locked_at.is_not(None),
            Patient.external_id.not_like(f"{ERASED_PREFIX}%"),
            ~exists().where(*self._left(report, Patient.id))).order_by(Patient.id)
        with self.db.begin() as session:
            patient_ids = session.execute(candidates).scalars().all()
        for patient_id in patient_ids:
            with self.db.begin() as session:  # one transaction per patient
                patient = session.get(Patient, patient_id, with_for_update=True)
                if patient is None or patient.external_id.startswith(ERASED_PREFIX):
                    continue  # another worker's purge was first
                if session.execute(select(Message.id).where(
                        *self._left(report, patient_id)).limit(1)).first():
                    continue  # a message arrived meanwhile: not yet
                counts = erase_patient(session, patient, report.dry_run, self.erasure_key)
                if not report.dry_run:
                    session.add(AuditEvent(actor="system", action="retention.erase",
                                           patient_id=patient_id, created_at=now,
                                           detail=json.dumps(counts, sort_keys=True)))
            report.counts.update(counts)
            report.erased_patients += 1

    @staticmethod
    def _left(report: RetentionReport, patient_id: Any) -> list[ColumnElement]:
        """Messages of the patient still there after phase 1 (a dry run deleted none)."""
        if not report.dry_run:
            return [Message.patient_id == patient_id]
        return [Message.patient_id == patient_id,
                or_(Message.created_at >= report.cutoff,
                    Message.conversation_id.in_(report.broken or [""]))]
