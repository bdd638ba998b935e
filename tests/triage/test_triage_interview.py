"""Interview logic without Rasa: reading answers and choosing questions."""

from __future__ import annotations

import pytest

from bot.triage import interview as iv


@pytest.mark.parametrize("slot, text, value", [
    ("triage_age", "35岁", 35.0), ("triage_age", "35", 35.0), ("triage_age", "2个月", 60 / 365),
    ("triage_age", "6 weeks", 42 / 365), ("triage_age", "不知道", iv.UNKNOWN),
    ("triage_sex", "女", "female"), ("triage_sex", "male", "male"), ("triage_sex", "蓝色", None),
    ("triage_pregnant", "没有", False), ("triage_pregnant", "是的", True),
    ("triage_pregnant", "not sure", iv.UNKNOWN),
    ("triage_duration", "三天", 3.0), ("triage_duration", "2 weeks", 14.0), ("triage_duration", "5", 5.0),
    ("triage_severity", "8", "severe"), ("triage_severity", "2分", "mild"),
    ("triage_severity", "中等", "moderate"), ("triage_severity", "疼得厉害", "severe"),
    ("triage_red_flag", "没有", False), ("triage_red_flag", "yes", True),
    ("triage_red_flag", "I don't know", iv.UNKNOWN), ("triage_red_flag", "", None),
    # security review: everyday spellings, signs and impossible values
    ("triage_age", "18 mos", 18 * 30 / 365), ("triage_age", "6 wks", 42 / 365),
    ("triage_age", "9 yrs", 9.0), ("triage_age", "9 yr old", 9.0), ("triage_age", "两岁半", 2.5),
    ("triage_age", "-5", None), ("triage_age", "200", None), ("triage_age", "999999个月", None),
    ("triage_age", "吃99999999999999天", None), ("triage_duration", "-3", None),
    ("triage_severity", "-5", None), ("triage_severity", "11", None),
    ("triage_duration", "3" * 400, None), ("triage_red_flag", "没有" * 200, None),
])
def test_parse_answer(triage, slot, text, value):
    parsed = iv.parse_answer(slot, text, triage)
    if isinstance(value, float):
        assert parsed == pytest.approx(value, abs=0.01)
    else:
        assert parsed == value


def test_raw_text_in_slots_is_ignored_until_validated():
    facts = iv.known_facts({"triage_age": "35岁", "triage_sex": "female",
                            "triage_flag_answers": {"x": "unknown", "y": False}})
    assert facts == {"sex": "female", "red_flag_answers": {"y": False}}


def test_only_questions_that_change_the_outcome(triage):
    slots = {"triage_age": 30.0, "triage_sex": "male", "triage_duration": 1.0}
    adult_cold = iv.assess(triage, "流鼻涕", "zh", slots)
    assert iv.questions(triage, adult_cold, slots) == ["triage_severity"]  # severe -> routine
    slots["triage_severity"] = "mild"
    assert iv.questions(triage, iv.assess(triage, "流鼻涕", "zh", slots), slots) == []
    chest = iv.assess(triage, "胸口疼", "zh", {})
    assert iv.questions(triage, chest, {})[:2] == ["triage_red_flag", "triage_age"]
    assert iv.pending_red_flags(triage, chest, {})[0] == "cardiac_chest_pain"
    emergency = iv.assess(triage, "I can't breathe", "en", {})
    assert iv.questions(triage, emergency, {}) == []


def test_render_in_both_languages(rules_triage):
    triage = rules_triage
    a = iv.assess(triage, "头疼得厉害，眼睛也疼", "zh", {"triage_age": 60.0})
    zh, en = iv.render(triage, a.result, "zh"), iv.render(triage, a.result, "en")
    assert zh["department"] == "眼科" and en["department"] == "Ophthalmology"
    assert "今天" in zh["level"] and "today" in en["level"]
    assert "120" in zh["safety_net"] and "120" in en["safety_net"]
