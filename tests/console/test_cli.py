"""``medbot doctor add|list|disable|enable|unlock|reset-password``."""

from __future__ import annotations

import io

import pytest

from bot.cli import main
from bot.console import audit as events
from bot.console.accounts import MAX_FAILURES, StaffService
from bot.console.audit import AuditLog
from bot.console.sessions import SessionService
from bot.console.throttle import ADDRESS_FAILURES
from tests.console.conftest import PASSWORD


@pytest.fixture
def env(db, monkeypatch):
    monkeypatch.setenv("MEDBOT_DATABASE_URL", db.url)
    return db


def test_add_with_password_stdin_then_list(env, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["doctor", "add", "dr.li", "--name", "李医生", "--department", "cardiology",
                 "--password-stdin"]) == 0
    assert "created doctor dr.li" in capsys.readouterr().out
    result = StaffService(env).authenticate("dr.li", PASSWORD)
    assert result.ok and result.staff.department_id == "cardiology"
    assert [e.action for e in AuditLog(env).entries()] == [events.STAFF_CREATE]
    assert main(["doctor", "list"]) == 0
    out = capsys.readouterr().out
    assert "dr.li" in out and "cardiology" in out and "1 account(s)" in out


def test_add_asks_twice_and_checks_the_department(env, monkeypatch, capsys) -> None:
    typed = iter([PASSWORD, PASSWORD, PASSWORD, "different password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert main(["doctor", "add", "dr.x", "--name", "X", "--department", "heart"]) == 2
    assert "unknown department" in capsys.readouterr().err
    assert main(["doctor", "add", "dr.y", "--name", "Y", "--department",
                 "general_practice"]) == 2
    assert "do not match" in capsys.readouterr().err
    assert StaffService(env).accounts() == []
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["doctor", "add", "root", "--name", "Admin", "--role", "admin",
                 "--password-stdin"]) == 0
    assert StaffService(env).accounts()[0].is_admin


def test_reset_password_reads_stdin_never_argv_and_ends_sessions(env, monkeypatch,
                                                                  capsys) -> None:
    staff = StaffService(env)
    li = staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    sessions = SessionService(env)
    live = sessions.create(li.id)
    with pytest.raises(SystemExit):  # there is no way to pass it on the command line
        main(["doctor", "reset-password", "dr.li", "a new long passphrase"])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("a new long passphrase\n"))
    assert main(["doctor", "reset-password", "dr.li", "--password-stdin"]) == 0
    assert "sessions have ended" in capsys.readouterr().out
    assert sessions.lookup(live.token) is None
    assert not staff.authenticate("dr.li", PASSWORD).ok
    assert staff.authenticate("dr.li", "a new long passphrase").ok
    typed = iter(["another passphrase!", "another passphrase!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert main(["doctor", "reset-password", "dr.li"]) == 0
    assert staff.authenticate("dr.li", "another passphrase!").ok
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["doctor", "reset-password", "dr.li", "--password-stdin"]) == 2
    assert main(["doctor", "reset-password", "nobody", "--password-stdin"]) == 2
    capsys.readouterr()
    assert [e.action for e in AuditLog(env).entries()] == [
        events.STAFF_PASSWORD_RESET, events.STAFF_PASSWORD_RESET]


def test_disable_enable_and_unlock(env, capsys) -> None:
    staff = StaffService(env)
    li = staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology")
    live = SessionService(env).create(li.id)
    assert main(["doctor", "disable", "dr.li"]) == 0
    assert SessionService(env).lookup(live.token) is None
    assert staff.authenticate("dr.li", PASSWORD).outcome == "inactive"
    assert main(["doctor", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["doctor", "enable", "dr.li"]) == 0
    assert staff.authenticate("dr.li", PASSWORD, "10.0.0.1").ok
    for i in range(MAX_FAILURES):
        staff.authenticate("dr.li", f"guess {i}", "203.0.113.9")
    for i in range(ADDRESS_FAILURES):
        staff.authenticate(f"user{i:02d}", "guess", "198.51.100.2")
    capsys.readouterr()
    assert main(["doctor", "list"]) == 0
    assert "locked from 203.0.113.9" in capsys.readouterr().out
    assert main(["doctor", "unlock", "dr.li"]) == 0
    assert staff.authenticate("dr.li", PASSWORD, "203.0.113.9").ok
    assert staff.authenticate("dr.li", PASSWORD, "198.51.100.2").outcome == "throttled"
    assert main(["doctor", "unlock", "--address", "198.51.100.2"]) == 0
    assert staff.authenticate("dr.li", PASSWORD, "198.51.100.2").ok
    assert main(["doctor", "unlock"]) == 2
    assert main(["doctor", "disable", "nobody"]) == 2
    assert [e.action for e in AuditLog(env).entries()] == [
        events.STAFF_UNLOCK, events.STAFF_UNLOCK, events.STAFF_ENABLE, events.STAFF_DISABLE]
