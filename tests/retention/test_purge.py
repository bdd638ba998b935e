"""The retention purge: expired transcript prefixes, checkpoints that keep verify working,
other expired records, and the erasure of locked patients."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from bot.cli import main
from bot.clock import utcnow
from bot.errors import ConfigError
from bot.retention import MIN_RETENTION_DAYS, RetentionConfig, RetentionService
from bot.retention_rules import pseudonym
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.audit_models import AuditEvent
from bot.store.chain import GENESIS, seal, verify
from bot.store.consent_models import ConsentPrompt, ConsentRecord
from bot.store.db import Database
from bot.store.integrity import verify_all
from bot.store.migrate import upgrade
from bot.store.models import Message, Patient, TranscriptCheckpoint
from bot.store.reminder_models import Dose, MedicationReminder, Reading
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.triage_models import TriageRecord

RETENTION = timedelta(days=MIN_RETENTION_DAYS)


def _say(db: Database, conversation: str, *texts: str) -> None:
    TranscriptService(db).log("rest", conversation, [
        LoggedMessage("patient" if i % 2 == 0 else "bot", t, language="zh")
        for i, t in enumerate(texts)], conversation)


def _rows(db: Database) -> dict[str, list[tuple[int, str]]]:
    with db.begin() as session:
        rows = session.execute(select(Message.conversation_id, Message.seq, Message.hash)
                               .order_by(Message.conversation_id, Message.seq)).all()
    out: dict[str, list[tuple[int, str]]] = {}
    for conversation_id, seq, digest in rows:
        out.setdefault(conversation_id, []).append((seq, digest))
    return out


@pytest.fixture
def timeline(db: Database) -> tuple[datetime, dict[str, list[tuple[int, str]]]]:
    """c1: 3 old + 2 new messages, c2: 2 old, c3: 2 new; returns the boundary and the rows."""
    _say(db, "c1", "旧1", "旧2", "旧3")
    _say(db, "c2", "old a", "old b")
    time.sleep(0.02)
    boundary = utcnow()
    time.sleep(0.02)
    _say(db, "c1", "新4", "新5")
    _say(db, "c3", "new a", "new b")
    return boundary, _rows(db)


def _checkpoints(db: Database) -> dict[str, tuple[int, str]]:
    with db.begin() as session:
        return {c.conversation_id: (c.purged_through_seq, c.last_hash)
                for c in session.execute(select(TranscriptCheckpoint)).scalars()}


def test_purge_removes_exactly_the_expired_prefix_and_verify_still_passes(db, timeline) -> None:
    boundary, before = timeline
    report = RetentionService(db).purge(boundary + RETENTION)
    assert report.counts["messages"] == 5 and report.conversations == 2
    after = _rows(db)
    assert after == {"c1": before["c1"][3:], "c3": before["c3"]}
    assert _checkpoints(db) == {"c1": (3, before["c1"][2][1]), "c2": (2, before["c2"][1][1])}
    result = verify(db)
    assert result.ok, result.problems
    assert (result.conversations, result.messages) == (2, 4)


def test_a_later_purge_moves_the_checkpoint(db, timeline) -> None:
    boundary, before = timeline
    service = RetentionService(db)
    service.purge(boundary + RETENTION)
    report = service.purge(boundary + RETENTION + timedelta(days=1))
    assert report.counts["messages"] == 4
    assert _rows(db) == {}
    assert _checkpoints(db)["c1"] == (5, before["c1"][4][1])
    assert service.purge(boundary + RETENTION + timedelta(days=2)).total == 0


@pytest.mark.parametrize("tamper, kind", [
    ("DELETE FROM messages WHERE conversation_id = 'c1' AND seq = 4", "missing"),
    ("UPDATE messages SET text = '改过了' WHERE conversation_id = 'c1' AND seq = 5", "edited"),
    ("UPDATE messages SET text = '改过了' WHERE conversation_id = 'c1' AND seq = 4", "edited"),
    ("UPDATE transcript_checkpoints SET last_hash = '" + "1" * 64 + "' "
     "WHERE conversation_id = 'c1'", "relinked"),
    ("UPDATE transcript_checkpoints SET purged_through_seq = 2 WHERE conversation_id = 'c1'",
     "missing"),
])
def test_tampering_after_a_purge_is_still_detected(db, timeline, tamper, kind) -> None:
    boundary, _ = timeline
    RetentionService(db).purge(boundary + RETENTION)
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    report = verify(db)
    assert not report.ok
    assert kind in {p.kind for p in report.problems}
    assert {p.conversation_id for p in report.problems} == {"c1"}


def test_a_broken_prefix_is_kept_as_evidence(db, timeline) -> None:
    boundary, _ = timeline
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM messages WHERE conversation_id = 'c1' AND seq = 2"))
    report = RetentionService(db).purge(boundary + RETENTION)
    assert report.broken == ["c1"]
    assert [seq for seq, _ in _rows(db)["c1"]] == [1, 3, 4, 5]
    assert "c1" not in _checkpoints(db)
    assert report.counts["messages"] == 2  # c2 is still purged


def test_dry_run_counts_and_changes_nothing(db, timeline) -> None:
    boundary, before = timeline
    service = RetentionService(db)
    dry = service.purge(boundary + RETENTION, dry_run=True)
    assert dry.dry_run and dry.counts["messages"] == 5 and dry.conversations == 2
    assert _rows(db) == before and _checkpoints(db) == {}
    with db.begin() as session:
        assert session.execute(select(func.count(AuditEvent.id))).scalar_one() == 0
    real = service.purge(boundary + RETENTION)
    assert real.counts == dry.counts
    with db.begin() as session:
        audit = session.execute(select(AuditEvent)).scalar_one()
    assert (audit.actor, audit.action) == ("system", "retention.purge")


def test_a_conversation_continues_its_chain_after_a_full_purge(db, timeline) -> None:
    boundary, _ = timeline
    RetentionService(db).purge(boundary + RETENTION)
    _say(db, "c2", "I am back")
    with db.begin() as session:
        row = session.execute(select(Message).where(Message.conversation_id == "c2")).scalar_one()
    assert (row.seq, row.prev_hash != GENESIS) == (3, True)
    assert verify(db).ok


# ------------------------------------------------------------------ other records
def _patient_id(db: Database, external_id: str) -> int:
    with db.begin() as session:
        return session.execute(select(Patient.id).where(
            Patient.external_id == external_id)).scalar_one()


def _reminder(session, patient_id: int, status: str, dose_at: datetime) -> int:
    reminder = MedicationReminder(patient_id=patient_id, drug_id="metformin", dose="500mg",
                                  times_json='["08:00"]', start_date=date(2020, 1, 1),
                                  timezone="Asia/Shanghai", language="zh", status=status,
                                  updated_at=dose_at)
    session.add(reminder)
    session.flush()
    session.add(Dose(reminder_id=reminder.id, patient_id=patient_id, scheduled_at=dose_at,
                     status="taken"))
    return reminder.id


def _triage(patient_id: int, at: datetime) -> TriageRecord:
    return TriageRecord(patient_id=patient_id, conversation_id="p", case_json="{}",
                        level="routine", departments_json="[]", red_flags_json="[]",
                        reasons_json="[]", ruleset="test", created_at=at)


def _count(db: Database, model) -> int:
    with db.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_other_expired_records_are_purged_and_the_proof_is_kept(db) -> None:
    _say(db, "p", "你好")
    pid = _patient_id(db, "p")
    now = utcnow()
    old, recent = now - RETENTION - timedelta(days=30), now - timedelta(days=30)
    with db.begin() as session:
        session.add_all([_triage(pid, old), _triage(pid, recent)])
        for at in (old, recent):
            session.add(Reading(patient_id=pid, kind="bp", systolic=130, diastolic=85,
                                unit="mmHg", level="normal", measured_at=at, created_at=at))
        _reminder(session, pid, "finished", old)   # ended: its old dose and itself go
        _reminder(session, pid, "active", old)     # active: its history stays
        prompt = dict(patient_id=pid, conversation_id="p", purpose="handoff", text_version="v1",
                      text_sha256="a" * 64, language="zh", created_at=old)
        session.add(ConsentPrompt(**prompt, status="answered", answered_at=old))
        session.add(ConsentPrompt(**{**prompt, "purpose": "health_data"}, status="pending"))
        session.add(ConsentRecord(patient_id=pid, purpose="health_data", text_version="v1",
                                  text_sha256="a" * 64, language="zh", decision="granted",
                                  created_at=old))
        session.add(AuditEvent(actor="system", action="transcript.view", patient_id=pid,
                               created_at=old))
    report = RetentionService(db).purge(now)
    assert {k: report.counts[k] for k in ("triage_records", "readings", "doses",
                                          "medication_reminders", "consent_prompts")} == \
        {"triage_records": 1, "readings": 1, "doses": 1, "medication_reminders": 1,
         "consent_prompts": 1}
    assert "messages" not in report.counts
    assert (_count(db, TriageRecord), _count(db, Reading), _count(db, Dose),
            _count(db, MedicationReminder), _count(db, ConsentPrompt)) == (1, 1, 1, 1, 1)
    assert _count(db, ConsentRecord) == 1
    assert _count(db, AuditEvent) == 2  # the old one and the purge's own


def test_a_locked_patient_is_erased_once_every_message_is_purged(db) -> None:
    _say(db, "locked", "删除我的数据")
    _say(db, "kept", "hello")
    locked, kept = _patient_id(db, "locked"), _patient_id(db, "kept")
    now = utcnow()
    with db.begin() as session:
        session.get(Patient, locked).access_locked_at = now
        for pid in (locked, kept):  # things the age rules alone would keep
            _reminder(session, pid, "active", now + timedelta(days=1))
            session.add(ConsentPrompt(patient_id=pid, conversation_id="x", purpose="handoff",
                                      text_version="v1", text_sha256="a" * 64, language="zh",
                                      status="pending"))
        session.add(ConsentRecord(patient_id=locked, purpose="health_data", text_version="v1",
                                  text_sha256="a" * 64, language="zh", decision="withdrawn"))
    key = bytes(range(32))
    service = RetentionService(db, erasure_key=key)
    assert service.purge(now).erased_patients == 0  # messages still within retention

    dry = service.purge(now + RETENTION + timedelta(days=1), dry_run=True)
    assert dry.erased_patients == 1 and dry.counts["consent_prompts"] == 1
    report = service.purge(now + RETENTION + timedelta(days=1))
    assert report.erased_patients == 1
    assert report.counts["medication_reminders"] == 1 and report.counts["doses"] == 1
    with db.begin() as session:
        erased, other = session.get(Patient, locked), session.get(Patient, kept)
        assert erased.external_id == pseudonym("rest", "locked", key)
        assert erased.external_id != pseudonym("rest", "locked", bytes(32))  # keyed
        assert erased.preferred_language is None and other.external_id == "kept"
        reminders = session.execute(select(MedicationReminder.patient_id)).scalars().all()
        prompts = session.execute(select(ConsentPrompt.patient_id)).scalars().all()
        assert reminders == [kept] and prompts == [kept]
        assert session.execute(select(ConsentRecord.patient_id)).scalars().all() == [locked]
        assert session.execute(select(AuditEvent.action).where(
            AuditEvent.patient_id == locked)).scalars().all() == ["retention.erase"]
    assert service.purge(now + RETENTION + timedelta(days=2)).erased_patients == 0


# ------------------------------------------------------------------ configuration
def _config(**env: str) -> RetentionConfig:
    return RetentionConfig.from_settings(Settings.from_env(env))


def test_retention_defaults_to_three_years_and_refuses_less() -> None:
    assert _config().days == 1096
    assert _config(MEDBOT_RETENTION_DAYS="3650").days == 3650
    for short in ("1095", "365", "0"):
        with pytest.raises(ConfigError, match="3 years|at least 1"):
            _config(MEDBOT_RETENTION_DAYS=short)
    assert _config(MEDBOT_RETENTION_DAYS="30", MEDBOT_RETENTION_ALLOW_SHORT="1").days == 30
    with pytest.raises(ConfigError):
        _config(MEDBOT_RETENTION_DAYS="three years")


def test_cli_refuses_a_short_retention_and_purges(sqlite_url, tmp_path, monkeypatch,
                                                  capsys) -> None:
    db = Database(sqlite_url)
    upgrade(db)
    _say(db, "c", "hi")
    db.dispose()
    monkeypatch.setenv("MEDBOT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDBOT_RETENTION_DAYS", "30")
    assert main(["retention", "purge"]) == 2
    assert "3 years" in capsys.readouterr().err
    monkeypatch.setenv("MEDBOT_RETENTION_ALLOW_SHORT", "1")
    assert main(["retention", "purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "nothing to purge" in out


# ------------------------------------------------------------------ signed checkpoints
def test_each_checkpoint_is_signed_and_verifies_against_the_anchors(db, timeline,
                                                                    tmp_path) -> None:
    boundary, before = timeline
    anchors = AnchorLog(tmp_path / "chain.jsonl", bytes(range(32)))
    anchors.anchor(db, boundary)
    RetentionService(db, anchors=anchors).purge(boundary + RETENTION)
    state = anchors.read()
    assert state.purged == {anchors.tag("c1"): {(3, before["c1"][2][1])},
                            anchors.tag("c2"): {(2, before["c2"][1][1])}}
    assert verify_all(db, anchors).ok
    with db.engine.begin() as conn:  # a checkpoint moved on to hide two more deletions
        conn.execute(text("DELETE FROM messages WHERE conversation_id = 'c1'"))
        conn.execute(text("UPDATE transcript_checkpoints SET purged_through_seq = 5, "
                          "last_hash = :h WHERE conversation_id = 'c1'"),
                     {"h": before["c1"][4][1]})
    assert verify(db).ok
    assert {(p.conversation_id, p.kind) for p in verify_all(db, anchors).problems} == \
        {("c1", "checkpoint_not_anchored")}


def test_no_checkpoint_is_committed_when_it_cannot_be_signed(db, timeline, tmp_path) -> None:
    boundary, before = timeline
    unwritable = tmp_path / "chain.jsonl"
    unwritable.mkdir()  # opening it for writing fails
    with pytest.raises(OSError):
        RetentionService(db, anchors=AnchorLog(unwritable, bytes(range(32)))).purge(
            boundary + RETENTION)
    assert _rows(db) == before and _checkpoints(db) == {}


def test_from_settings_signs_into_the_configured_anchor_file(db, tmp_path) -> None:
    settings = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "data"),
                                  "MEDBOT_ANCHOR_FILE": str(tmp_path / "a.jsonl")})
    service = RetentionService.from_settings(db, settings)
    assert service.anchors is not None and service.anchors.path == tmp_path / "a.jsonl"


def _old_conversation(db: Database, conversation: str, count: int) -> None:
    """Messages of 2020, sealed as ``MessageRepository.append`` seals them."""
    with db.begin() as session:
        patient = Patient(channel="rest", external_id=conversation.partition(":")[2])
        session.add(patient)
        session.flush()
        prev = GENESIS
        for seq in range(1, count + 1):
            row = Message(patient_id=patient.id, conversation_id=conversation, channel="rest",
                          role="patient", text=f"m{seq}", seq=seq, prev_hash=prev,
                          created_at=datetime(2020, 1, 1, tzinfo=timezone.utc)
                          + timedelta(seconds=seq))
            row.hash = seal(prev, row)
            session.add(row)
            prev = row.hash


def test_cli_purge_signs_its_checkpoints(sqlite_url, tmp_path, monkeypatch, capsys) -> None:
    db = Database(sqlite_url)
    upgrade(db)
    _old_conversation(db, "rest:old-one", 3)
    db.dispose()
    for name, value in {"MEDBOT_DATABASE_URL": sqlite_url, "MEDBOT_RETENTION_DAYS": "30",
                        "MEDBOT_RETENTION_ALLOW_SHORT": "1",
                        "MEDBOT_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    assert main(["transcript", "anchor"]) == 0
    assert main(["retention", "purge"]) == 0
    assert "messages               deleted 3" in capsys.readouterr().out
    assert main(["transcript", "verify", "--require-anchors"]) == 0, capsys.readouterr().out
