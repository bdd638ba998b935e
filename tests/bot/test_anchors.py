"""Signed anchors outside the database: `medbot transcript verify` finds a cut tail, a deleted
conversation, a recomputed chain, audit tampering and forged checkpoints once an anchor was
written, and an edited or removed anchor line."""

from __future__ import annotations

import json
import logging
import stat
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.retention import MIN_RETENTION_DAYS, RetentionService
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.audit_models import AuditEvent
from bot.store.chain import seal, seal_audit, verify, verify_audit
from bot.store.db import Database
from bot.store.integrity import verify_all
from bot.store.models import Message, TranscriptCheckpoint
from bot.store.repositories import LoggedMessage, TranscriptService

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
FAR = datetime(2100, 1, 1, tzinfo=timezone.utc)  # every message is past retention
KEY = bytes(range(32))
ALICE, BOB = "rest:alice-1234", "wechat:oXYZ98765"


@pytest.fixture
def anchors(tmp_path: Path) -> AnchorLog:
    return AnchorLog(tmp_path / "anchors" / "chain.jsonl", KEY)


def _say(db: Database, conversation: str, *texts: str) -> None:
    channel, _, external_id = conversation.partition(":")
    TranscriptService(db).log(channel, external_id, [
        LoggedMessage("patient" if i % 2 == 0 else "bot", t, language="zh")
        for i, t in enumerate(texts)], conversation)


def _audit(db: Database, *actions: str) -> None:
    with db.begin() as session:
        session.add_all([AuditEvent(actor="dr_li", action=a, detail=f"via=test {i}",
                                    created_at=T0 + timedelta(seconds=i))
                         for i, a in enumerate(actions)])


@pytest.fixture
def world(db: Database, anchors: AnchorLog) -> Database:
    """ALICE: 6 messages, BOB: 1, three audit events; then one anchor line."""
    _say(db, ALICE, "问题1", "回答1", "问题2")
    _say(db, ALICE, "回答2", "问题3", "回答3")
    _say(db, BOB, "hello")
    _audit(db, "transcript.view", "handoff.claim", "handoff.reply")
    assert len(anchors.anchor(db, T0)) == 1
    return db


def _found(db: Database, anchors: AnchorLog) -> set[tuple[str, object, str]]:
    """(class, conversation, kind); a conversation with nothing left is known by its tag."""
    tags = {anchors.tag(c): c for c in (ALICE, BOB)}
    return {(type(p).__name__, getattr(p, "conversation_id", None)  # type: ignore[attr-defined]
             or tags.get(getattr(p, "tag", None)), p.kind)  # type: ignore[arg-type]
            for p in verify_all(db, anchors).problems}


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _recompute_messages(db: Database, conversation: str) -> None:
    with db.begin() as session:
        rows = session.execute(select(Message).where(Message.conversation_id == conversation)
                               .order_by(Message.seq)).scalars().all()
        prev = rows[0].prev_hash
        for row in rows:
            row.prev_hash, row.hash = prev, seal(prev, row)
            prev = row.hash


def _recompute_audit(db: Database) -> None:
    with db.begin() as session:
        prev = "0" * 64
        for row in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
            row.prev_hash, row.hash = prev, seal_audit(prev, row)
            prev = row.hash


# ------------------------------------------------------------------ clean states
def test_an_untouched_database_verifies_clean_and_anchors_are_incremental(world, anchors
                                                                           ) -> None:
    report = verify_all(world, anchors)
    assert report.ok, report.problems
    assert (report.anchors.lines, report.anchors.anchored()) == (
        1, {anchors.tag(ALICE), anchors.tag(BOB)})
    text_of_file = anchors.path.read_text()
    assert "alice" not in text_of_file and "oXYZ" not in text_of_file  # no ids outlive erasure
    _say(world, ALICE, "later")  # after the last anchor: not covered, not a problem
    assert verify_all(world, anchors).ok
    [line] = anchors.anchor(world, T0 + timedelta(minutes=5))
    assert (line["n"], list(line["conversations"]), line["audit"][0]) == (
        2, [anchors.tag(ALICE)], 3)
    assert anchors.anchor(world, T0 + timedelta(minutes=10)) == []  # nothing changed
    assert verify_all(world, anchors).ok
    mode = stat.S_IMODE(anchors.path.stat().st_mode)
    assert mode == 0o600


def test_without_an_anchor_file_only_the_database_is_checked(world, tmp_path) -> None:
    report = verify_all(world, AnchorLog(tmp_path / "none.jsonl", KEY))
    assert report.ok and report.anchors is None


# ------------------------------------------------------------------ the four tamperings
def test_a_cut_tail_is_detected(world, anchors) -> None:
    _sql(world, "DELETE FROM messages WHERE conversation_id = :c AND seq >= 5", c=ALICE)
    assert verify(world).ok  # the chain in the database still links
    assert _found(world, anchors) == {("ChainProblem", ALICE, "truncated")}


