"""What one message states about a reminder, and how it changes the draft (issue 15 item 4)."""

from __future__ import annotations

import pytest

from bot.kb.drugs import default_drugs
from bot.reminders.request import Stated, apply, read_message

OLD = {"drug": "amlodipine", "dose": "remind me to take amlodipine 5mg", "schedule": None}


@pytest.mark.parametrize(("text", "drug", "dose", "schedule"), [
    ("remind me to take valsartan 80mg every morning at 7", "valsartan", True, True),
    ("提醒我每天早上7点吃缬沙坦80mg", "valsartan", True, True),
    ("80mg", None, True, False),
    ("every week", None, False, False),  # refused schedules are not stated
    ("缬沙坦", "valsartan", False, False),
    ("按医嘱", None, True, False),
])
def test_read_message(text: str, drug: str | None, dose: bool, schedule: bool) -> None:
    stated = read_message(text, default_drugs())
    assert stated.drug == drug
    assert (stated.dose == text) is dose and (stated.schedule == text) is schedule


def test_entity_drug_names_come_first() -> None:
    assert read_message("the blood pressure one", default_drugs(), ["Diovan"]).drug == "valsartan"


def test_another_drug_starts_over() -> None:
    text = "remind me to take valsartan 80mg every morning at 7"
    assert apply(OLD, Stated("valsartan", text, text)) == {
        "drug": "valsartan", "dose": text, "schedule": text}
    assert apply(OLD, Stated("valsartan")) == {"drug": "valsartan", "dose": None,
                                               "schedule": None}


def test_the_same_draft_keeps_what_the_message_does_not_state() -> None:
    assert apply(OLD, Stated(schedule="every day at 7")) == {**OLD, "schedule": "every day at 7"}
    assert apply(OLD, Stated("amlodipine", dose="10mg")) == {**OLD, "dose": "10mg"}
    assert apply({"drug": None, "dose": "80mg", "schedule": "at 7"}, Stated("valsartan")) == {
        "drug": "valsartan", "dose": "80mg", "schedule": "at 7"}
