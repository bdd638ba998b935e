from __future__ import annotations

import pytest

from actions.language import language_events


def slots(events: list) -> dict:
    return {e["name"]: e["value"] for e in events}


@pytest.mark.parametrize(("text", "current", "expected"), [
    ("你好", "en", {"language": "zh"}),
    ("hello", "zh", {"language": "en"}),
    ("hello", "en", {}),
    ("150/95", "en", {}),  # nothing to tell: keep the current language
])
def test_detected_language_follows_the_patient(text, current, expected) -> None:
    assert slots(language_events(text, "greet", current, locked=False)) == expected


def test_explicit_switch_sets_and_locks() -> None:
    assert slots(language_events("English please", "switch_language", "zh", False)) == {
        "language": "en", "language_locked": True}
    assert slots(language_events("说中文", "switch_language", "en", True)) == {
        "language": "zh", "language_locked": True}
    # switch without a target toggles
    assert slots(language_events("切换语言", "switch_language", "zh", False))["language"] == "en"


def test_a_locked_choice_is_kept() -> None:
    assert language_events("头疼", "report_symptoms", "en", locked=True) == []


def test_button_and_menu_payloads_keep_the_language() -> None:
    assert language_events("/ask_hospital_info", "ask_hospital_info", "zh", locked=False) == []