def test_a_cut_tail_is_not_laundered_by_later_anchors(world, anchors, caplog) -> None:
    _sql(world, "DELETE FROM messages WHERE conversation_id = :c AND seq >= 5", c=ALICE)
    _sql(world, "DELETE FROM audit_events WHERE seq = 3")
    _say(world, ALICE, "a new seq 5")  # continues the cut chain
    _audit(world, "login")  # a new seq 3
    with caplog.at_level(logging.ERROR, logger="bot.store.anchors"):
        assert anchors.anchor(world, T0 + timedelta(minutes=5))
    assert "anchor.regressed conversation_id=rest:al…34" in caplog.text
    assert "anchor.regressed audit" in caplog.text
    assert _found(world, anchors) == {("ChainProblem", ALICE, "truncated"),
                                      ("AuditProblem", None, "recomputed")}


@pytest.mark.parametrize("purged_first", [False, True])
def test_a_deleted_conversation_is_detected(world, anchors, purged_first) -> None:
    if purged_first:  # its messages were purged (signed checkpoint), then it all went
        RetentionService(world, anchors=anchors).purge(FAR)
        assert verify_all(world, anchors).ok
    _sql(world, "DELETE FROM messages WHERE conversation_id = :c", c=BOB)
    _sql(world, "DELETE FROM transcript_checkpoints WHERE conversation_id = :c", c=BOB)
    assert verify(world).ok
    assert _found(world, anchors) == {("ChainProblem", BOB, "deleted")}


def test_a_recomputed_chain_is_detected(world, anchors) -> None:
    _sql(world, "UPDATE messages SET text = '改过了' WHERE conversation_id = :c AND seq = 2",
         c=ALICE)
    assert _found(world, anchors) == {("ChainProblem", ALICE, "edited")}
    _recompute_messages(world, ALICE)
    assert verify(world).ok  # the database alone cannot tell
    assert _found(world, anchors) == {("ChainProblem", ALICE, "recomputed")}


@pytest.mark.parametrize("tamper, found, alone", [
    ("UPDATE audit_events SET detail = 'nothing' WHERE seq = 2", "edited", False),
    ("UPDATE audit_events SET actor = 'someone' WHERE seq = 1", "edited", False),
    ("DELETE FROM audit_events WHERE seq = 2", "missing", False),
    ("DELETE FROM audit_events WHERE seq = 3", "truncated", True),
    ("DELETE FROM audit_events", "deleted", True),
    ("UPDATE audit_events SET detail = 'nothing' WHERE seq = 2; recompute", "recomputed", True),
])
def test_audit_tampering_is_detected(world, anchors, tamper, found, alone) -> None:
    _sql(world, tamper.removesuffix("; recompute"))
    if tamper.endswith("recompute"):
        _recompute_audit(world)
    assert verify_audit(world).ok is alone  # True: only the anchor finds it
    assert ("AuditProblem", None, found) in _found(world, anchors)


def test_staff_and_handoff_links_may_be_cleared(world, anchors) -> None:
    """ON DELETE SET NULL columns are not sealed: deleting an account is not tampering."""
    _sql(world, "UPDATE audit_events SET staff_id = NULL, handoff_id = NULL")
    assert verify_all(world, anchors).ok


# ------------------------------------------------------------------ checkpoints
def test_a_forged_checkpoint_hiding_a_deletion_is_detected(world, anchors) -> None:
    with world.begin() as session:
        last = session.execute(select(Message.seq, Message.hash).where(
            Message.conversation_id == ALICE).order_by(Message.seq.desc()).limit(1)).one()
    _sql(world, "DELETE FROM messages WHERE conversation_id = :c", c=ALICE)
    with world.begin() as session:  # looks exactly like a purge of everything
        session.add(TranscriptCheckpoint(conversation_id=ALICE, purged_through_seq=last.seq,
                                         last_hash=last.hash, purged_at=T0))
    assert verify(world).ok
    assert _found(world, anchors) == {("ChainProblem", ALICE, "checkpoint_not_anchored")}


def test_a_purge_without_signed_records_is_reported(world, anchors) -> None:
    RetentionService(world).purge(FAR)
    assert verify(world).ok
    assert _found(world, anchors) == {("ChainProblem", ALICE, "checkpoint_not_anchored"),
                                      ("ChainProblem", BOB, "checkpoint_not_anchored")}


def test_a_partial_purge_after_anchoring_verifies_clean(db, anchors) -> None:
    _say(db, ALICE, "旧1", "旧2", "旧3")
    time.sleep(0.01)  # the next messages are stored strictly later
    _say(db, ALICE, "新4", "新5")
    anchors.anchor(db, T0)
    with db.begin() as session:
        boundary = session.execute(select(Message.created_at).where(
            Message.conversation_id == ALICE, Message.seq == 4)).scalar_one()
    service = RetentionService(db, anchors=anchors)
    report = service.purge(boundary.replace(tzinfo=boundary.tzinfo or timezone.utc)
                           + timedelta(days=MIN_RETENTION_DAYS))
    assert report.counts["messages"] == 3
    assert verify_all(db, anchors).ok
    _say(db, ALICE, "新6")
    anchors.anchor(db, T0 + timedelta(minutes=5))
    assert verify_all(db, anchors).ok
    _sql(db, "DELETE FROM messages WHERE conversation_id = :c AND seq = 6", c=ALICE)
    assert _found(db, anchors) == {("ChainProblem", ALICE, "truncated")}


