"""Triage in chat with the trained model: red-flag interrupt first, then the interview."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.conftest import RunningService, post

pytestmark = pytest.mark.integration

EMERGENCY_MARK = "⚠️"


def say(service: RunningService, sender: str, text: str) -> str:
    return "\n".join(m.get("text", "") for m in post(service.rest_url, sender, text))


def new_sender() -> str:
    return f"tri-{uuid.uuid4().hex[:8]}"


def test_emergency_while_asking_to_book_gets_advice_first(service: RunningService) -> None:
    reply = say(service, new_sender(), "我想挂下周的心内科，刚才胸口压着疼还一直出汗")
    assert reply.startswith(EMERGENCY_MARK) and "120" in reply


def test_red_flag_inside_the_triage_interview_interrupts_it(service: RunningService) -> None:
    sender = new_sender()
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
    assert EMERGENCY_MARK not in say(service, new_sender(), text)


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
