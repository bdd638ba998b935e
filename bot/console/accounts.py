"""Console accounts: creation, argon2 password check, throttling, disable, reset.

A login failure never says whether the username exists: the caller shows one
message for an unknown user, a wrong password, a disabled, locked or throttled
account, and an unknown username costs the same argon2 verification as a known one.

argon2 never runs inside a database transaction: the hash is read in a
read-only transaction, verified with no transaction (and no connection) held,
then a short write follows. (On SQLite every write transaction holds the one
write lock, ``BEGIN IMMEDIATE``: a verify inside one made WeChat claims and
transcript writes queue behind a login spray.)

Failures are throttled per client address and per (account, address), not per
account: see ``bot/console/throttle.py``. A reset password or a disabled account
bumps ``auth_version``, which ends every session of the account at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock, SystemClock, as_utc
from bot.console import throttle as limits
from bot.console.throttle import DatabaseThrottle, LoginThrottle
from bot.errors import ConflictError, NotFoundError, ValidationError
from bot.kb.departments import load_departments
from bot.store.db import Database
from bot.store.staff_models import StaffAccount, StaffSession

MAX_FAILURES = limits.PAIR_FAILURES  # from one address, for one account
LOCKOUT = limits.LOCKOUT
ROLES = ("doctor", "admin")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


@dataclass(frozen=True)
class Staff:
    """A console user as the web layer sees it (no ORM object leaves a transaction).

    It has the attributes ``HandoffService.can_see`` reads from a ``StaffAccount``.
    """

    id: int
    username: str
    display_name: str
    role: str
    department_id: str | None
    active: bool
    locked_until: datetime | None = None
    auth_version: int = 0

    @classmethod
    def of(cls, row: StaffAccount) -> Staff:
        return cls(row.id, row.username, row.display_name, row.role, row.department_id,
                   bool(row.active), as_utc(row.locked_until), row.auth_version or 0)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.active

    @property
    def is_doctor(self) -> bool:
        return self.role == "doctor" and self.active


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt.

    Attributes:
        staff: the account on success, else None.
        outcome: ``ok``, ``unknown_user``, ``bad_password``, ``locked`` (this account
            from this address), ``throttled`` (this address), ``inactive`` or
            ``changed`` (reset or disabled while the password was checked); for the
            audit log only, never shown to the user.
        staff_id: the account the attempt was for, when the username exists.
        locked_now: this failure locked the account for this address.
    """

    staff: Staff | None
    outcome: str
    staff_id: int | None = None
    locked_now: bool = False

    @property
    def ok(self) -> bool:
        return self.staff is not None


