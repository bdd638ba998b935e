"""Issue 15, forms that survive people: exits, questions inside a form, answers
checked against the question, the triage offer answered yes or no."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import appointments as act
from actions.offers import ActionAnswerOffer
from bot.info import HospitalInfoService
from tests.appointments.conftest import make_tracker, texts
from tests.forms import answer

BOOKING_SLOTS = {"appt_department": "cardiology", "appt_doctor": "any",
                 "appt_when": {"day": "2026-11-23", "session": "am", "at": None, "asap": False},
                 "appt_slot": "1"}


def responses(messages: list[dict]) -> list[str | None]:
    return [m.get("response") for m in messages]


@pytest.mark.parametrize(("slot", "text"), [
    ("appt_department", "算了 不用了"), ("appt_doctor", "never mind"), ("appt_when", "退出"),
    ("appt_slot", "forget it"), ("appt_name", "cancel"), ("appt_phone", "不要了"),
    ("appt_confirm", "stop"),
])
def test_every_booking_step_accepts_an_exit(services, slot: str, text: str) -> None:
    said, slots = answer(act.ValidateAppointmentForm(services), slot, text, BOOKING_SLOTS)
    assert said == []  # the action after the form says what was kept
    assert slots["requested_slot"] is None and slots["appt_confirm"] is False
    assert slots["form_exit"] == "appointment_form"
    assert slots[slot] is (False if slot == "appt_confirm" else None)  # the exit is no answer


def test_a_message_that_also_carries_content_is_read_not_dropped(services) -> None:
    """"算了还是说中文吧 妇产科 下周一上午" used to stop the form and lose the rest."""
    said, slots = answer(act.ValidateAppointmentForm(services), "appt_department",
                         "算了还是说中文吧 妇产科 下周一上午")
    assert "requested_slot" not in slots and "form_exit" not in slots
    assert slots["appt_department"] == "obstetrics_gynecology"
    assert slots["appt_when"]["day"] == "2026-11-23" and slots["appt_when"]["session"] == "am"


def test_cancel_answers_the_cancel_form_instead_of_leaving_it(services) -> None:
    form = act.ValidateAppointmentCancelForm(services)
    _, slots = answer(form, "appt_confirm", "取消", {"appt_target": "A1"})
    assert slots.get("requested_slot", "asked again") == "asked again"
    assert slots["appt_confirm"] is None  # unclear: asked again, nothing cancelled
    _, slots = answer(form, "appt_confirm", "算了")
    assert slots["requested_slot"] is None and slots["appt_confirm"] is False


@pytest.mark.parametrize(("text", "lang"), [("how much is parking", "en"), ("停车方便吗", "zh"),
                                            ("要带什么", "zh"), ("挂号费多少钱？", "zh")])
def test_a_question_inside_the_form_is_answered_and_the_question_repeated(
        services, text: str, lang: str) -> None:
    said, slots = answer(act.ValidateAppointmentForm(services), "appt_name", text, lang=lang)
    assert responses(said)[0].startswith("utter_hospital_") and responses(said)[-1] == "utter_form_resume"
    assert said[0].get("answer") or said[0].get("hospital_phone")  # the specific answer
    assert slots == {"appt_name": None}  # not stored: the form asks the name again


def test_a_hospital_question_recognised_by_the_nlu_is_answered_too(services) -> None:
    said, slots = answer(act.ValidateAppointmentForm(services), "appt_phone",
                         "where do I go?", lang="en", intent="ask_hospital_info")
    assert responses(said)[0].startswith("utter_hospital_") and slots == {"appt_phone": None}


@pytest.mark.parametrize("text", ["是的", "好的", "yes", "hello", "本人", "王"])
def test_a_name_is_a_name(services, text: str) -> None:
    said, slots = answer(act.ValidateAppointmentForm(services), "appt_name", text)
    assert slots == {"appt_name": None}
    assert "姓名" in texts(CollectingDispatcherLike(said))[0]


@pytest.mark.parametrize(("text", "name"), [("张三", "张三"), ("我叫李小明", "李小明"),
                                            ("my name is Li Wei", "Li Wei"),
                                            ("欧阳娜娜", "欧阳娜娜")])
def test_names_are_kept(services, text: str, name: str) -> None:
    _, slots = answer(act.ValidateAppointmentForm(services), "appt_name", text)
    assert slots == {"appt_name": name}


@pytest.mark.parametrize("text", ["+86 138 1234 5678", "138-1234-5678", "我的手机是13812345678",
                                  "my number is +86 138 1234 5678", "0086 13812345678"])
def test_a_phone_number_may_have_spaces_or_plus_86(services, text: str) -> None:
    _, slots = answer(act.ValidateAppointmentForm(services), "appt_phone", text)
    assert slots == {"appt_phone": "13812345678"}


def test_two_phone_numbers_are_asked_again(services) -> None:
    _, slots = answer(act.ValidateAppointmentForm(services), "appt_phone",
                      "13812345678 或 13900001111")
    assert slots == {"appt_phone": None}


class CollectingDispatcherLike:
    """``texts`` of tests.appointments.conftest reads a dispatcher's messages."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages


# --- the triage result's offer ------------------------------------------------------

