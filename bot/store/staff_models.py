"""ORM models of the doctor console's users: accounts, sessions and the login throttle."""

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
    UniqueConstraint,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId


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
