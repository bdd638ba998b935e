"""Console accounts: creation, argon2 password check and lockout.

A login failure never says whether the username exists: the caller shows one
message for an unknown user, a wrong password, a disabled or a locked account,
and an unknown username costs the same argon2 verification as a known one.
``MAX_FAILURES`` failures in a row lock the account for ``LOCKOUT``; while it
is locked even the right password is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.errors import ConflictError, NotFoundError, ValidationError
from bot.kb import load_kb_file
from bot.reminders.clock import Clock, SystemClock
from bot.store.db import Database
from bot.store.handoff_models import StaffAccount

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
ROLES = ("doctor", "admin")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


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

    @classmethod
    def of(cls, row: StaffAccount) -> Staff:
        return cls(row.id, row.username, row.display_name, row.role, row.department_id,
                   bool(row.active), as_utc(row.locked_until))

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
        outcome: ``ok``, ``unknown_user``, ``bad_password``, ``locked`` or ``inactive``
            (for the audit log only; never shown to the user).
        staff_id: the account the attempt was for, when the username exists.
        locked_now: this failure locked the account.
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
                 departments: Iterable[str] | None = None, kb_dir: Path | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.hasher = hasher or PasswordHasher()
        if departments is None:
            departments = [d["id"] for d in
                           load_kb_file("departments", kb_dir).get("departments") or []]
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
        if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
            raise ValidationError(f"password: {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        try:
            with self.db.begin() as session:
                row = StaffAccount(username=username, display_name=display_name,
                                   password_hash=self.hasher.hash(password), role=role,
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

    def authenticate(self, username: str, password: str) -> LoginResult:
        """Check a password; count failures and lock the account after ``MAX_FAILURES``."""
        username = (username or "").strip().lower()
        password = password or ""
        now = self.clock.now()
        with self.db.begin() as session:
            row = session.execute(select(StaffAccount).where(
                StaffAccount.username == username).with_for_update()).scalar_one_or_none()
            if row is None:
                self._verify(self._dummy(), password)  # same cost as a known user
                return LoginResult(None, "unknown_user")
            locked_until = as_utc(row.locked_until)
            if locked_until is not None and locked_until > now:
                self._verify(self._dummy(), password)
                return LoginResult(None, "locked", row.id)
            if not self._verify(row.password_hash, password[:MAX_PASSWORD]):
                row.failed_logins = (row.failed_logins or 0) + 1
                locked_now = row.failed_logins >= MAX_FAILURES
                if locked_now:
                    row.locked_until, row.failed_logins = now + LOCKOUT, 0
                return LoginResult(None, "bad_password", row.id, locked_now)
            if not row.active:
                return LoginResult(None, "inactive", row.id)
            row.failed_logins, row.locked_until = 0, None
            if self.hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self.hasher.hash(password)
            return LoginResult(Staff.of(row), "ok", row.id)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not-a-password-of-anyone")
        return self._dummy_hash
