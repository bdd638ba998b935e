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


@pytest.mark.parametrize(("lang", "first", "ask_doctor"), [
    ("zh", "我妈胃疼", "我想找真人医生"), ("en", "my stomach hurts", "can I talk to a real doctor")])
def test_asking_for_a_doctor_leaves_the_interview_and_asks_consent(
        rules_triage, service, monkeypatch, lang, first, ask_doctor):
    """Issue 15 item 5 (dead ends): "我想找真人医生" inside the interview was read as an
    unreadable answer and the question repeated; now the doctor is offered (consent
    asked, naming what is shared) and the question is not asked again."""
    from sqlalchemy import select

    import tests.triage.test_triage_actions as ta
    from actions.triage import ValidateTriageForm
    from bot.handoff.factory import consent_service, handoff_service
    from bot.handoff.offers import HandoffOffers
    from bot.store.consent_models import ConsentPrompt

    d = Driver(rules_triage, lang, service)
    d.start(first)
    slot = d.ask()
    assert slot is not None
    real = ta.tracker

    def asking_for_a_human(slots, text, events=None):
        tracker = real(slots, text, events)
        tracker.latest_message["intent"] = {"name": "request_human"}
        return tracker

    monkeypatch.setattr(ta, "tracker", asking_for_a_human)
    offers = HandoffOffers(consent_service(), handoff_service(service.db))
    d.slots[slot] = ask_doctor
    d.run(ValidateTriageForm(rules_triage, offers), ask_doctor,
          [{"event": "slot", "name": slot, "value": ask_doctor}])
    assert d.slots["requested_slot"] is None and d.slots["form_exit"] == "triage_form"
    assert d.slots["offer_pending"] == "handoff" and d.slots.get(slot) is None
    texts = " ".join(m.get("text") or "" for m in d.said)
    assert ("转接医生前请确认" if lang == "zh" else "Please confirm before we connect you") in texts
    assert d.ask() is None  # the interview question is not repeated
    d.finish()
    said = [m.get("response") for m in d.said]
    assert "utter_triage_stopped" not in said and "utter_triage_result" not in said
    assert d.slots["offer_pending"] is None and d.slots["form_exit"] is None
    with service.db.begin() as session:  # the gate reads the answer to this question
        prompts = session.execute(select(ConsentPrompt)).scalars().all()
        assert [p.purpose for p in prompts if p.purpose == "handoff"] == ["handoff"]


def test_an_answer_is_read_even_if_the_nlu_thought_of_a_doctor(rules_triage, service, monkeypatch):
    import tests.triage.test_triage_actions as ta

    d = Driver(rules_triage, "zh", service)
    d.start("我妈胃疼")
    assert d.ask() == "triage_age"
    real = ta.tracker
    monkeypatch.setattr(ta, "tracker", lambda slots, text, events=None: _with_intent(
        real(slots, text, events), "request_human"))
    d.answer("68岁")
    assert d.slots["triage_age"] == 68.0 and d.slots.get("form_exit") is None


def _with_intent(tracker, intent):
    tracker.latest_message["intent"] = {"name": intent}
    return tracker


def test_a_word_the_nlu_took_for_a_doctor_request_is_no_hand_off(rules_triage, service, monkeypatch):
    """"male" answering "how bad is it?" was request_human to the NLU: no doctor offered."""
    import tests.triage.test_triage_actions as ta

    d = Driver(rules_triage, "en", service)
    d.start("my stomach hurts")
    slot = d.ask()
    real = ta.tracker
    monkeypatch.setattr(ta, "tracker", lambda slots, text, events=None: _with_intent(
        real(slots, text, events), "request_human"))
    d.answer("male" if slot != "triage_sex" else "blue")
    assert d.slots.get("form_exit") is None and d.slots.get("offer_pending") is None
    assert d.ask() == slot  # asked again, as any unreadable answer
