"""TriageRecord storage through TriageService on a migrated SQLite database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect

from bot.store.db import Database
from bot.store.migrate import current_revision, upgrade
from bot.triage.service import TriageService


@pytest.fixture()
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'triage.db'}")
    upgrade(database)
    yield database
    database.dispose()


def test_migration_creates_table(db):
    assert current_revision(db) is not None  # head (0002 or a later revision)
    with db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("triage_records")}
    assert {"level", "case_json", "ruleset", "departments_json", "red_flags_json"} <= columns


def test_decision_is_stored(db, triage):
    service = TriageService(db, triage)
    stored = service.assess_text("我想挂下周的心内科，刚才胸口压着疼还一直出汗", "zh",
                                 channel="wechat", conversation_id="conv-1")
    assert stored.result.level == "emergency" and stored.record_id > 0
    service.assess_text("流鼻涕两天", "zh", channel="wechat", conversation_id="conv-1")
    rows = service.records("conv-1")
    assert [r.level for r in rows] == ["emergency", "self_care"]
    first = rows[0]
    assert first.ruleset == triage.knowledge.ruleset
    assert json.loads(first.departments_json)[0] == "emergency"
    assert json.loads(first.red_flags_json)[0]["id"] == "cardiac_chest_pain"
    assert "chest_pain" in json.loads(first.case_json)["symptoms"]
    assert {r["rule"] for r in json.loads(first.reasons_json)} >= {"red_flag:cardiac_chest_pain"}


def test_level_constraint(db):
    from sqlalchemy.exc import IntegrityError

    from bot.store.triage_models import TriageRecord

    with pytest.raises(IntegrityError):
        with db.begin() as session:
            session.add(TriageRecord(channel="cli", case_json="{}", level="whenever",
                                     departments_json="[]", red_flags_json="[]",
                                     reasons_json="[]", ruleset="x"))
