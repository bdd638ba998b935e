"""The first conversation, end to end: REST channel, `medbot chat`, transcripts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from bot.settings import PROJECT_ROOT
from bot.store.db import Database
from bot.store.models import Message
from tests.integration.conftest import RunningService, consented_sender, post, texts

pytestmark = pytest.mark.integration

HAN = re.compile(r"[\u4e00-\u9fff]")


def is_zh(text: str) -> bool:
    return len(HAN.findall(text)) >= 4


def is_en(text: str) -> bool:
    return not HAN.search(text) and len(re.findall(r"[A-Za-z]+", text)) >= 3


@pytest.mark.parametrize(("message", "lang", "marker"), [
    ("你好", "zh", "您好"),
    ("hello", "en", "Hello"),
    ("你能做什么", "zh", "预约"),
    ("what can you do", "en", "appointments"),
    ("再见", "zh", "再见"),
    ("bye", "en", "Goodbye"),
])
def test_core_intents_answer_in_the_patients_language(
    service: RunningService, message: str, lang: str, marker: str
) -> None:
    reply = texts(post(service.rest_url, consented_sender(service, lang=lang), message))
    assert marker in reply
    assert (is_zh if lang == "zh" else is_en)(reply)


@pytest.mark.parametrize(("message", "lang", "notice", "question"), [
    ("你好", "zh", "隐私告知", "健康信息单独同意"),
    ("hello", "en", "Privacy notice", "Separate consent for health information"),
])
def test_first_contact_shows_the_privacy_notice_and_asks_consent(
    service: RunningService, message: str, lang: str, notice: str, question: str
) -> None:
    sender = f"t-{uuid.uuid4().hex[:8]}"
    first = post(service.rest_url, sender, message)
    assert notice in first[0]["text"] and question in first[1]["text"]
    # the bot does not run until the patient decides
    again = texts(post(service.rest_url, sender, "我头痛" if lang == "zh" else "I have a headache"))
    assert question in again and ("在继续之前" in again or "Before we go on" in again), again


@pytest.mark.parametrize(("message", "lang"), [
    ("今天股票涨了吗", "zh"),
    ("what's the best pizza topping", "en"),
])
def test_out_of_scope_gets_the_fallback(service: RunningService, message: str, lang: str) -> None:
    reply = texts(post(service.rest_url, consented_sender(service, lang=lang), message))
    assert ("没太明白" in reply) if lang == "zh" else ("didn't quite get" in reply)


def test_explicit_language_switch_sticks(service: RunningService) -> None:
    sender = consented_sender(service)
    assert is_zh(texts(post(service.rest_url, sender, "你好")))
    assert "English" in texts(post(service.rest_url, sender, "English please"))
    assert is_en(texts(post(service.rest_url, sender, "你好")))
    assert is_zh(texts(post(service.rest_url, sender, "请说中文")))


def test_transcript_holds_both_sides_in_order(service: RunningService) -> None:
    sender = consented_sender(service)
    post(service.rest_url, sender, "你好")
    post(service.rest_url, sender, "what can you do")
    db = Database(service.database_url)
    try:
        with db.begin() as session:
            rows = session.execute(select(Message).where(
                Message.conversation_id == f"rest:{sender}").order_by(Message.id)).scalars().all()
    finally:
        db.dispose()
    # notice + consent question, consent and thanks, then two turns
    assert [r.role for r in rows] == ["patient", "bot", "bot", "patient", "bot",
                                      "patient", "bot", "patient", "bot"]
    assert [r.text for r in rows if r.role == "patient"] == ["你好", "同意", "你好",
                                                             "what can you do"]
    assert rows[6].language == "zh" and rows[8].language == "en"
    assert all(r.channel == "rest" for r in rows)


def test_medbot_chat_answers_in_both_languages(service: RunningService) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--url", service.rest_url],
        input="你好\n同意\nhello\n/quit\n", capture_output=True, text=True, timeout=120,
        cwd=PROJECT_ROOT, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    bot_lines = [line for line in proc.stdout.splitlines() if "medbot >" in line]
    assert len(bot_lines) >= 3
    assert is_zh(bot_lines[0]) and "隐私告知" in bot_lines[0]
    assert any("已记录" in line for line in bot_lines)
    assert any("Hello" in line for line in bot_lines[1:])
