"""Reading yes/no answers, "none", and past dates of a diagnosis."""

from __future__ import annotations

from datetime import date

import pytest

from bot.kb.drugs import load_drugs
from bot.revisits.answers import is_none_answer, parse_past_date
from bot.revisits.catalog import load_conditions
from bot.text.yesno import read_yes_no as parse_yes_no

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(("text", "value"), [
    ("没有", False), ("没有新症状", False), ("无", False), ("no", False), ("Nope", False),
    ("nothing new", False), ("还好，跟以前一样", False), ("有", True), ("是的", True),
    ("有点加重", True), ("yes", True), ("yeah a bit worse", True), ("不知道", None), ("", None),
    ("hmm", None),
])
def test_yes_no(text, value) -> None:
    assert parse_yes_no(text) is value


@pytest.mark.parametrize(("text", "value"), [
    ("2026年9月1日", date(2026, 9, 1)), ("2026-09-01", date(2026, 9, 1)),
    ("9月1日", date(2026, 9, 1)), ("十二月一号", date(2025, 12, 1)),
    ("2026年8月", date(2026, 8, 1)), ("三个月前", date(2026, 8, 24)),
    ("半年前", date(2026, 5, 26)), ("last month", date(2026, 10, 23)),
    ("2 weeks ago", date(2026, 11, 8)), ("two months ago", date(2026, 9, 23)),
    ("昨天", date(2026, 11, 21)), ("上上个月", date(2026, 9, 23)),
    ("whenever", None), ("2026年2月30日", None),
])
def test_past_dates(text, value) -> None:
    assert parse_past_date(text, TODAY) == value


@pytest.mark.parametrize(("text", "value"), [("没有", True), ("none", True), ("skip", True),
                                             ("MZ12345", False), ("病历号 123", False)])
def test_none_answers(text, value) -> None:
    assert is_none_answer(text) is value


def test_catalogues_match_names_and_synonyms() -> None:
    conditions, drugs = load_conditions(), load_drugs()
    assert conditions.match("我有高血压，想开药").id == "hypertension"
    assert conditions.match("I have type 2 diabetes").id == "type2_diabetes"
    assert conditions.match("慢阻肺").id == "copd"
    assert conditions.match("感冒") is None
    assert drugs.match_all("氨氯地平和二甲双胍") == ["amlodipine", "metformin"]
    assert drugs.match_all("norvasc and Glucophage") == ["amlodipine", "metformin"]
    assert drugs.match_all("不需要") == []


@pytest.mark.parametrize(("text", "value"), [
    ("确认", True), ("好的，预约吧", True), ("yes please", True), ("OK", True), ("嗯", True),
    ("不", False), ("算了", False), ("no", False), ("有停车位吗？", None), ("有", None),
    ("what is the fee?", None), ("hmm", None),
])
def test_confirmation_is_strict(text, value) -> None:
    from bot.text.yesno import read_confirmation as parse_confirmation

    assert parse_confirmation(text) is value


# -- security review: numbers are read whole, odd input is unclear, never a crash ---------

@pytest.mark.parametrize(("text", "value"), [
    ("1234 years ago", None),  # was "234 years ago"
    ("12026-09-01", None), ("2026-09-011", None),  # were 2026-09-01
    ("2月29日", None),  # 2026 has no 29 February: unclear, not invented
    ("十十十月一号", None), ("9" * 5000, None), ("三个月前" * 100, None),
])
def test_odd_past_dates_are_unclear(text, value) -> None:
    assert parse_past_date(text, TODAY) == value


def test_29_february_of_this_year_is_read() -> None:
    assert parse_past_date("2月29日", date(2028, 3, 10)) == date(2028, 2, 29)


def test_overlong_answers_are_unclear() -> None:
    from bot.text.yesno import read_confirmation as parse_confirmation

    long_yes = "是的" * 200
    assert parse_yes_no(long_yes) is None and parse_confirmation(long_yes) is None
    assert is_none_answer("没有" * 200) is False


@pytest.mark.parametrize(("text", "value"), [
    ("还是老样子", False), ("老样子", False), ("跟以前差不多", False), ("same as before", False),
    ("unchanged", False), ("about the same", False), ("是有点加重", True),
])
def test_unchanged_is_no_new_or_worse_symptoms(text, value) -> None:
    """Issue 15 item 8: "还是老样子" (unchanged) was read as worse (还是 holds 是)."""
    assert parse_yes_no(text) is value


def test_half_a_year_ago_is_six_months() -> None:
    """Issue 15 item 8: "半年前" was 182 days, just past the 180-day limit."""
    assert (TODAY - parse_past_date("半年前", TODAY)).days == 180


@pytest.mark.parametrize("text", ["确认", "确定", "ok", "confirm", "好的"])
def test_a_bare_confirmation_does_not_say_a_symptom_is_there(text) -> None:
    """Issue 15 item 8: "确认" to "any new or worse symptoms?" was read as "有"."""
    from bot.revisits.answers import parse_symptom_answer

    assert parse_symptom_answer(text) is None
    assert parse_symptom_answer("没有") is False and parse_symptom_answer("有") is True
