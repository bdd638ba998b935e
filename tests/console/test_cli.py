"""``medbot doctor add|list``."""

from __future__ import annotations

import io

import pytest

from bot.cli import main
from bot.console import audit as events
from bot.console.accounts import StaffService
from bot.console.audit import AuditLog
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