def test_the_first_anchor_adopts_existing_checkpoints(db, anchors) -> None:
    _say(db, BOB, "old")
    RetentionService(db).purge(FAR)
    [line] = anchors.anchor(db, T0)
    assert list(line["purged"]) == [anchors.tag(BOB)] and line["conversations"] == {}
    assert verify_all(db, anchors).ok
    _say(db, ALICE, "a", "b", "c")
    with db.begin() as session:
        third = session.execute(select(Message.hash).where(
            Message.conversation_id == ALICE, Message.seq == 3)).scalar_one()
    anchors.record_purges({ALICE: (3, third)}, T0)  # signed, then the purge rolled back
    assert verify_all(db, anchors).ok


# ------------------------------------------------------------------ the anchor file
def _lines(anchors: AnchorLog) -> list[str]:
    return anchors.path.read_text().splitlines()


def _three_lines(db: Database, anchors: AnchorLog) -> list[str]:
    for minutes in (5, 10):
        _say(db, ALICE, f"more {minutes}")
        anchors.anchor(db, T0 + timedelta(minutes=minutes))
    return _lines(anchors)


def _edit(line: str) -> str:
    data = json.loads(line)
    data["conversations"] = {ALICE: [1, "f" * 64]}
    return json.dumps(data)


@pytest.mark.parametrize("change, kinds", [
    (lambda lines: [lines[0], _edit(lines[1]), lines[2]], {"bad_mac"}),
    (lambda lines: [lines[0], lines[2]], {"misnumbered", "broken_link"}),
    (lambda lines: lines[1:], {"misnumbered", "broken_link"}),
    (lambda lines: [lines[0], lines[2], lines[1]], {"misnumbered", "broken_link"}),
    (lambda lines: [lines[0], "{not json", *lines[1:]], {"unreadable", "misnumbered"}),
    (lambda lines: [lines[0], json.dumps({**json.loads(lines[1]), "mac": "é"}), lines[2]],
     {"bad_mac", "broken_link"}),
])
def test_an_edited_or_removed_anchor_line_is_reported(world, anchors, change, kinds) -> None:
    lines = _three_lines(world, anchors)
    assert verify_all(world, anchors).ok
    anchors.path.write_text("\n".join(change(lines)) + "\n")
    found = {p.kind for p in verify_all(world, anchors).problems}
    assert found == kinds


def test_a_wrong_key_fails_every_line(world, anchors) -> None:
    _three_lines(world, anchors)
    state = AnchorLog(anchors.path, bytes(32)).read()
    assert state.wrong_key and [p.kind for p in state.problems] == ["bad_mac"] * 3
    assert not verify_all(world, AnchorLog(anchors.path, bytes(32))).ok


def test_an_incomplete_line_left_by_a_crash_is_dropped_by_the_next_writer(world,
                                                                          anchors) -> None:
    with anchors.path.open("ab") as handle:
        handle.write(b'{"v":1,"n":2,"at":')
    assert {p.kind for p in verify_all(world, anchors).problems} == {"unreadable"}
    _say(world, BOB, "again")
    assert [line["n"] for line in AnchorLog(anchors.path, KEY).anchor(world, T0)] == [2]
    assert verify_all(world, anchors).ok


def test_concurrent_writers_keep_one_numbered_chain(tmp_path) -> None:
    path = tmp_path / "chain.jsonl"
    writers = [AnchorLog(path, KEY) for _ in range(4)]  # own file descriptions: flock

    def write(log: AnchorLog, i: int) -> None:
        for j in range(15):
            log.record_purges({f"rest:p{i}-{j}": (j + 1, f"{j:064x}")}, T0)

    threads = [threading.Thread(target=write, args=(w, i)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    state = AnchorLog(path, KEY).read()
    assert (state.lines, state.problems, len(state.purged)) == (60, [], 60)


def test_settings_place_the_file_and_key_outside_the_database(tmp_path) -> None:
    settings = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "data")})
    log = AnchorLog.from_settings(settings)
    assert log.path == tmp_path / "data" / "anchors" / "chain.jsonl"
    assert (tmp_path / "data" / "keys" / "anchor.key").exists()
    moved = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "data"),
                               "MEDBOT_ANCHOR_FILE": str(tmp_path / "elsewhere.jsonl"),
                               "MEDBOT_ANCHOR_KEY": "ab" * 32})
    other = AnchorLog.from_settings(moved)
    assert other.path == tmp_path / "elsewhere.jsonl" and other._key == bytes([0xAB]) * 32


def test_one_conversation_can_be_checked(world, anchors) -> None:
    _sql(world, "DELETE FROM messages WHERE conversation_id = :c", c=BOB)
    assert verify_all(world, anchors, ALICE).ok
    assert [p.kind for p in verify_all(world, anchors, BOB).problems] == ["deleted"]
