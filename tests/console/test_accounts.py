"""Staff accounts: validation, argon2 hashes, login outcomes and the lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console.accounts import LOCKOUT, MAX_FAILURES, StaffService
from bot.errors import ConflictError, ValidationError
from bot.store.staff_models import StaffAccount
from tests.console.conftest import PASSWORD


@pytest.fixture
def staff(services) -> StaffService:
    return services.staff


def test_create_stores_an_argon2_hash_never_the_password(staff, db) -> None:
    created = staff.create("Dr.Li", " 李医生 ", PASSWORD, "doctor", "cardiology")
    assert (created.username, created.display_name) == ("dr.li", "李医生")
    with db.begin() as session:
        stored = session.execute(select(StaffAccount.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize("kwargs", [
    {"department_id": "heart_surgery"},          # not in departments.yml
    {"department_id": None},                     # a doctor needs a department
    {"role": "nurse"},
    {"password": "short"},
    {"username": "x"},
    {"username": "no spaces"},
    {"display_name": "  "},
])
def test_create_refuses_bad_input(staff, kwargs) -> None:
    args = {"username": "dr.li", "display_name": "李医生", "password": PASSWORD,
            "role": "doctor", "department_id": "cardiology", **kwargs}
    with pytest.raises(ValidationError):
        staff.create(**args)
    assert staff.accounts() == []


def test_an_admin_needs_no_department_and_usernames_are_unique(staff) -> None:
    admin = staff.create("admin", "管理员", PASSWORD, "admin")
    assert admin.is_admin and not admin.is_doctor and admin.department_id is None
    with pytest.raises(ConflictError):
        staff.create("ADMIN", "另一个", PASSWORD, "admin")
    assert [s.username for s in staff.accounts()] == ["admin"]


def test_authenticate_outcomes(staff) -> None:
    created = staff.create("dr.li", "李医生", PASSWORD, "doctor", "general_practice")
    ok = staff.authenticate("DR.LI ", PASSWORD)
    assert ok.ok and ok.staff == created and ok.outcome == "ok"
    wrong = staff.authenticate("dr.li", PASSWORD + "x")
    assert (wrong.ok, wrong.outcome, wrong.staff_id) == (False, "bad_password", created.id)
    unknown = staff.authenticate("nobody", PASSWORD)
    assert (unknown.ok, unknown.outcome, unknown.staff_id) == (False, "unknown_user", None)


def test_a_success_resets_the_failure_count(staff, db) -> None:
    staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    for _ in range(MAX_FAILURES - 1):
        assert not staff.authenticate("dr.li", "wrong password").ok
    assert staff.authenticate("dr.li", PASSWORD).ok
    with db.begin() as session:
        assert session.execute(select(StaffAccount.failed_logins)).scalar_one() == 0
    assert not staff.authenticate("dr.li", "wrong password").ok
    assert staff.authenticate("dr.li", PASSWORD).ok  # not locked: the count restarted


def test_five_failures_lock_the_account_even_against_the_right_password(staff, clock) -> None:
    staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    results = [staff.authenticate("dr.li", f"guess {i}") for i in range(MAX_FAILURES)]
    assert [r.locked_now for r in results] == [False] * (MAX_FAILURES - 1) + [True]
    locked = staff.authenticate("dr.li", PASSWORD)
    assert (locked.ok, locked.outcome) == (False, "locked")
    clock.advance(LOCKOUT - timedelta(seconds=1))
    assert staff.authenticate("dr.li", PASSWORD).outcome == "locked"
    clock.advance(timedelta(seconds=2))
    assert staff.authenticate("dr.li", PASSWORD).ok


def test_a_disabled_account_cannot_sign_in(staff, db) -> None:
    staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    with db.begin() as session:
        session.execute(select(StaffAccount)).scalar_one().active = False
    result = staff.authenticate("dr.li", PASSWORD)
    assert (result.ok, result.outcome) == (False, "inactive")
