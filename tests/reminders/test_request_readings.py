"""What a message about existing reminders asks for (bot.reminders.request), without Rasa."""

from __future__ import annotations

import pytest

from bot.reminders import request


@pytest.mark.parametrize(("text", "expected"), [
    ("pause my valsartan reminder", True), ("恢复提醒", True), ("先暂停一下提醒", True),
    ("resume my reminders", True), ("提醒我每天早上7点吃缬沙坦80mg", False),
    ("pause", False),  # nothing about a reminder
    ("暂停提醒 缬沙坦改成160mg", False),  # a dose named: a new reminder
])
def test_pausing_an_existing_reminder(text, expected):
    assert request.pauses_a_reminder(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("my reminders", True), ("show me my reminders", True), ("我的提醒", True),
    ("看看我有哪些用药提醒", True), ("remind me to take metformin", False), ("我的提醒改到8点", False),
])
def test_a_request_to_see_the_reminders(text, expected):
    assert request.lists_reminders(text) is expected


@pytest.mark.parametrize(("text", "status"), [
    ("暂停缬沙坦的提醒", "paused"), ("pause it", "paused"), ("恢复提醒", "active"),
    ("turn my reminders back on", "active"), ("取消提醒", "cancelled"), ("stop the reminder", "cancelled"),
])
def test_the_status_a_change_asks_for(text, status):
    assert request.status_change(text) == status


def test_summary_followup_and_measures():
    assert request.wants_summary("最近血压怎么样") and request.wants_summary("show my history")
    assert not request.wants_summary("my reminders")
    assert request.wants_followup("提醒我每周测血压") and request.wants_followup("check my blood sugar")
    assert not request.wants_followup("提醒我吃二甲双胍")
    assert request.measures("血压和血糖") == ["bp", "glucose"] and request.measures("hello") == []
