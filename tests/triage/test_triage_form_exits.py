"""Issue 15: the triage interview can be left ("算了", "stop"), a hospital question
inside it is answered, and the result's offer is recorded for the yes/no answer."""

from __future__ import annotations

import pytest

from tests.triage.test_triage_actions import Driver, service  # noqa: F401 - the fixture

EXITS = [("zh", "算了"), ("zh", "不用了"), ("zh", "退出"), ("en", "stop"), ("en", "cancel"),
         ("en", "never mind")]


@pytest.mark.parametrize(("lang", "text"), EXITS)
def test_the_interview_can_be_left_and_nothing_is_kept(rules_triage, service, lang, text):
    d = Driver(rules_triage, lang, service)
    d.start("胸口疼" if lang == "zh" else "I have chest pain")
    assert d.ask() == "triage_red_flag"
    d.answer(text)
    assert d.slots["requested_slot"] is None and d.slots["form_exit"] == "triage_form"
    assert d.ask() is None  # the question is not repeated: the form has ended
    d.finish()
    said = [m.get("response") for m in d.said]
    assert said[-1] == "utter_triage_stopped" and "utter_triage_result" not in said
    assert d.slots["form_exit"] is None
    assert service.records("rest:patient-1") == []  # nothing assessed, nothing stored


def test_an_answer_with_more_words_is_no_exit(rules_triage, service):
    d = Driver(rules_triage, "zh", service)
    d.start("胸口疼")
    d.ask()
    d.answer("算了，先说别的")  # read as an answer (unreadable here), not as an exit
    assert d.slots.get("form_exit") is None
    assert d.ask() == "triage_red_flag"


def test_a_hospital_question_is_answered_and_the_question_asked_again(rules_triage, service):
    d = Driver(rules_triage, "zh", service)
    d.start("胸口疼")
    assert d.ask() == "triage_red_flag"
    d.answer("医院停车方便吗？")
    said = [m.get("response") for m in d.said]
    assert said[-1] == "utter_form_resume" and any(r.startswith("utter_hospital_") for r in said)
    assert d.slots["triage_flag_answers"] == {}
    assert d.ask() == "triage_red_flag"


@pytest.mark.parametrize(("first", "answers", "offer"), [
    ("我女儿发烧了", ["5岁", "3天"], "booking"),
    ("我想挂下周的心内科，刚才胸口压着疼还一直出汗", [], "emergency_info"),
])
def test_the_result_records_its_offer(triage, service, first, answers, offer):
    d = Driver(triage, "zh", service)
    d.start(first)
    for reply in answers:
        if d.ask() is None:
            break
        d.answer(reply)
    d.ask()
    d.finish()
    assert d.slots["offer_pending"] == offer
