"""Queueing eligible requests; ineligible ones write nothing; the CLI reads the queue."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.appointments.interface import PatientRef
from bot.cli.revisits import print_queue
from bot.errors import ValidationError
from bot.revisits.service import DuplicateRevisitError, NotEligibleError
from bot.store.revisit_models import RevisitRequest
from tests.revisits.conftest import good_draft

ME = PatientRef("test", "openid-123456")


def _count(db) -> int:
    with db.begin() as s:
        return s.execute(select(func.count()).select_from(RevisitRequest)).scalar_one()


def test_eligible_request_is_queued(revisit_service, db) -> None:
    queued = revisit_service.submit(ME, good_draft(drug_ids=("amlodipine", "amlodipine")), "zh")
    assert queued.code.startswith("R") and queued.status == "queued"
    assert queued.department_id == "cardiology" and queued.drug_ids == ("amlodipine",)
    [item] = revisit_service.queue()
    assert item.code == queued.code and item.patient == ME and item.record_number == "MZ123"


def test_ineligible_request_writes_nothing(revisit_service, db) -> None:
    with pytest.raises(NotEligibleError) as err:
        revisit_service.submit(ME, good_draft(new_or_worse_symptoms=True))
    assert [r.key for r in err.value.reasons] == ["utter_revisit_reason_new_symptoms"]
    with pytest.raises(ValidationError):
        revisit_service.submit(ME, good_draft(drug_ids=("no_such_drug",)))
    assert _count(db) == 0


def test_one_open_request_per_condition(revisit_service, db) -> None:
    revisit_service.submit(ME, good_draft())
    with pytest.raises(DuplicateRevisitError):
        revisit_service.submit(ME, good_draft())
    with db.begin() as s:
        s.execute(update(RevisitRequest).values(status="completed"))
    revisit_service.submit(ME, good_draft())
    assert _count(db) == 2


def test_database_refuses_a_request_that_failed_the_screen(revisit_service, db) -> None:
    revisit_service.submit(ME, good_draft())
    with pytest.raises(IntegrityError), db.begin() as s:
        s.execute(update(RevisitRequest).values(new_or_worse_symptoms=True))


def test_screen_uses_the_injected_red_flag_screen(revisit_service) -> None:
    assert revisit_service.screen("最近有点胸痛") is not None
    assert revisit_service.screen("都挺好的") is None


def test_queue_printout(revisit_service, conditions, drugs) -> None:
    import io

    revisit_service.submit(ME, good_draft(drug_ids=("amlodipine", "metformin")))
    out = io.StringIO()
    print_queue(revisit_service.queue(), conditions, drugs, "zh", False, out)
    text = out.getvalue()
    assert "高血压" in text and "氨氯地平, 二甲双胍" in text and "openid-123456" not in text
    out = io.StringIO()
    print_queue(revisit_service.queue(), conditions, drugs, "en", True, out)
    row = json.loads(out.getvalue())
    assert row["renewal_requested"] == ["amlodipine", "metformin"]
    assert row["condition_name"] == "hypertension" and row["patient"] == "test:open***"


def test_cli_revisits_list(tmp_path, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEDBOT_DATABASE_URL", raising=False)
    assert main(["kb", "load"]) == 0
    assert main(["revisits", "list", "--status", "all"]) == 0
    assert "0 request(s)" in capsys.readouterr().out
