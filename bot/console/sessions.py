"""Server-side console sessions and CSRF tokens.

The session cookie carries a random token; the database stores only its
sha256, so a leaked table does not leak live sessions. Each session has its own
CSRF token, sent back in a hidden form field on every POST. Before a session
exists (the login form) a double-submit cookie does the same job. Tokens are
compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.clock import Clock, SystemClock, as_utc
from bot.console.accounts import Staff
from bot.errors import PermissionDeniedError
from bot.store.db import Database
from bot.store.staff_models import StaffAccount, StaffSession

SESSION_TTL = timedelta(hours=8)


class CsrfError(PermissionDeniedError):
    """A form came without this session's (or the login form's) CSRF token."""

    message_key = "utter_console_csrf_failed"


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


@dataclass(frozen=True)
class NewSession:
    """What the login response needs: the cookie value and the form token."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    id: int
    staff: Staff
    csrf_token: str
    expires_at: datetime

    def check_csrf(self, given: str | None) -> None:
        """Refuse a form whose CSRF token is not this session's.

        Raises:
            CsrfError: the token is missing or wrong.
        """
        if not tokens_match(self.csrf_token, given):
            raise CsrfError("CSRF token missing or wrong")


class SessionService:
    """Create, look up and revoke console sessions."""

    def __init__(self, db: Database, clock: Clock | None = None,
                 ttl: timedelta = SESSION_TTL) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.ttl = ttl

    def create(self, staff_id: int, auth_version: int | None = None) -> NewSession:
        """A session for the account; ``auth_version`` is the one the password was
        checked under (a reset or disable since then leaves the session dead)."""
        now = self.clock.now()
        token, csrf = new_token(), new_token()
        expires = now + self.ttl
        with self.db.begin() as session:
            if auth_version is None:
                auth_version = session.execute(select(StaffAccount.auth_version).where(
                    StaffAccount.id == staff_id)).scalar_one()
            session.add(StaffSession(token_sha256=token_digest(token), staff_id=staff_id,
                                     csrf_token=csrf, created_at=now, expires_at=expires,
                                     auth_version=auth_version))
        return NewSession(token, csrf, expires)

    def lookup(self, token: str | None) -> ActiveSession | None:
        """The live session of ``token``: not revoked, not expired, account active and
        its password not reset nor the account disabled since the session began."""
        if not token:
            return None
        now = self.clock.now()
        with self.db.read() as session:
            found = session.execute(
                select(StaffSession, StaffAccount)
                .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
                .where(StaffSession.token_sha256 == token_digest(token),
                       StaffSession.revoked_at.is_(None),
                       StaffSession.auth_version == StaffAccount.auth_version,
                       StaffSession.expires_at > now)).first()
            if found is None or not found.StaffAccount.active:
                return None
            row = found.StaffSession
            return ActiveSession(row.id, Staff.of(found.StaffAccount), row.csrf_token,
                                 as_utc(row.expires_at))

    def revoke(self, token: str | None) -> bool:
        """End the session of ``token``; returns whether one was live."""
        if not token:
            return False
        with self.db.begin() as session:
            return session.execute(
                update(StaffSession)
                .where(StaffSession.token_sha256 == token_digest(token),
                       StaffSession.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
                .execution_options(synchronize_session=False)).rowcount == 1

    def revoke_all(self, staff_id: int) -> int:
        """End every session of one account (e.g. after it is disabled)."""
        with self.db.begin() as session:
            return session.execute(
                update(StaffSession)
                .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
                .execution_options(synchronize_session=False)).rowcount
