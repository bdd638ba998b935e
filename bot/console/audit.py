"""The audit log: who did what to which patient's data, and when (append-only).

Each use case writes its event itself; a view of patient data is recorded
before the data is returned, so a failed audit write shows nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock, as_utc
from bot.console.accounts import Staff
from bot.store.audit_models import AuditEvent
from bot.store.db import Database

# The actions the console and the CLI write.
LOGIN = "login"
LOGIN_FAILED = "login.failed"
LOGOUT = "logout"
TRANSCRIPT_VIEW = "transcript.view"
SUMMARY_VIEW = "summary.view"  # a queued handoff's summary, before a doctor claims it
TRANSCRIPT_DENIED_LOCKED = "transcript.denied_locked"
HANDOFF_DENIED = "handoff.denied"
HANDOFF_CLAIM = "handoff.claim"
HANDOFF_REPLY = "handoff.reply"
HANDOFF_CLOSE = "handoff.close"
REVISITS_VIEW = "revisits.view"
FLAGS_VIEW = "flags.view"
AUDIT_VIEW = "audit.view"
STAFF_CREATE = "staff.create"
STAFF_DISABLE = "staff.disable"
STAFF_ENABLE = "staff.enable"
STAFF_PASSWORD_RESET = "staff.password_reset"
STAFF_UNLOCK = "staff.unlock"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: datetime
    actor: str
    staff_id: int | None
    action: str
    patient_id: int | None
    handoff_id: int | None
    detail: str | None
    remote_addr: str | None

    @classmethod
    def of(cls, row: AuditEvent) -> AuditEntry:
        return cls(row.id, as_utc(row.created_at), row.actor, row.staff_id, row.action,
                   row.patient_id, row.handoff_id, row.detail, row.remote_addr)


class AuditLog:
    """Append and read ``audit_events``."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def record(self, action: str, **fields: object) -> int:
        """Write one event in its own transaction; returns its id (fields as ``record_in``)."""
        with self.db.begin() as session:
            return self.record_in(session, action, **fields)  # type: ignore[arg-type]

    def record_in(self, session: Session, action: str, *, staff: Staff | None = None,
                  actor: str | None = None, patient_id: int | None = None,
                  handoff_id: int | None = None, detail: str | None = None,
                  remote_addr: str | None = None, staff_id: int | None = None) -> int:
        """Write one event in the caller's transaction; returns its id.

        Args:
            staff: the console user; ``actor`` defaults to their username.
            actor: who acted when there is no account ("cli", "system", or the
                username typed into a failed login).
            staff_id: the account concerned when there is no ``staff`` (a failed login).
        """
        row = AuditEvent(
            staff_id=staff.id if staff else staff_id,
            actor=(actor or (staff.username if staff else "system"))[:64],
            action=action[:48], patient_id=patient_id, handoff_id=handoff_id,
            detail=detail[:2000] if detail else None,
            remote_addr=remote_addr[:64] if remote_addr else None,
            created_at=self.clock.now())
        session.add(row)
        session.flush()
        return row.id

    def entries(self, limit: int = 100, before_id: int | None = None,
                action: str | None = None, handoff_id: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back."""
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
        if before_id is not None:
            stmt = stmt.where(AuditEvent.id < before_id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if handoff_id is not None:
            stmt = stmt.where(AuditEvent.handoff_id == handoff_id)
        with self.db.begin() as session:
            return [AuditEntry.of(row) for row in session.execute(stmt).scalars()]
