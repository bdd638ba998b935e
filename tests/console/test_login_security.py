"""Login hardening: argon2 outside transactions, the throttle per address and per
(account, address) in the database and in Redis, disable and password reset."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from bot.console.accounts import LOCKOUT, MAX_FAILURES, StaffService
from bot.console.sessions import SessionService
from bot.console.throttle import ADDRESS_FAILURES, DatabaseThrottle, RedisThrottle
from bot.errors import NotFoundError, ValidationError
from bot.settings import PROJECT_ROOT
from bot.store.db import Database
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.staff_models import StaffAccount
from tests.console.conftest import PASSWORD

ATTACKER, DOCTOR_PC = "203.0.113.9", "10.20.0.15"


class GatedHasher(PasswordHasher):
    """A real argon2 hasher whose ``verify`` waits until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifying = threading.Event()
        self.release = threading.Event()
        self.verifies = 0

    def verify(self, hash: str, password: str) -> bool:  # noqa: A002 - argon2's name
        self.verifies += 1
        self.verifying.set()
        assert self.release.wait(20), "the test never released the verify"
        return super().verify(hash, password)


def fast() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(params=["database", "redis"])
def new_throttle(request, clock):
    """Makes the throttle of one process: on its database, or a Redis client of its own."""
    if request.param == "database":
        return lambda db: DatabaseThrottle(db, clock)
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return lambda db: RedisThrottle(url, prefix, clock)


@pytest.fixture
def staff(db, clock, new_throttle) -> StaffService:
    service = StaffService(db, clock, hasher=fast(), throttle=new_throttle(db))
    service.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    service.create("dr.chen", "陈医生", PASSWORD, "doctor", "cardiology")
    return service


def run_in_thread(func, *args) -> threading.Thread:
    thread = threading.Thread(target=func, args=args, daemon=True)
    thread.start()
    return thread


def test_no_transaction_is_open_while_argon2_verifies(db, clock) -> None:
    hasher = GatedHasher()
    staff = StaffService(db, clock, hasher=fast())
    li = staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    staff.hasher = hasher
    results = []
    login = run_in_thread(lambda: results.append(staff.authenticate("dr.li", PASSWORD)))
    try:
        assert hasher.verifying.wait(10)
        # while the password is being checked: a transcript write (the SQLite write
        # lock) and a change of the very account row (PostgreSQL row lock) go through
        def rename() -> None:
            with db.begin() as session:
                session.get(StaffAccount, li.id).display_name = "李伟医生"

        write = run_in_thread(lambda: TranscriptService(db).log(
            "wechat", "oPatient", [LoggedMessage("patient", "医生在吗")]))
        change = run_in_thread(rename)
        write.join(5)
        change.join(5)
        assert not write.is_alive(), "a transcript write waited for a login's argon2"
        assert not change.is_alive(), "an account change waited for a login's argon2"
        assert db.engine.pool.checkedout() == 0  # not even a connection is held
    finally:
        hasher.release.set()
        login.join(10)
    assert [(r.outcome, r.staff.display_name) for r in results] == [("ok", "李伟医生")]


def test_a_password_reset_during_the_check_refuses_the_login(db, clock) -> None:
    hasher = GatedHasher()
    staff = StaffService(db, clock, hasher=fast())
    staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    staff.hasher = hasher
    results = []
    login = run_in_thread(lambda: results.append(staff.authenticate("dr.li", PASSWORD)))
    assert hasher.verifying.wait(10)
    staff.set_password("dr.li", "a new long passphrase")
    hasher.release.set()
    login.join(10)
    assert [r.outcome for r in results] == ["changed"]


def test_a_lockout_holds_for_one_address_and_never_for_the_doctors(staff, clock) -> None:
    results = [staff.authenticate("dr.li", f"guess {i}", ATTACKER) for i in range(MAX_FAILURES)]
    assert [r.locked_now for r in results] == [False] * (MAX_FAILURES - 1) + [True]
    assert staff.authenticate("dr.li", PASSWORD, ATTACKER).outcome == "locked"
    assert staff.authenticate("dr.li", PASSWORD, DOCTOR_PC).ok  # the doctor is not locked out
    assert [address for address, _ in staff.locks("dr.li")] == [ATTACKER]
    # the attacker keeps trying every quarter hour: still only their own address is locked
    for _ in range(3):
        clock.advance(LOCKOUT + timedelta(seconds=1))
        for i in range(MAX_FAILURES):
            staff.authenticate("dr.li", f"guess {i}", ATTACKER)
        assert staff.authenticate("dr.li", PASSWORD, DOCTOR_PC).ok
    clock.advance(LOCKOUT - timedelta(seconds=1))
    assert staff.authenticate("dr.li", PASSWORD, ATTACKER).outcome == "locked"
    clock.advance(timedelta(seconds=2))
    assert staff.authenticate("dr.li", PASSWORD, ATTACKER).ok


