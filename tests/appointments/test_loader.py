"""``medbot kb load``: the timetable is checked, upserted idempotently, and follows edits."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from bot.appointments.dates import WhenSpec
from bot.appointments.loader import load_schedule
from bot.appointments.schedule import HospitalSchedule, WeeklySession
from bot.cli import main
from bot.errors import KnowledgeBaseError
from bot.settings import PROJECT_ROOT
from bot.store.appointment_models import Department, Doctor, ScheduleSession, Slot
from tests.appointments.conftest import NOW, patient


def _counts(db) -> tuple[int, ...]:
    with db.begin() as s:
        return tuple(s.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (Department, Doctor, ScheduleSession, Slot))


def test_demo_timetable_is_consistent(schedule) -> None:
    assert schedule.timezone == "Asia/Shanghai"
    assert len(schedule.doctors) >= 10
    assert schedule.department_ids() <= set(schedule.departments)
    for doctor in schedule.doctors:
        assert doctor.names["zh"] and doctor.names["en"] and doctor.schedule
    assert schedule.match_department("我想挂心血管内科") == "cardiology"
    assert schedule.match_department("endocrinology please") == "endocrinology"
    assert schedule.match_department("ENT") == "ent"
    assert schedule.match_department("随便") is None
    # the id as a word: "Dr Zhao in respiratory" (issue 15 item 7)
    assert schedule.match_department("see Dr Zhao in respiratory next week") == "respiratory"
    assert schedule.match_department("rent a car") is None


def test_load_is_idempotent(db, schedule) -> None:
    first = load_schedule(db, schedule, NOW)
    assert first.doctors == len(schedule.doctors) and first.slots_created > 0
    counts = _counts(db)
    second = load_schedule(db, schedule, NOW)
    assert second.slots_created == 0 and second.slots_removed == 0
    assert _counts(db) == counts


def test_reload_follows_edits_but_keeps_booked_slots(loaded_db, schedule, service) -> None:
    slot = service.availability("cardiology", WhenSpec(day=NOW.date() + timedelta(days=1),
                                                       session="am")).slots[0]
    assert slot.doctor_id == "card_wang"
    service.book(patient(), slot.slot_id, "张三", "13812345678")
    edited = dataclasses.replace(schedule, doctors=tuple(
        dataclasses.replace(d, schedule=(WeeklySession(1, "pm", 5),)) if d.id == "card_wang" else d
        for d in schedule.doctors if d.id != "neph_luo"))
    report = load_schedule(loaded_db, edited, NOW)
    assert report.deactivated == 1
    assert report.slots_kept_with_bookings == [slot.slot_id]
    assert report.slots_removed > 0
    with loaded_db.begin() as s:
        assert s.get(Doctor, "neph_luo").active is False
        kept = s.get(Slot, int(slot.slot_id))
        assert kept is not None and kept.booked == 1


def test_bad_timetable_is_refused(tmp_path) -> None:
    kb = PROJECT_ROOT / "knowledge_base"
    (tmp_path / "departments.yml").write_text((kb / "departments.yml").read_text("utf-8"), "utf-8")
    data = yaml.safe_load((kb / "hospital_schedule.yml").read_text("utf-8"))
    data["doctors"][0]["department"] = "no_such_department"
    (tmp_path / "hospital_schedule.yml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                    "utf-8")
    with pytest.raises(KnowledgeBaseError, match="no_such_department"):
        HospitalSchedule.load(tmp_path)


def test_cli_kb_load(tmp_path, monkeypatch, capsys, schedule) -> None:
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEDBOT_DATABASE_URL", raising=False)
    assert main(["kb", "load"]) == 0
    assert main(["kb", "load"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert f"{len(schedule.doctors)} doctors" in out[0] and "0 slots created" in out[1]
