"""Hash-chained transcripts: `medbot transcript verify` catches edits and deletions."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from bot.cli import main
from bot.console.audit import AuditLog
from bot.store.audit_models import AuditEvent
from bot.store.chain import GENESIS, verify, verify_audit
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.repositories import LoggedMessage, TranscriptService

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _chat(db: Database) -> None:
    service = TranscriptService(db)
    for i in range(3):
        service.log("rest", "c1", [LoggedMessage("patient", f"问题{i}", language="zh"),
                                   LoggedMessage("bot", f"回答{i}", language="zh")], "c1")
    service.log("wechat", "c2", [LoggedMessage("patient", "hello", channel_message_id="m1")],
                "c2")


def test_an_untouched_transcript_verifies(db: Database) -> None:
    _chat(db)
    report = verify(db)
    assert report.ok and report.messages == 7 and report.conversations == 2


@pytest.mark.parametrize("tamper, kind", [
    ("UPDATE messages SET text = '改过了' WHERE conversation_id = 'c1' AND seq = 2", "edited"),
    ("UPDATE messages SET role = 'doctor' WHERE conversation_id = 'c1' AND seq = 1", "edited"),
    ("DELETE FROM messages WHERE conversation_id = 'c1' AND seq = 3", "missing"),
])
def test_direct_database_edits_are_detected(db: Database, tamper: str, kind: str) -> None:
    _chat(db)
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    report = verify(db)
    assert not report.ok
    assert {p.kind for p in report.problems} == {kind}
    assert all(p.conversation_id == "c1" for p in report.problems)


def test_cli_exit_codes(sqlite_url: str, tmp_path, monkeypatch, capsys) -> None:
    db = Database(sqlite_url)
    upgrade(db)
    _chat(db)
    monkeypatch.setenv("MEDBOT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["transcript", "verify"]) == 0
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE messages SET text = 'x' WHERE id = 1"))
    db.dispose()
    assert main(["transcript", "verify"]) == 1
    assert "TAMPERED" in capsys.readouterr().out


def test_existing_rows_are_sealed_by_the_migration(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    upgrade(db, "0005")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO patients (channel, external_id, created_at, updated_at) "
                          "VALUES ('rest', 'old', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        for i in range(3):
            conn.execute(text(
                "INSERT INTO messages (patient_id, conversation_id, channel, role, text, "
                "created_at) VALUES (1, 'old', 'rest', 'patient', :t, '2026-01-01 00:00:0' || :i)"),
                {"t": f"m{i}", "i": str(i)})
    upgrade(db)
    assert verify(db).ok and verify(db).messages == 3
    TranscriptService(db).log("rest", "old", [LoggedMessage("bot", "after the migration")])
    assert verify(db).ok
    db.dispose()


def test_cli_verify_without_anchor_file(sqlite_url: str, tmp_path, monkeypatch, capsys) -> None:
    db = Database(sqlite_url)
    upgrade(db)
    _chat(db)
    db.dispose()
    monkeypatch.setenv("MEDBOT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["transcript", "verify"]) == 0
    assert "no anchor file" in capsys.readouterr().out
    assert main(["transcript", "verify", "--require-anchors"]) == 1
    assert not (tmp_path / "data" / "keys").exists()  # verify creates no key


# ------------------------------------------------------------------ the audit chain
def _events(db: Database, count: int, start: int = 0) -> None:
    with db.begin() as session:  # several events in one flush continue each other
        session.add_all([AuditEvent(actor="cli", action="export", detail=f"n={start + i}",
                                    created_at=T0 + timedelta(seconds=start + i))
                         for i in range(count)])


def test_audit_events_are_sealed_on_insert(db: Database) -> None:
    _events(db, 3)
    _events(db, 2, start=3)
    with db.begin() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS and all(
        b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    report = verify_audit(db)
    assert report.ok and (report.events, report.last_seq) == (5, 5)


def test_audit_time_is_sealed_in_utc(db: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    with db.begin() as session:
        session.add(AuditEvent(actor="cli", action="export", created_at=T0.astimezone(beijing)))
        session.add(AuditEvent(actor="cli", action="export", created_at=T0.replace(tzinfo=None)))
    assert verify_audit(db).ok


def test_a_rolled_back_savepoint_leaves_no_gap(db: Database) -> None:
    _events(db, 1)
    with db.begin() as session:
        nested = session.begin_nested()
        session.add(AuditEvent(actor="cli", action="export", created_at=T0))
        session.flush()
        nested.rollback()
        session.add(AuditEvent(actor="cli", action="export", created_at=T0))
    report = verify_audit(db)
    assert report.ok and report.last_seq == 2


def test_concurrent_audit_writers_keep_one_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(10):
                AuditLog(db).record("export", actor="cli", detail=f"{i}-{j}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    report = verify_audit(db)
    assert report.ok and (report.events, report.last_seq) == (40, 40)


def test_existing_audit_events_are_sealed_by_the_migration(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    upgrade(db, "0011")
    with db.engine.begin() as conn:
        for i in range(3):
            conn.execute(text(
                "INSERT INTO audit_events (actor, action, detail, created_at) "
                "VALUES ('admin', 'staff.create', :d, '2026-01-01 00:00:0' || :i)"),
                {"d": f"user {i}", "i": str(i)})
    upgrade(db)
    assert verify_audit(db).ok and verify_audit(db).last_seq == 3
    _events(db, 1)
    report = verify_audit(db)
    assert report.ok and report.last_seq == 4
    db.dispose()


# ------------------------------------------------------------------ medbot transcript anchor
def test_cli_anchor_and_verify(sqlite_url, tmp_path, monkeypatch, capsys) -> None:
    """A cut tail, then a deleted conversation (named by its tag), then a lost key."""
    db = Database(sqlite_url)
    upgrade(db)
    TranscriptService(db).log("rest", "alice-1234", [
        LoggedMessage("patient", f"问题{i}") for i in range(4)], "rest:alice-1234")
    monkeypatch.setenv("MEDBOT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["transcript", "anchor"]) == 0
    assert "wrote line 1" in capsys.readouterr().out
    assert main(["transcript", "anchor"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["transcript", "verify", "--require-anchors"]) == 0
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM messages WHERE seq = 4"))
    db.dispose()
    assert main(["transcript", "verify"]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED conversation rest:al…34: message id=None seq=4: truncated" in out
    assert "alice-1234" not in out
    db = Database(sqlite_url)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM messages"))
    db.dispose()
    assert main(["transcript", "verify"]) == 1
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("TAMPERED")]
    assert line.startswith("TAMPERED conversation with anchor tag ") and line.endswith("deleted")
    (tmp_path / "data" / "keys" / "anchor.key").unlink()
    assert main(["transcript", "verify"]) == 1
    assert "anchor key does not" in capsys.readouterr().out