class StaffService:
    """Create and authenticate console users."""

    def __init__(self, db: Database, clock: Clock | None = None,
                 hasher: PasswordHasher | None = None,
                 departments: Iterable[str] | None = None, kb_dir: Path | None = None,
                 throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.hasher = hasher or PasswordHasher()
        self.throttle = throttle or DatabaseThrottle(db, self.clock)
        if departments is None:
            departments = load_departments(kb_dir)
        self.departments = frozenset(departments)
        self._dummy_hash: str | None = None

    def create(self, username: str, display_name: str, password: str, role: str = "doctor",
               department_id: str | None = None) -> Staff:
        """Add an account.

        Raises:
            ValidationError: a bad username, name, password, role or department.
            ConflictError: the username is taken.
        """
        username = (username or "").strip().lower()
        display_name = (display_name or "").strip()
        department_id = (department_id or "").strip() or None
        if not _USERNAME.match(username):
            raise ValidationError("username: 3-64 characters a-z 0-9 _ . - (starting with a "
                                  "letter or digit)")
        if not 0 < len(display_name) <= 128:
            raise ValidationError("name: 1-128 characters")
        if role not in ROLES:
            raise ValidationError(f"role must be one of {ROLES}")
        if role == "doctor" and department_id is None:
            raise ValidationError("a doctor needs a department")
        if department_id is not None and department_id not in self.departments:
            raise ValidationError(f"unknown department {department_id!r} "
                                  f"(see knowledge_base/departments.yml)")
        password_hash = self._new_hash(password)
        try:
            with self.db.begin() as session:
                row = StaffAccount(username=username, display_name=display_name,
                                   password_hash=password_hash, role=role,
                                   department_id=department_id, active=True, failed_logins=0,
                                   created_at=self.clock.now())
                session.add(row)
                session.flush()
                return Staff.of(row)
        except IntegrityError as exc:
            raise ConflictError(f"username {username!r} is taken") from exc

    def accounts(self) -> list[Staff]:
        with self.db.begin() as session:
            rows = session.execute(select(StaffAccount).order_by(StaffAccount.username))
            return [Staff.of(row) for row in rows.scalars()]

    def get(self, staff_id: int) -> Staff:
        with self.db.begin() as session:
            row = session.get(StaffAccount, staff_id)
            if row is None:
                raise NotFoundError(f"staff {staff_id} not found")
            return Staff.of(row)

    def find(self, username: str) -> Staff:
        """The account of ``username``.

        Raises:
            NotFoundError: no such account.
        """
        with self.db.read() as session:
            row = session.execute(select(StaffAccount).where(
                StaffAccount.username == _normal(username))).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"no console account {_normal(username)!r}")
            return Staff.of(row)

    def authenticate(self, username: str, password: str,
                     address: str | None = None) -> LoginResult:
        """Check a password from client ``address``; throttle failures (see module doc)."""
        username, password = _normal(username), (password or "")[:MAX_PASSWORD]
        with self.db.read() as session:
            row = session.execute(select(
                StaffAccount.id, StaffAccount.password_hash, StaffAccount.active,
                StaffAccount.auth_version).where(StaffAccount.username == username)).first()
        staff_id = row.id if row else None
        blocked = self.throttle.blocked(username, address)
        if blocked is not None:  # refused before argon2: a spray costs no CPU
            return LoginResult(None, blocked, staff_id)
        if not self._verify(row.password_hash if row else self._dummy(), password) or not row:
            locked_now = self.throttle.failed(username, address)
            return LoginResult(None, "bad_password" if row else "unknown_user", staff_id,
                               locked_now)
        if not row.active:
            return LoginResult(None, "inactive", staff_id)
        rehashed = (self.hasher.hash(password) if self.hasher.check_needs_rehash(
            row.password_hash) else None)
        with self.db.begin() as session:  # short: no hashing in here
            current = session.execute(select(StaffAccount).where(
                StaffAccount.id == row.id, StaffAccount.password_hash == row.password_hash,
                StaffAccount.auth_version == row.auth_version,
                StaffAccount.active.is_(True))).scalar_one_or_none()
            if current is None:
                return LoginResult(None, "changed", staff_id)
            if rehashed:
                current.password_hash = rehashed
            staff = Staff.of(current)
        self.throttle.succeeded(username, address)
        return LoginResult(staff, "ok", staff_id)

    def set_password(self, username: str, password: str) -> Staff:
        """A new password (``medbot doctor reset-password``); ends every session of the
        account and lifts its login locks.

        Raises:
            ValidationError: the password is too short or too long.
            NotFoundError: no such account.
        """
        password_hash = self._new_hash(password)
        staff = self._change(username, password_hash=password_hash)
        self.throttle.clear(username=staff.username)
        return staff

    def set_active(self, username: str, active: bool) -> Staff:
        """Disable (every session ends, no login) or enable an account.

        Raises:
            NotFoundError: no such account.
        """
        return self._change(username, active=active)

    def unlock(self, username: str | None = None, address: str | None = None) -> int:
        """Lift the login locks of an account (from every address) and/or an address."""
        return self.throttle.clear(username=_normal(username) if username else None,
                                   address=address)

    def locks(self, username: str) -> list[tuple[str, datetime]]:
        """Addresses ``username`` is locked from, and until when."""
        return self.throttle.locks(_normal(username))

    def _change(self, username: str, **values: object) -> Staff:
        """Update an account; a password change or a disable ends its sessions."""
        with self.db.begin() as session:
            row = session.execute(select(StaffAccount).where(
                StaffAccount.username == _normal(username)).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"no console account {_normal(username)!r}")
            ends_sessions = "password_hash" in values or values.get("active") is False
            for name, value in values.items():
                setattr(row, name, value)
            if ends_sessions:
                row.auth_version = (row.auth_version or 0) + 1
                session.execute(update(StaffSession).where(
                    StaffSession.staff_id == row.id, StaffSession.revoked_at.is_(None))
                    .values(revoked_at=self.clock.now())
                    .execution_options(synchronize_session=False))
            session.flush()
            return Staff.of(row)

    def _new_hash(self, password: str) -> str:
        if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
            raise ValidationError(f"password: {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        return self.hasher.hash(password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not-a-password-of-anyone")
        return self._dummy_hash


def _normal(username: str | None) -> str:
    return (username or "").strip().lower()
