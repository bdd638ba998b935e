"""The interview simulator and ``medbot eval triage --interview``: the chat
form's interview code, answered from a vignette's facts."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.errors import ValidationError
from bot.triage import interview
from bot.triage.simulate import SimulatedPatient, check_case, run_case

FACTS = {"age_years": 34, "sex": "male", "pregnant": None, "duration_hours": 6,
         "fever_c": None, "symptoms": ["headache"], "history": [], "severity_0_10": 3}


def _case(message, lang="en", **facts):
    return {"id": "t", "lang": lang, "message": message, "facts": {**FACTS, **facts}}


def test_answers_are_typed_like_a_patient(triage):
    zh = SimulatedPatient(triage, {**FACTS, "age_years": 0.42, "duration_hours": 72}, "zh")
    assert zh.answer("triage_age", None) == "5个月"
    assert zh.answer("triage_duration", None) == "3天"
    assert zh.answer("triage_sex", None) == "男"
    en = SimulatedPatient(triage, {**FACTS, "severity_0_10": None, "sex": None}, "en")
    assert en.answer("triage_severity", None) == "not sure"
    assert en.answer("triage_sex", None) == "not sure"
    assert en.answer("triage_age", None) == "34 years old"
    # each answer is read back by the form's own reader
    assert interview.parse_answer("triage_age", zh.answer("triage_age", None), triage) == \
        pytest.approx(5 * 30 / 365, abs=0.02)


def test_red_flag_answers_come_from_the_understanding_layer(triage):
    sick = SimulatedPatient(triage, {**FACTS, "symptoms": ["chest pain", "sweating",
                                                          "shortness of breath"]}, "en")
    well = SimulatedPatient(triage, {**FACTS, "symptoms": ["runny nose"]}, "en")
    assert sick.answer(interview.RED_FLAG_SLOT, "cardiac_chest_pain") == "yes"
    assert well.answer(interview.RED_FLAG_SLOT, "cardiac_chest_pain") == "no"


def test_a_mild_headache_interview_asks_and_ends(triage):
    result = run_case(triage, _case("I have a headache"))
    assert result["questions"], "the form asks something for a bare headache"
    assert result["level"] != "emergency"
    assert set(result) == {"id", "level", "departments", "red_flags", "questions", "reasons"}


def test_the_red_flag_answer_makes_an_emergency(triage):
    result = run_case(triage, _case("chest hurts a bit", symptoms=[
        "chest pain", "sweating", "pain spreading to left arm"], age_years=61))
    assert result["level"] == "emergency"


def test_an_emergency_message_asks_nothing(triage):
    result = run_case(triage, _case("我爸突然嘴歪了，右边手抬不起来，说话含糊", lang="zh"))
    assert result["level"] == "emergency" and result["questions"] == []
    assert "stroke_fast" in result["red_flags"]


def test_malformed_cases_get_a_clear_error():
    with pytest.raises(ValidationError, match="missing 'facts'"):
        check_case({"id": "x", "message": "hi"}, 1)
    with pytest.raises(ValidationError, match="exactly the keys"):
        check_case({"id": "x", "message": "hi", "facts": {"age_years": 3}}, 1)


def test_cli_interview_report(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    rows = [{**_case("I have a headache"), "id": "a", "level": "self_care"},
            {**_case("他突然倒地抽搐，叫不醒", lang="zh"), "id": "b", "level": "emergency"}]
    cases.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                     encoding="utf-8")
    assert main(["eval", "triage", "--interview", str(cases), "--report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [json.loads(line) for line in lines if not line.startswith("#")]
    assert [r["id"] for r in results] == ["a", "b"]
    report = "\n".join(line for line in lines if line.startswith("#"))
    assert "level correct" in report and "emergency" in report and "questions: median" in report


def test_cli_interview_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "message": "x"}\n', encoding="utf-8")
    assert main(["eval", "triage", "--interview", str(bad)]) != 0
    assert "facts" in capsys.readouterr().err
