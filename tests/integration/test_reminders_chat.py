"""Medication reminders and readings through the trained model, zh and en."""

from __future__ import annotations

import pytest

from tests.integration.conftest import RunningService, consented_sender, post

pytestmark = pytest.mark.integration


def say(service: RunningService, sender: str, text: str) -> str:
    return "\n".join(m.get("text", "") for m in post(service.rest_url, sender, text))


def test_create_and_list_a_reminder_in_chinese(service: RunningService) -> None:
    s = consented_sender(service, "rz")
    confirm = say(service, s, "提醒我每天早晚吃氨氯地平，一次5mg")
    assert "氨氯地平" in confirm and "08:00" in confirm and "20:00" in confirm
    assert "已保存" in say(service, s, "确认")
    assert "氨氯地平 5mg" in say(service, s, "我的用药提醒")


def test_create_a_course_in_english(service: RunningService) -> None:
    s = consented_sender(service, "re", "en")
    confirm = say(service, s, "remind me to take metformin 500mg twice a day after meals for 14 days")
    assert "metformin" in confirm and "(14 days)" in confirm
    assert "Saved" in say(service, s, "yes")
    assert "metformin 500mg" in say(service, s, "show my medication reminders")


@pytest.mark.parametrize(("text", "expected"), [
    ("my blood pressure is 185 over 115", "120"),
    ("空腹血糖3.2", "低血糖"),
])
def test_abnormal_readings_escalate(service: RunningService, text: str, expected: str) -> None:
    sender = consented_sender(service, "rd", "en" if text.isascii() else "zh")
    reply = say(service, sender, text)
    assert expected in reply and ("care team" in reply or "医护团队" in reply)
    # the doctor offer carries the handoff consent text (issue 8)
    assert "licensed doctor" in reply or "执业医生" in reply
