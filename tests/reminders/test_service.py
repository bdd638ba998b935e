"""Creating reminders from zh and en sentences; bad input writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.errors import NotFoundError
from bot.reminders.service import ReminderInputError
from bot.store.reminder_models import Dose, MedicationReminder, ScheduledJob
from tests.reminders.conftest import Stack, local


def count(stack: Stack, model) -> int:
    with stack.db.begin() as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


@pytest.mark.parametrize(("sentence", "drug", "dose", "times", "end"), [
    ("提醒我吃二甲双胍，每次500mg，每天三次饭后，吃14天", "metformin", "500mg",
     ("08:30", "12:30", "18:30"), date(2026, 12, 5)),
    ("络活喜 1片 每天早上8点", "amlodipine", "1片", ("08:00",), None),
    ("阿托伐他汀 20mg 睡前", "atorvastatin", "20mg", ("22:00",), None),
    ("remind me to take metformin 500 mg twice a day for 2 weeks", "metformin", "500 mg",
     ("08:00", "20:00"), date(2026, 12, 5)),
    ("Norvasc 5mg every morning", "amlodipine", "5mg", ("08:00",), None),
    ("aspirin 100mg 8am and 8pm", "aspirin", "100mg", ("08:00", "20:00"), None),
])
def test_create_from_sentences(stack: Stack, sentence: str, drug: str, dose: str,
                               times: tuple[str, ...], end: date | None) -> None:
    draft = stack.service.draft(sentence, sentence, sentence)
    assert (draft.drug_id, draft.dose, draft.times, draft.end) == (drug, dose, times, end)
    assert draft.start == date(2026, 11, 22)
    view, first = stack.service.create("wechat", "o_1", draft, "zh")
    assert view.status == "active" and first is not None and first > stack.clock.now()
    assert stack.service.list("wechat", "o_1") == [view]


def test_confirmation_in_plain_words(stack: Stack) -> None:
    draft = stack.service.draft("二甲双胍", "500mg", "每天三次饭后 吃14天")
    zh = stack.service.describe(draft, "zh")
    assert zh["times"] == "08:30、12:30、18:30" and zh["meal"] == "（饭后）"
    assert "11月22日 至 12月5日（共 14 天）" == zh["course"]
    en = stack.service.describe(draft, "en")
    assert en["drug"] == "metformin" and "14 days" in en["course"]


@pytest.mark.parametrize(("drug", "dose", "schedule", "key"), [
    ("感冒灵颗粒", "1袋", "每天三次", "utter_reminder_error_drug"),
    ("二甲双胍", "一点点", "每天三次", "utter_reminder_error_dose"),
    ("二甲双胍", "500mg", "有空就吃", "utter_reminder_error_schedule"),
    ("二甲双胍", "500mg", "每7小时一次", "utter_reminder_error_schedule"),
    # a question about meals is answered (leaflet, pharmacist), not called unreadable
    ("二甲双胍", "500mg", "饭前还是饭后吃?", "utter_reminder_meal_question"),
    ("metformin", "500mg", "before or after food?", "utter_reminder_meal_question"),
    ("二甲双胍", "500mg", "每天两次 从12月5日到12月1日", "utter_reminder_error_course"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(stack: Stack, drug: str, dose: str,
                                                       schedule: str, key: str) -> None:
    with pytest.raises(ReminderInputError) as info:
        stack.service.draft(drug, dose, schedule)
    assert info.value.message_key == key
    assert count(stack, MedicationReminder) == 0 and count(stack, ScheduledJob) == 0


def test_reminder_times_follow_the_patient_time_zone(stack: Stack) -> None:
    draft = stack.service.draft("metformin", "500 mg", "8am")
    stack.service.create("wechat", "o_ny", draft, "en", tz="America/New_York")
    with stack.db.begin() as s:
        first = s.execute(select(Dose.scheduled_at).order_by(Dose.scheduled_at)).scalars().first()
    assert first.strftime("%H:%M") == "13:00"  # 08:00 EST = 13:00 UTC


def test_answers_without_an_outstanding_dose_write_nothing(stack: Stack) -> None:
    draft = stack.service.draft("metformin", "500 mg", "8pm")
    stack.service.create("wechat", "o_1", draft, "en")
    with pytest.raises(NotFoundError):
        stack.service.respond("wechat", "o_1", "taken")
    with pytest.raises(NotFoundError):
        stack.service.respond("wechat", "nobody", "skipped")
    with pytest.raises(NotFoundError):
        stack.service.set_status("wechat", "o_1", "cancelled", drug_id="aspirin")
    with pytest.raises(ReminderInputError):
        stack.service.respond("wechat", "o_1", "snoozed", snooze=timedelta(hours=13))


def test_answer_goes_to_the_drug_named(stack: Stack) -> None:
    for drug in ("metformin", "amlodipine"):
        stack.service.create("wechat", "o_1", stack.service.draft(drug, "1 tablet", "8am"), "en")
    stack.run_at(local(2026, 11, 22, 8, 0))
    outcome = stack.service.respond("wechat", "o_1", "skipped", drug_id="amlodipine")
    assert outcome.drug_id == "amlodipine"
    with stack.db.begin() as s:
        statuses = sorted(s.execute(select(Dose.status).where(Dose.status.in_(
            ("sent", "skipped")))).scalars())
    assert statuses == ["sent", "skipped"]


def test_a_dose_taken_early_is_recorded_and_its_reminder_not_sent(stack: Stack) -> None:
    stack.service.create("wechat", "o_1", stack.service.draft("metformin", "500 mg", "8am"), "en")
    stack.clock.set(local(2026, 11, 22, 7, 30))
    outcome = stack.service.respond("wechat", "o_1", "taken")
    assert (outcome.status, outcome.local_time) == ("taken", "08:00")
    assert stack.run_at(local(2026, 11, 22, 8, 0)) == 0
    with pytest.raises(NotFoundError):  # nothing to snooze before it was sent
        stack.service.respond("wechat", "o_1", "snoozed")