def offer_tracker(text: str, intent: str | None, offer: str | None = "booking",
                  lang: str = "zh"):
    return make_tracker({"offer_pending": offer, "triage_department": "neurology",
                         "triage_level": "routine"}, text, intent=intent, lang=lang)


def run_offer(services, tracker):
    dispatcher = CollectingDispatcher()
    action = ActionAnswerOffer(services, hospital=HospitalInfoService.load())
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


@pytest.mark.parametrize(("text", "intent", "lang"), [
    ("好的", "affirm", "zh"), ("要", "nlu_fallback", "zh"), ("可以", "affirm", "zh"),
    ("yes", "affirm", "en"), ("yes please", "affirm", "en"), ("要", None, "zh"),
])
def test_yes_to_the_booking_offer_starts_booking_with_the_department(
        services, text: str, intent: str | None, lang: str) -> None:
    said, events = run_offer(services, offer_tracker(text, intent, lang=lang))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert said == []  # the booking form asks its next question
    assert slots["appt_department"] == "neurology" and slots["offer_pending"] is None
    assert events[-1] == FollowupAction("appointment_form")


def test_yes_with_a_time_keeps_the_time(services) -> None:
    _, events = run_offer(services, offer_tracker("好的，下周一上午", "affirm"))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["appt_when"]["day"] == "2026-11-23" and slots["appt_department"] == "neurology"


@pytest.mark.parametrize(("text", "intent", "lang"), [
    ("不用了", "deny", "zh"), ("no thanks", "deny", "en"), ("不要", "nlu_fallback", "zh"),
    ("算了", "deny", "zh"), ("nope", None, "en"),
])
def test_no_to_the_booking_offer_closes_politely(services, text, intent, lang) -> None:
    said, events = run_offer(services, offer_tracker(text, intent, lang=lang))
    assert responses(said) == ["utter_offer_declined"]
    assert not any(e.get("event") == "followup" for e in events)
    assert {"event": "slot", "name": "offer_pending", "value": None,
            "timestamp": None} in events


@pytest.mark.parametrize(("text", "intent", "lang"), [
    ("no idea", "deny", "en"), ("not sure", "deny", "en"), ("不知道", "deny", "zh"),
    ("no clue", "deny", "en"), ("说不好", None, "zh"),
])
def test_not_knowing_is_no_answer_to_the_booking_offer(services, text, intent, lang) -> None:
    """"no idea" was read as a no (the NLU says deny): the offer is made again, open."""
    said, events = run_offer(services, offer_tracker(text, intent, lang=lang))
    [message] = said
    assert message["response"] == "utter_triage_next_routine" and message["department"]
    assert events == []


def test_yes_to_the_emergency_offer_sends_the_address(services) -> None:
    said, _ = run_offer(services, offer_tracker("好的", "affirm", offer="emergency_info"))
    assert responses(said) == ["utter_hospital_topic"]
    said, _ = run_offer(services, offer_tracker("不用", "deny", offer="emergency_info"))
    assert responses(said) == ["utter_offer_declined_emergency"]


def test_book_appointment_after_the_offer_fills_the_offered_department(services) -> None:
    tracker = make_tracker({"offer_pending": "booking", "triage_department": "neurology"},
                           "帮我约吧", intent="book_appointment")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(act.ActionStartAppointment(services).run(dispatcher, tracker, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["appt_department"] == "neurology" and slots["offer_pending"] is None


@pytest.mark.parametrize(("text", "lang", "doctor"), [
    ("不对，是下周四，李医生", "zh", "card_li"),
    ("no, it's next thursday, with Dr Li", "en", "card_li"),
    ("换成李敏 下周四", "zh", "card_li"),
])
def test_a_correction_with_new_content_applies_both(services, text, lang, doctor) -> None:
    """Issue 15 item 3: "不对，是下周四，李医生" changes the day *and* the doctor."""
    slots_before = {**BOOKING_SLOTS, "appt_doctor": "card_wang", "appt_name": "陈淑芬",
                    "appt_phone": "13800001234"}
    _, slots = answer(act.ValidateAppointmentForm(services), "appt_confirm", text,
                      slots_before, lang=lang)
    assert slots["appt_doctor"] == doctor
    assert slots["appt_when"]["day"] is not None and slots["appt_slot"] is None
    assert slots["appt_confirm"] is None  # confirmed again after the new choice
    assert "appt_name" not in slots and "appt_phone" not in slots  # kept


def test_another_doctor_without_a_name_is_asked_again(services) -> None:
    _, slots = answer(act.ValidateAppointmentForm(services), "appt_confirm", "换个医生",
                      {**BOOKING_SLOTS, "appt_doctor": "card_wang"})
    assert slots["appt_doctor"] is None and slots["appt_slot"] is None


@pytest.mark.parametrize(("text", "lang"), [("下周六上午可以吗？", "zh"),
                                            ("can we come next saturday morning?", "en")])
def test_a_date_put_as_a_question_is_the_answer(services, text, lang) -> None:
    """Issue 15 item 6: even when the NLU takes it for hospital information."""
    said, slots = answer(act.ValidateAppointmentForm(services), "appt_when", text,
                         {"appt_department": "cardiology", "appt_doctor": "card_li"},
                         lang=lang, intent="ask_hospital_info")
    assert slots["appt_when"]["day"] is not None and "utter_form_resume" not in responses(said)
