"""Only bookable departments are offered; the nearest bookable one and why otherwise
(issue 15 item 5: triage suggested 眼科, 感染科, 康复医学科, General Surgery)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.appointments.bookable import BookableDepartments
from bot.appointments.schedule import HospitalSchedule
from bot.errors import KnowledgeBaseError
from bot.kb import DEFAULT_KB_DIR


@pytest.fixture(scope="module")
def bookable() -> BookableDepartments:
    return BookableDepartments.load()


def test_bookable_means_a_doctor_in_the_timetable(bookable: BookableDepartments) -> None:
    schedule = HospitalSchedule.load()
    assert bookable.bookable == schedule.department_ids()
    for dep in ("ophthalmology", "infectious_diseases", "rehabilitation", "general_surgery",
                "emergency"):
        assert not bookable.is_bookable(dep)


def test_a_bookable_department_is_offered_itself(bookable: BookableDepartments) -> None:
    choice = bookable.bookable_alternative("cardiology")
    assert (choice.department, choice.reason, choice.substituted) == ("cardiology", None, False)


@pytest.mark.parametrize("ideal,offered,zh,en", [
    ("ophthalmology", "general_practice", "急诊", "emergency"),
    ("infectious_diseases", "general_practice", "发热门诊", "fever clinic"),
    ("rehabilitation", "orthopedics", "康复", "rehabilitation"),
    ("general_surgery", "gastroenterology", "外科", "surgeon"),
    ("urology", "nephrology", "泌尿外科", "urology"),
])
def test_the_departments_patients_were_offered_get_the_nearest_bookable_one(
        bookable: BookableDepartments, ideal: str, offered: str, zh: str, en: str) -> None:
    choice = bookable.bookable_alternative(ideal)
    assert choice.substituted and choice.department == offered
    assert zh in choice.reason["zh"] and en in choice.reason["en"]


def test_every_department_ends_bookable_or_with_a_reason(bookable: BookableDepartments) -> None:
    for dep in sorted(bookable.known):
        choice = bookable.bookable_alternative(dep)
        assert choice.department is None or bookable.is_bookable(choice.department), dep
        if choice.substituted:
            assert choice.reason and choice.reason["zh"] and choice.reason["en"], dep


def test_the_emergency_department_is_not_booked_but_walked_into(
        bookable: BookableDepartments) -> None:
    choice = bookable.bookable_alternative("emergency")
    assert choice.department is None
    assert "不需要预约" in choice.reason["zh"] and "no appointment" in choice.reason["en"]


def test_alternatives_follow_the_timetable(tmp_path: Path) -> None:
    """A hospital without neurologists offers the next alternative for neurosurgery."""
    schedule = HospitalSchedule.load()
    kb = _copy_kb(tmp_path)
    data = yaml.safe_load((kb / "hospital_schedule.yml").read_text("utf-8"))
    data["doctors"] = [d for d in data["doctors"] if d["department"] != "neurology"]
    (kb / "hospital_schedule.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    bookable = BookableDepartments.load(kb_dir=kb)
    assert "neurology" in schedule.department_ids() and not bookable.is_bookable("neurology")
    assert bookable.bookable_alternative("neurosurgery").department == "general_practice"
    # and an unlisted department falls back to the default
    assert bookable.bookable_alternative("neurology").department == "general_practice"


def test_nothing_bookable_offers_nothing(tmp_path: Path) -> None:
    schedule = HospitalSchedule.load()
    only_cardiology = BookableDepartments(
        {"cardiology"}, set(schedule.departments),
        BookableDepartments.load().alternatives, BookableDepartments.load().default)
    choice = only_cardiology.bookable_alternative("ophthalmology")
    assert choice.department is None and choice.reason


@pytest.mark.parametrize("change,message", [
    (lambda d: d["alternatives"].update(eye_ward={"to": [], "reason": {"zh": "x", "en": "x"}}),
     "unknown departments"),
    (lambda d: d["alternatives"]["ophthalmology"].update(to=["optician"]), "unknown departments"),
    (lambda d: d["alternatives"]["ophthalmology"]["reason"].pop("en"), "lacks"),
    (lambda d: d.pop("default"), "default"),
])
def test_a_broken_mapping_stops_loading(tmp_path: Path, change, message: str) -> None:
    kb = _copy_kb(tmp_path)
    data = yaml.safe_load((kb / "booking_alternatives.yml").read_text("utf-8"))
    change(data)
    (kb / "booking_alternatives.yml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                 "utf-8")
    with pytest.raises(KnowledgeBaseError, match=message):
        BookableDepartments.load(kb_dir=kb)


def _copy_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(DEFAULT_KB_DIR, kb)
    return kb
