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


@pytest.mark.parametrize(("text", "current"), [
    ("王芳", "en"),        # a Chinese name as the answer in an English booking
    ("Kevin", "zh"),       # an English name in a Chinese one
    ("Tom Li", "zh"),
    ("any", "zh"),
    ("ok", "zh"),
])
def test_a_bare_answer_to_a_form_question_keeps_the_language(text, current) -> None:
    """Issue 15 item 9: one word or a name does not flip the reply language."""
    assert language_events(text, "inform", current, locked=False, answering=True) == []


@pytest.mark.parametrize("text", ["A7K3M9PQ", "AKMNPQRS", "bk-2024-17"])
def test_an_id_never_flips_the_language(text) -> None:
    assert language_events(text, "inform", "zh", locked=False) == []


@pytest.mark.parametrize(("text", "current", "expected"), [
    ("算了还是说中文吧 妇产科 下周一上午", "en", {"language": "zh"}),
    ("I would like to book cardiology", "zh", {"language": "en"}),
])
def test_a_real_sentence_in_a_form_still_switches(text, current, expected) -> None:
    assert slots(language_events(text, "inform", current, locked=False,
                                 answering=True)) == expected


@pytest.mark.parametrize("text", ["OK", "thanks", "BP 150/95"])
def test_one_english_word_in_a_chinese_conversation_keeps_chinese(text) -> None:
    assert language_events(text, "thank", "zh", locked=False, settled=True) == []


def test_a_first_hello_still_chooses_english() -> None:
    assert slots(language_events("hello", "greet", "zh", locked=False)) == {"language": "en"}
    assert slots(language_events("hello there, I need help", "greet", "zh", locked=False,
                                 settled=True)) == {"language": "en"}


@pytest.mark.parametrize(("text", "current"), [
    ("ok 要", "zh"), ("no 不用", "zh"), ("没有 never diagnosed", "zh"), ("算了 cancel", "zh"),
    ("ok 好的", "en"),
])
def test_a_short_code_mixed_reply_keeps_the_language(text, current) -> None:
    """Issue 15 items 7 and 9: "ok 要" to "需要我帮您预约神经内科的门诊吗？" answered the
    rest of the Chinese conversation in English."""
    assert language_events(text, "affirm", current, locked=False, settled=True) == []


def test_a_code_mixed_sentence_still_chooses_by_words() -> None:
    assert slots(language_events("I have 头痛 since yesterday", "report_symptoms", "zh",
                                 locked=False, settled=True)) == {"language": "en"}
    assert slots(language_events("我想预约 cardiology 下周一上午", "book", "en",
                                 locked=False, settled=True)) == {"language": "zh"}


def test_a_name_the_nlu_took_for_switch_language_switches_nothing() -> None:
    """"Emily Zhang" as the patient's name was read as switch_language and toggled
    an English booking to Chinese (and locked it)."""
    assert language_events("Emily Zhang", "switch_language", "en", locked=False,
                           answering=True, settled=True) == []
    assert slots(language_events("换个语言", "switch_language", "en", False)) == {
        "language": "zh", "language_locked": True}
    assert slots(language_events("change language please", "switch_language", "zh", False)) == {
        "language": "en", "language_locked": True}
