"""Triage in chat with the trained model: red-flag interrupt first, then the interview."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.conftest import RunningService, consented_sender, post

pytestmark = pytest.mark.integration

EMERGENCY_MARK = "⚠️"


def say(service: RunningService, sender: str, text: str) -> str:
    return "\n".join(m.get("text", "") for m in post(service.rest_url, sender, text))


def new_sender() -> str:
    """A first contact: no consent asked yet (the red-flag interrupt does not wait)."""
    return f"tri-{uuid.uuid4().hex[:8]}"


def test_emergency_while_asking_to_book_gets_advice_first(service: RunningService) -> None:
    reply = say(service, new_sender(), "我想挂下周的心内科，刚才胸口压着疼还一直出汗")
    assert reply.startswith(EMERGENCY_MARK) and "120" in reply
    assert "隐私告知" not in reply  # emergency advice comes before any consent question


def test_urgent_triage_offers_a_doctor_and_consent_queues_the_handoff(
        service: RunningService) -> None:
    sender = consented_sender(service, "urg")
    reply = say(service, sender, "我胸口疼")
    answers = iter(["不知道", "28", "男"])  # unknown red flag, under 40: urgent
    for _ in range(6):  # answer the interview until the result
        if "执业医生" in reply or "建议" in reply and "？" not in reply[-3:]:
            break
        reply = say(service, sender, next(answers, "不知道"))
    assert "执业医生" in reply, reply  # urgent: the doctor offer with the consent text
    queued = say(service, sender, "同意")
    assert "排队" in queued and "心" in queued, queued
    waiting = say(service, sender, "我还是不舒服")  # no doctor yet: told they are waiting
    assert "等待" in waiting and "120" in waiting, waiting
    assert "取消" in say(service, sender, "取消")
    assert "您好" in say(service, sender, "你好")  # the bot is back


def test_red_flag_inside_the_triage_interview_interrupts_it(service: RunningService) -> None:
    sender = consented_sender(service, "tri")
    first = say(service, sender, "我头疼两天了")
    assert EMERGENCY_MARK not in first and ("？" in first or "?" in first)  # a question
    reply = say(service, sender, "突然一边手脚没力气，说话也不清楚了")
    assert reply.startswith(EMERGENCY_MARK) and "120" in reply
    # the interview was cancelled: a greeting is answered normally
    assert "您好" in say(service, sender, "你好")


@pytest.mark.parametrize("text", [
    "没有胸痛，就是咳嗽",
    "my dad had a stroke years ago, I want his follow-up",
    "心梗有什么症状",
])
def test_controls_are_not_emergencies(service: RunningService, text: str) -> None:
    reply = say(service, consented_sender(service, "tri"), text)
    assert reply and EMERGENCY_MARK not in reply


def test_english_emergency_advice_is_in_english(service: RunningService) -> None:
    reply = say(service, new_sender(), "my chest feels crushed and I'm sweating, can't breathe")
    assert reply.startswith(EMERGENCY_MARK) and "120" in reply and "call" in reply.lower()


def test_medbot_chat_emergency_before_any_booking_question(service: RunningService) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--url", service.rest_url],
        input="我想挂下周的心内科，刚才胸口压着疼还一直出汗\n/quit\n", capture_output=True,
        text=True, timeout=120, cwd=PROJECT_ROOT, env=dict(os.environ),
    )
    bot_lines = [line for line in proc.stdout.splitlines() if "medbot >" in line]
    assert bot_lines and EMERGENCY_MARK in bot_lines[0] and "120" in proc.stdout
