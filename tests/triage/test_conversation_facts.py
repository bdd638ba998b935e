"""Issue 15 item 5: facts attributed correctly in conversation (a pain score is
not an age; a boy gets no pregnancy note; "my son is 5" is an age)."""

from __future__ import annotations

import pytest

from bot.triage import interview


@pytest.mark.parametrize("answer", ["7分", "7/10", "7 out of 10"])
def test_a_pain_score_is_not_an_age(rules_triage, answer):
    assert interview.parse_answer("triage_age", answer, rules_triage) is None  # asked again
    assert interview.parse_answer("triage_severity", answer, rules_triage) == "severe"


@pytest.mark.parametrize("answer", ["7分", "7/10", "7 out of 10"])
def test_a_pain_score_is_not_a_duration(rules_triage, answer):
    """"7分" to "how long has this been going on?" was read as 7 days (a bare number)."""
    assert interview.parse_answer("triage_duration", answer, rules_triage) is None
    assert interview.parse_answer("triage_duration", "7天", rules_triage) == 7.0


def test_a_pain_score_in_the_description_is_a_severity_not_an_age(rules_triage):
    case = rules_triage.assess_text("我妈68岁，头疼，7分", "zh").case
    assert case.age_years == 68.0 and case.severity == "severe"
    assert rules_triage.assess_text("疼痛2分", "zh").case.severity == "mild"
    assert rules_triage.assess_text("头疼了10分钟", "zh").case.severity is None  # minutes


@pytest.mark.parametrize(("text", "lang"), [("儿子5岁，肚子疼", "zh"), ("my son is 5, tummy ache", "en")])
def test_a_boy_gets_no_pregnancy_note(rules_triage, text, lang):
    result = rules_triage.assess_text(text, lang).result
    notes = " ".join(note.get(lang) for note in result.safety_net)
    assert "孕" not in notes and "pregnan" not in notes.lower()
    assert rules_triage.assess_text(text, lang).case.age_years == 5.0
    woman = rules_triage.assess_text("我30岁，女，肚子疼" if lang == "zh" else
                                     "I'm 30, female, tummy ache", lang).result
    assert any("孕" in n.zh or "pregnan" in n.en.lower() for n in woman.safety_net)


@pytest.mark.parametrize("text", ["he's 5 minutes away", "she is 9/10 pain", "she's 38 weeks pregnant"])
def test_numbers_that_are_not_ages(rules_triage, text):
    assert rules_triage.assess_text(text, "en").case.age_years is None


def test_age_is_asked_before_pregnancy_and_settles_it(rules_triage):
    """"我眼睛痛", then "女": a 60-year-old woman was asked "could you be pregnant?"
    before her age, and "60岁" was no answer to that (asked again). Shown on a
    complaint where a pregnancy changes the outcome (abdominal pain), with the rules
    alone (what the learned layer adds to a two-word complaint varies by model)."""
    triage = rules_triage
    slots: dict = {}
    first = interview.assess(triage, "我肚子疼", "zh", slots)
    remaining = interview.questions(triage, first, slots)
    assert remaining.index("triage_age") < remaining.index("triage_sex")
    slots = {"triage_age": 60.0, "triage_sex": "female"}
    later = interview.assess(triage, "我肚子疼", "zh", slots)
    assert "triage_pregnant" not in interview.questions(triage, later, slots)
    slots = {"triage_age": 30.0, "triage_sex": "female"}
    younger = interview.assess(triage, "我肚子疼", "zh", slots)
    assert "triage_pregnant" in interview.questions(triage, younger, slots)