def test_a_spray_from_one_address_is_throttled_before_argon2(staff, clock) -> None:
    names = [f"user{i:02d}" for i in range(ADDRESS_FAILURES - 2)] + ["dr.li", "dr.chen"]
    outcomes = [staff.authenticate(name, "Winter2026!", ATTACKER).outcome for name in names]
    assert outcomes.count("unknown_user") == ADDRESS_FAILURES - 2
    staff.hasher = GatedHasher()  # any argon2 call would now hang the test
    staff.hasher.release.set()
    for name in ("dr.li", "dr.chen", "user99"):
        assert staff.authenticate(name, PASSWORD, ATTACKER).outcome == "throttled"
    assert staff.hasher.verifies == 0
    assert staff.authenticate("dr.chen", PASSWORD, DOCTOR_PC).ok  # from anywhere else
    assert staff.locks("dr.chen") == []  # no account was locked by the spray
    clock.advance(LOCKOUT + timedelta(seconds=1))
    assert staff.authenticate("dr.chen", PASSWORD, ATTACKER).ok


def test_failures_spread_over_time_do_not_add_up(staff, clock) -> None:
    for _ in range(3):
        for i in range(MAX_FAILURES - 1):
            assert not staff.authenticate("dr.li", f"typo {i}", DOCTOR_PC).locked_now
        clock.advance(timedelta(minutes=16))
    assert staff.authenticate("dr.li", PASSWORD, DOCTOR_PC).ok


def test_unlock_lifts_an_accounts_and_an_addresss_locks(staff) -> None:
    for i in range(MAX_FAILURES):
        staff.authenticate("dr.li", f"guess {i}", ATTACKER)
    assert staff.unlock("dr.li") == 1
    assert staff.authenticate("dr.li", PASSWORD, ATTACKER).ok
    for i in range(ADDRESS_FAILURES):
        staff.authenticate(f"user{i:02d}", "x" * 12, ATTACKER)
    assert staff.authenticate("dr.chen", PASSWORD, ATTACKER).outcome == "throttled"
    assert staff.unlock(address=ATTACKER) >= 1
    assert staff.authenticate("dr.chen", PASSWORD, ATTACKER).ok


def test_two_processes_share_the_throttle(staff, db, clock, new_throttle) -> None:
    """Another process: its own engine, or Redis client, on the same store."""
    other_db = Database(db.url)
    try:
        elsewhere = StaffService(other_db, clock, hasher=fast(), throttle=new_throttle(other_db))
        for i in range(MAX_FAILURES):
            (staff if i % 2 else elsewhere).authenticate("dr.li", f"guess {i}", ATTACKER)
        assert staff.authenticate("dr.li", PASSWORD, ATTACKER).outcome == "locked"
        assert elsewhere.authenticate("dr.li", PASSWORD, ATTACKER).outcome == "locked"
        assert elsewhere.authenticate("dr.li", PASSWORD, DOCTOR_PC).ok
    finally:
        other_db.dispose()


def test_the_cli_of_another_process_sees_the_lock(db) -> None:
    staff = StaffService(db, hasher=fast())
    staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    for i in range(MAX_FAILURES):
        staff.authenticate("dr.li", f"guess {i}", ATTACKER)
    env = {"MEDBOT_DATABASE_URL": db.url, "PATH": "/usr/bin:/bin",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    listed = subprocess.run([sys.executable, "-m", "bot", "doctor", "list"], env=env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert f"locked from {ATTACKER}" in listed.stdout
    unlocked = subprocess.run([sys.executable, "-m", "bot", "doctor", "unlock", "dr.li"],
                              env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=120)
    assert unlocked.returncode == 0, unlocked.stderr
    assert staff.authenticate("dr.li", PASSWORD, ATTACKER).ok


def test_disable_and_password_reset_end_every_session(db, clock) -> None:
    staff = StaffService(db, clock, hasher=fast())
    sessions = SessionService(db, clock)
    li = staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    first, second = (sessions.create(li.id, li.auth_version) for _ in range(2))
    new_password = "another long passphrase"
    staff.set_password("dr.li", new_password)
    assert sessions.lookup(first.token) is None and sessions.lookup(second.token) is None
    assert not staff.authenticate("dr.li", PASSWORD, DOCTOR_PC).ok
    login = staff.authenticate("dr.li", new_password, DOCTOR_PC)
    assert login.ok
    # a login checked under the old password cannot make a live session after a reset
    stale = sessions.create(li.id, li.auth_version)
    assert sessions.lookup(stale.token) is None
    live = sessions.create(li.id, login.staff.auth_version)
    assert sessions.lookup(live.token) is not None
    staff.set_active("dr.li", False)
    assert sessions.lookup(live.token) is None
    assert staff.authenticate("dr.li", new_password, DOCTOR_PC).outcome == "inactive"
    staff.set_active("dr.li", True)
    assert staff.authenticate("dr.li", new_password, DOCTOR_PC).ok
    assert sessions.lookup(live.token) is None  # enabling again revives no session
    with pytest.raises(ValidationError):
        staff.set_password("dr.li", "short")
    with pytest.raises(NotFoundError):
        staff.set_active("nobody", False)
