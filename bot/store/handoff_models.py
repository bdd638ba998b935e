"""ORM models of issue 8: consent, human handoff, console accounts, audit, retention.

JSON is stored as text so SQLite and PostgreSQL behave alike. Consent records
and audit events are append-only: a withdrawal is a new record, not an update.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId

_ACTIVE = "status IN ('queued', 'claimed')"
_PENDING = "status = 'pending'"


class ConsentRecord(Base):
    """One consent decision (PIPL art. 29: separate consent for health data).

    Attributes:
        purpose: ``health_data`` (processing health information) or ``handoff``
            (a licensed doctor reads the conversation).
        text_version / text_sha256: the exact text the patient was shown.
        decision: ``granted``, ``declined`` or ``withdrawn``.
        message_id: the patient's message that carried the decision.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("decision IN ('granted', 'declined', 'withdrawn')",
                        name="ck_consent_decision"),
        CheckConstraint("purpose IN ('health_data', 'handoff')", name="ck_consent_purpose"),
        Index("ix_consent_records_patient", "patient_id", "purpose", "id"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    purpose = Column(String(32), nullable=False)
    text_version = Column(String(32), nullable=False)
    text_sha256 = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    decision = Column(String(16), nullable=False)
    message_id = Column(BigId, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    handoff_id = Column(BigId, ForeignKey("handoffs.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ConsentPrompt(Base):
    """A consent question shown to a patient and not yet answered.

    At most one pending prompt per patient and purpose (enforced by a partial
    unique index). ``context_json`` carries what to do on consent (for a
    handoff: reason, department, triage record).
    """

    __tablename__ = "consent_prompts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'answered', 'dropped')", name="ck_prompt_status"),
        Index("uq_consent_prompt_pending", "patient_id", "purpose", unique=True,
              sqlite_where=_PENDING, postgresql_where=_PENDING),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(String(160), nullable=False)
    purpose = Column(String(32), nullable=False)
    text_version = Column(String(32), nullable=False)
    text_sha256 = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    context_json = Column(Text, nullable=False, default="{}")
    status = Column(String(16), nullable=False, default="pending")
    asked = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    answered_at = Column(DateTime(timezone=True), nullable=True)


class Handoff(Base):
    """A conversation handed to a human doctor, from the queue to its close."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'claimed', 'closed', 'cancelled', 'expired')",
            name="ck_handoff_status"),
        CheckConstraint(
            "reason IN ('request_human', 'urgent_triage', 'abnormal_reading', 'fallbacks')",
            name="ck_handoff_reason"),
        Index("ix_handoffs_queue", "status", "department_id", "created_at"),
        # one open handoff per patient: a double consent cannot queue twice
        Index("uq_handoff_active_patient", "patient_id", unique=True,
              sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(String(160), nullable=False)
    channel = Column(String(32), nullable=False)
    department_id = Column(String(64), nullable=False)
    reason = Column(String(32), nullable=False)
    language = Column(String(8), nullable=False)
    summary_json = Column(Text, nullable=False, default="{}")
    status = Column(String(16), nullable=False, default="queued")
    staff_id = Column(BigId, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    claim_deadline = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    close_note = Column(Text, nullable=True)


class StaffAccount(Base):
    """A console user: a doctor of one department, or an admin.

    ``auth_version`` is bumped whenever the password is reset or the account is
    disabled: a session made under an older version is dead (``staff_sessions.
    auth_version``). ``failed_logins``/``locked_until`` are no longer written
    (since 0011 failures are counted per account *and* client address in
    ``console_login_throttle``, or Redis); they stay for the downgrade.
    """

    __tablename__ = "staff_accounts"
    __table_args__ = (
        UniqueConstraint("username", name="uq_staff_username"),
        CheckConstraint("role IN ('doctor', 'admin')", name="ck_staff_role"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False)
    display_name = Column(String(128), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="doctor")
    department_id = Column(String(64), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    auth_version = Column(Integer, nullable=False, default=0, server_default="0")


class StaffSession(Base):
    """A server-side console session; the cookie holds a random token whose
    sha256 is stored here, never the token itself."""

    __tablename__ = "staff_sessions"
    __table_args__ = (UniqueConstraint("token_sha256", name="uq_staff_session_token"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    token_sha256 = Column(String(64), nullable=False)
    staff_id = Column(BigId, ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    revoked_at = Column(DateTime(timezone=True), nullable=True)
    auth_version = Column(Integer, nullable=False, default=0, server_default="0")


class LoginThrottleEntry(Base):
    """Failed console logins of one key (``addr:<address>`` or ``user:<name>|<address>``)
    in the current window, and until when the key is locked (bot/console/throttle.py).

    Shared by every process on the database; Redis holds the same when
    ``MEDBOT_REDIS_URL`` is set.
    """

    __tablename__ = "console_login_throttle"
    __table_args__ = (Index("ix_console_login_throttle_updated", "updated_at"),)

    key = Column(String(160), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    window_start = Column(DateTime(timezone=True), nullable=False)
    locked_until = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class AuditEvent(Base):
    """Who did what to which patient's data, and when (append-only).

    Hash-chained over the whole table (``bot.store.chain``): ``seq``, ``prev_hash`` and
    ``hash`` are set on insert by a ``before_insert`` event; never set them yourself.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_time", "created_at"),
        Index("ix_audit_events_patient", "patient_id", "created_at"),
        UniqueConstraint("seq", name="uq_audit_events_seq"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    staff_id = Column(BigId, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    actor = Column(String(64), nullable=False)  # username, or "system"/"cli"
    action = Column(String(48), nullable=False)  # e.g. transcript.view, handoff.claim
    patient_id = Column(BigId, ForeignKey("patients.id", ondelete="SET NULL"), nullable=True)
    handoff_id = Column(BigId, ForeignKey("handoffs.id", ondelete="SET NULL"), nullable=True)
    detail = Column(Text, nullable=True)
    remote_addr = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    seq = Column(Integer, nullable=False)
    prev_hash = Column(String(64), nullable=False)
    hash = Column(String(64), nullable=False)


@event.listens_for(AuditEvent, "before_insert")
def _seal_audit_event(_mapper, connection, target: AuditEvent) -> None:
    from bot.store.chain import seal_audit_event  # chain imports this module

    seal_audit_event(connection, target)


class TranscriptCheckpoint(Base):
    """Where a conversation's chain continues after the retention purge removed
    its oldest messages: ``verify`` starts at ``purged_through_seq + 1`` with
    ``last_hash`` as the previous hash."""

    __tablename__ = "transcript_checkpoints"

    conversation_id = Column(String(160), primary_key=True)
    purged_through_seq = Column(Integer, nullable=False)
    last_hash = Column(String(64), nullable=False)
    purged_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
