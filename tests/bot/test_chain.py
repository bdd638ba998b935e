"""Hash-chained transcripts: `medbot transcript verify` catches edits and deletions."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.store.chain import verify
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.repositories import LoggedMessage, TranscriptService


def _chat(db: Database) -> None:
    service = TranscriptService(db)
    for i in range(3):
        service.log("rest", "c1", [LoggedMessage("patient", f"问题{i}", language="zh"),
                                   LoggedMessage("bot", f"回答{i}", language="zh")])
    service.log("wechat", "c2", [LoggedMessage("patient", "hello", channel_message_id="m1")])


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


def test_cli_exit_codes(sqlite_url: str, monkeypatch, capsys) -> None:
    db = Database(sqlite_url)
    upgrade(db)
    _chat(db)
    monkeypatch.setenv("MEDBOT_DATABASE_URL", sqlite_url)
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
