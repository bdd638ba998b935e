"""Readings: zh/en parsing, KB thresholds, escalation, follow-up prompts, summary."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.errors import NotFoundError
from bot.reminders.kb import default_followup_kb
from bot.reminders.readings import assess, parse_reading
from bot.reminders.service import ReminderInputError
from bot.store.reminder_models import CareTeamFlag, Reading
from tests.reminders.conftest import Stack, local

TH = default_followup_kb().thresholds


@pytest.mark.parametrize(("text", "sys_", "dia"), [
    ("血压145/95", 145, 95), ("今天血压 145／95", 145, 95), ("高压150低压100", 150, 100),
    ("收缩压是132，舒张压是84", 132, 84), ("BP 150 over 100", 150, 100),
    ("my blood pressure was 128/82 mmHg", 128, 82), ("150比100", 150, 100),
])
def test_bp(text: str, sys_: int, dia: int) -> None:
    r = parse_reading(text)
    assert r is not None and (r.kind, r.systolic, r.diastolic, r.unit) == ("bp", sys_, dia, "mmHg")


@pytest.mark.parametrize(("text", "value", "context"), [
    ("空腹血糖7.8", 7.8, "fasting"), ("餐后血糖11.2", 11.2, "postprandial"),
    ("sugar 11 this morning", 11.0, "random"), ("fasting glucose 6.1 mmol/L", 6.1, "fasting"),
    ("glucose 180 mg/dl after lunch", 10.0, "postprandial"), ("血糖是5.6", 5.6, "random"),
    ("my sugar was 3.2", 3.2, "random"),
])
def test_glucose(text: str, value: float, context: str) -> None:
    r = parse_reading(text)
    assert r is not None and (r.kind, r.value, r.context, r.unit) == (
        "glucose", value, context, "mmol/L")


@pytest.mark.parametrize(("text", "level"), [
    ("血压120/80", "normal"), ("血压145/95", "high"), ("BP 180 over 100", "urgent"),
    ("血压150/110", "urgent"), ("血压85/55", "low"), ("空腹血糖7.8", "high"),
    ("空腹血糖6.5", "normal"), ("餐后血糖9.5", "normal"), ("血糖3.5", "low"),
    ("sugar 18", "urgent"),
])
def test_levels_from_kb_thresholds(text: str, level: str) -> None:
    assert assess(parse_reading(text), TH) == level


def count(stack: Stack, model) -> int:
    with stack.db.begin() as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def test_abnormal_bp_escalates_with_red_flag_questions_and_a_care_team_flag(stack: Stack) -> None:
    outcome = stack.readings.record("wechat", "o_1", "血压185/115")
    assert outcome.level == "urgent" and outcome.flagged and outcome.offer_doctor
    assert outcome.response == "utter_reading_bp_urgent"
    with stack.db.begin() as s:
        flag = s.execute(select(CareTeamFlag)).scalar_one()
        reading = s.execute(select(Reading)).scalar_one()
    assert (flag.reason, flag.severity) == ("abnormal_reading", "urgent")
    assert (reading.systolic, reading.diastolic, reading.unit) == (185, 115, "mmHg")
    from bot.i18n import t
    text = t(outcome.response, "zh", reading=outcome.reading.display("zh"))
    assert "120" in text and "胸痛" in text


def test_low_glucose_gets_immediate_advice(stack: Stack) -> None:
    outcome = stack.readings.record("wechat", "o_1", "my sugar was 3.2")
    assert (outcome.level, outcome.response) == ("low", "utter_reading_glucose_low")
    assert count(stack, CareTeamFlag) == 1


def test_normal_reading_is_stored_without_a_flag(stack: Stack) -> None:
    outcome = stack.readings.record("wechat", "o_1", "BP 122/78")
    assert outcome.level == "normal" and not outcome.flagged
    assert count(stack, Reading) == 1 and count(stack, CareTeamFlag) == 0


@pytest.mark.parametrize("text", ["我今天很好", "血压500/20", "sugar 90 mmol/l"])
def test_bad_readings_write_nothing(stack: Stack, text: str) -> None:
    with pytest.raises(ReminderInputError):
        stack.readings.record("wechat", "o_1", text)
    assert count(stack, Reading) == 0


def test_followup_enrolment_sends_prompts_on_schedule(stack: Stack) -> None:
    # 2026-11-22 is a Sunday; the BP plan prompts on Mondays at 08:00
    plan, first = stack.readings.enrol("wechat", "o_1", "hypertension", "en")
    assert plan.id == "hypertension_bp_weekly"
    assert first.strftime("%Y-%m-%d %H:%M") == "2026-11-23 08:00"
    stack.readings.enrol("wechat", "o_1", "hypertension", "en")  # idempotent
    assert stack.run_at(local(2026, 11, 23, 7, 59)) == 0
    assert stack.run_at(local(2026, 11, 23, 8, 0)) == 1
    message = stack.sender.sent[0]
    assert message.kind == "followup" and "blood-pressure" in message.text
    with pytest.raises(NotFoundError):
        stack.readings.enrol("wechat", "o_1", "eczema", "en")


def test_summary_shows_readings_and_adherence(stack: Stack) -> None:
    draft = stack.service.draft("metformin", "500 mg", "8am")
    stack.service.create("wechat", "o_1", draft, "en")
    stack.run_at(local(2026, 11, 22, 8, 0))
    stack.service.respond("wechat", "o_1", "taken")
    stack.readings.record("wechat", "o_1", "BP 135/85")
    text = stack.readings.summary("wechat", "o_1", "en")
    assert "135/85" in text and "1 taken" in text and "Glucose: no readings" in text


def test_every_response_the_kb_and_jobs_name_exists_in_both_languages() -> None:
    from bot.i18n import default_catalog

    catalog = default_catalog()
    keys = {p.prompt for p in default_followup_kb().plans.values()}
    for measure in ("bp", "glucose"):
        keys.update(TH[measure]["responses"].values())
    keys.update(f"utter_reminder_meal_{m}" for m in ("after_meal", "before_meal", "bedtime"))
    keys.update(f"utter_reading_value_glucose_{c}" for c in ("fasting", "postprandial", "random"))
    keys.update({"utter_reminder_due", "utter_reminder_nudge", "utter_reminder_missed_flagged",
                 "utter_health_summary_none_bp", "utter_health_summary_none_glucose"})
    for key in keys:
        assert catalog.languages(key) == {"zh", "en"}, key


# -- security review: an implausible reading is refused, never "corrected" --------------

@pytest.mark.parametrize(("text", "shown"), [
    ("血糖 1234", "1234"),  # was read as "123" -> 6.8 mmol/L
    ("血糖 -5", "-5"),  # was read as 5.0
    ("blood sugar −5 mmol/l", "-5 mmol/l"),
    ("glucose 990 mg/dl", "990 mg/dl"),
    ("血压 1500/90", "1500/90 mmHg"),
    ("高压1500低压100", "1500/100 mmHg"),  # was read as 150/100
    ("BP 150/-90", "150/-90 mmHg"),
])
def test_implausible_readings_are_refused_with_what_was_written(stack: Stack, text: str,
                                                                shown: str) -> None:
    with pytest.raises(ReminderInputError) as refused:
        stack.readings.record("wechat", "o_1", text)
    assert refused.value.message_key == "utter_reading_implausible"
    assert refused.value.params["value"] == shown
    assert count(stack, Reading) == 0 and count(stack, CareTeamFlag) == 0
    from bot.i18n import t

    assert shown in t("utter_reading_implausible", "zh", value=shown)
    assert shown in t("utter_reading_implausible", "en", value=shown)


@pytest.mark.parametrize(("text", "written"), [
    ("血糖 1234", "1234"), ("血糖 -5", "-5"), ("血压 1200/80", "1200/80 mmHg"),
    ("高压1500低压100", "1500/100 mmHg"),
])
def test_numbers_are_read_whole_and_signed(text: str, written: str) -> None:
    reading = parse_reading(text)
    assert reading is not None and reading.written == written
    assert (reading.value or reading.systolic or 0) not in (6.8, 5.0, 120, 150)


@pytest.mark.parametrize("text", ["血糖 " + "9" * 5000, "血压" + "1" * 5000 + "/80",
                                  "sugar " * 1000])
def test_absurd_input_is_not_a_reading(text: str) -> None:
    from bot.reminders.readings import read

    with pytest.raises(ReminderInputError) as refused:
        read(text, TH)
    assert refused.value.message_key == "utter_reading_not_understood"
