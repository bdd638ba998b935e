"""Rendering: a full summary in both languages, escaping, the page contract."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.console.accounts import Staff
from bot.console.cases import CaseFile, TranscriptLine
from bot.console.worklists import WorklistService
from bot.handoff.service import HandoffView
from bot.i18n import t
from bot.kb.drugs import load_drugs
from bot.revisits.catalog import load_conditions
from channels.console.case_page import handoff_page

AT = datetime(2026, 3, 1, 2, 30, tzinfo=timezone.utc)
DOCTOR = Staff(7, "dr.li", "李医生", "doctor", "cardiology", True)
SUMMARY = {
    "reason": "abnormal_reading", "language": "en",
    "trigger": {"department": "cardiology", "reading": "<b>180/110</b>"},
    "triage": {"level": "urgent", "departments": ["cardiology"],
               "red_flags": [{"id": "chest_pain", "phrase": "胸痛"}],
               "reasons": [{"rule": "r1", "zh": "血压很高", "en": "very high blood pressure"}],
               "text": "头晕 <script>x()</script>", "at": "2026-03-01 02:00:00+00:00"},
    "readings": [{"kind": "bp", "systolic": 180, "diastolic": 110, "value": None,
                  "unit": "mmHg", "level": "urgent", "at": "2026-03-01 01:00:00"}],
    "adherence": {"medicines": [{"drug": "amlodipine", "dose": "5 mg", "status": "active"}],
                  "taken": 3, "skipped": 1, "missed": 2, "snoozed": 0},
    "revisit_request": {"code": "RV123", "condition": "hypertension", "status": "queued",
                        "diagnosis": "原发性高血压", "drugs": ["amlodipine"]},
}


def case(status: str = "claimed", staff_id: int | None = 7) -> CaseFile:
    view = HandoffView(5, 1, "conv", "rest", "cardiology", "abnormal_reading", "en", status,
                       SUMMARY, staff_id, AT, AT, None, None)
    return CaseFile(view, "rest:abcd***yz", [
        TranscriptLine(1, "patient", "<img src=x onerror=alert(1)>", AT),
        TranscriptLine(2, "bot", "已为您转接", AT),
        TranscriptLine(3, "doctor", "hello", AT)])


@pytest.fixture(scope="module")
def names() -> WorklistService:
    return WorklistService(None, None, load_conditions(), load_drugs())  # type: ignore[arg-type]


@pytest.mark.parametrize("lang,words", [
    ("en", ["very high blood pressure", "Cardiology", "amlodipine 5 mg", "hypertension",
            "taken 3, skipped 1, missed 2, snoozed 0", "RV123", "2026-03-01 10:30"]),
    ("zh", ["血压很高", "心内科", "氨氯地平 5 mg", "高血压", "已服 3 次", "RV123",
            "胸痛"]),
])
def test_the_summary_shows_every_part_in_the_doctors_language(names, lang, words) -> None:
    cardiology = {"zh": "心内科", "en": "Cardiology"}[lang]
    html = handoff_page(case(), DOCTOR, "tok", lang, "Asia/Shanghai",
                        lambda d: cardiology if d == "cardiology" else d, names)
    for word in words:
        assert word in html, word
    assert t("utter_console_reason_abnormal_reading", lang) in html
    assert t("utter_console_level_urgent", lang) in html


def test_user_content_is_escaped_and_the_contract_ids_are_there(names) -> None:
    html = handoff_page(case(), DOCTOR, "tok", "en", "UTC", str, names)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>x()" not in html and "<b>180" not in html
    for element in ('id="summary"', 'id="transcript"', '<span id="status">claimed</span>',
                    'id="reply-form"', 'id="reply-text" name="text"', 'id="send-reply"',
                    'id="close-form"', 'id="close-note" name="note"', 'id="close-handoff"',
                    'class="msg msg-patient"', 'class="msg msg-bot"', 'class="msg msg-doctor"',
                    'name="csrf_token" value="tok"', 'src="/console/assets/live.js"'):
        assert element in html, element


def test_forms_follow_the_status(names) -> None:
    queued = handoff_page(case("queued", None), DOCTOR, "tok", "en", "UTC", str, names)
    assert 'id="claim-5"' in queued and 'id="reply-form"' not in queued
    closed = handoff_page(case("closed"), DOCTOR, "tok", "en", "UTC", str, names)
    assert 'id="reply-form"' not in closed and 'id="claim-5"' not in closed
    assert 'data-live="0"' in closed and "live.js" not in closed
