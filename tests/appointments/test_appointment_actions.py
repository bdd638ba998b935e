"""The booking, listing, cancel and reschedule actions, called as rasa_sdk calls them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select, update

from actions import appointments as act
from bot.appointments.dates import WhenSpec
from bot.store.appointment_models import Appointment, Slot
from tests.appointments.conftest import make_tracker, patient, texts
from tests.forms import answer

MONDAY_AM = {"day": "2026-11-23", "session": "am", "at": None, "asap": False}
USER = patient(1)


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher, events


def validate(action, slot, value, tracker):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(getattr(action, f"validate_{slot}")(value, dispatcher, tracker, {}))
    return dispatcher, result


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _count(db) -> int:
    with db.begin() as s:
        return s.execute(select(func.count()).select_from(Appointment)).scalar_one()


def test_first_message_prefills_department_doctor_and_time(services) -> None:
    tracker = make_tracker(text="我想挂明天上午心内科王医生的号", intent="book_appointment")
    _, events = run(act.ActionStartAppointment(services), tracker)
    slots = slots_of(events)
    assert slots["appt_department"] == "cardiology" and slots["appt_doctor"] == "card_wang"
    assert slots["appt_when"] == MONDAY_AM


def test_book_in_chinese_end_to_end(services) -> None:
    form = act.ValidateAppointmentForm(services)
    base = {"appt_department": "cardiology", "appt_doctor": "any", "appt_when": MONDAY_AM}
    dispatcher, events = run(act.ActionAskApptSlot(services),
                             make_tracker(base, active_loop="appointment_form"))
    [shown] = texts(dispatcher)
    assert "11月23日（周一）上午" in shown and "王建国" in shown and "挂号费50元" in shown
    options = slots_of(events)["appt_options"]
    _, picked = validate(form, "appt_slot", "1", make_tracker({**base, "appt_options": options}))
    assert picked == {"appt_slot": options[0]}
    dispatcher, bad = validate(form, "appt_phone", "12345", make_tracker())
    assert bad == {"appt_phone": None} and "手机号码格式不正确" in texts(dispatcher)[0]
    _, phone = validate(form, "appt_phone", "138 1234 5678", make_tracker())
    _, name = validate(form, "appt_name", "张三", make_tracker())
    filled = {**base, "appt_slot": options[0], **name, **phone}
    dispatcher, _ = run(act.ActionAskApptConfirm(services),
                        make_tracker(filled, active_loop="appointment_form"))
    confirm = texts(dispatcher)[0]
    assert "138****5678" in confirm and "张*" in confirm and "13812345678" not in confirm
    _, yes = validate(form, "appt_confirm", "确认", make_tracker(filled))
    assert yes == {"appt_confirm": True}
    dispatcher, events = run(act.ActionBookAppointment(services),
                             make_tracker({**filled, **yes}, sender=USER.external_id))
    booked = texts(dispatcher)[0]
    assert booked.startswith("预约成功") and "2小时" in booked
    [booking] = services.appointments.bookings(USER)
    assert booking.code in booked and booking.phone == "13812345678"
    assert all(e["value"] is None for e in events)


def test_book_in_english_with_a_triage_suggestion(services) -> None:
    form = act.ValidateAppointmentForm(services)
    tracker = make_tracker({"triage_department": "neurology"}, lang="en")
    dispatcher, _ = run(act.ActionAskApptDepartment(services), tracker)
    assert "Neurology is suggested" in texts(dispatcher, "en")[0]
    _, dep = validate(form, "appt_department", "yes", tracker)
    assert dep["appt_department"] == "neurology"
    dispatcher, _ = run(act.ActionAskApptDoctor(services), make_tracker(dep, lang="en"))
    assert "Dr Zhou Wen (Chief Physician, fee ¥50)" in texts(dispatcher, "en")[0]
    _, doctor = validate(form, "appt_doctor", "any doctor is fine", make_tracker(dep, lang="en"))
    assert doctor == {"appt_doctor": "any"}
    _, when = validate(form, "appt_when", "next Wednesday morning", make_tracker(lang="en"))
    assert when["appt_when"]["day"] == "2026-11-25" and when["appt_when"]["session"] == "am"
    dispatcher, events = run(act.ActionAskApptSlot(services),
                             make_tracker({**dep, **doctor, **when}, lang="en"))
    assert "Wed 25 Nov, morning: Neurology, Dr Zhou Wen" in texts(dispatcher, "en")[0]


def test_naming_a_doctor_or_department_instead_of_a_number(services) -> None:
    form = act.ValidateAppointmentForm(services)
    tracker = make_tracker({"appt_department": "cardiology", "appt_options": ["1", "2"]})
    assert validate(form, "appt_slot", "李医生", tracker)[1] == {
        "appt_doctor": "card_li", "appt_slot": None}
    assert validate(form, "appt_slot", "内分泌科", tracker)[1] == {
        "appt_department": "endocrinology", "appt_doctor": None, "appt_slot": None}
    dispatcher, result = validate(form, "appt_slot", "blah", tracker)
    assert result == {"appt_slot": None} and "序号" in texts(dispatcher)[0]


def test_unavailable_time_shows_alternatives(services) -> None:
    sunday = {"day": "2026-11-29", "session": None, "at": None, "asap": False}
    dispatcher, events = run(act.ActionAskApptSlot(services), make_tracker(
        {"appt_department": "cardiology", "appt_doctor": "any", "appt_when": sunday}))
    assert texts(dispatcher)[0].startswith("您要的时间没有可预约的号")
    assert slots_of(events)["appt_options"]


@pytest.mark.parametrize(("slot", "stop"), [("appt_department", "算了"), ("appt_name", "stop"),
                                            ("appt_phone", "不约了"), ("appt_when", "取消"),
                                            ("appt_confirm", "算了，不约了")])
def test_stop_at_any_step_books_nothing(services, slot, stop) -> None:
    _, result = answer(act.ValidateAppointmentForm(services), slot, stop)
    assert result["requested_slot"] is None and result["appt_confirm"] is False
    dispatcher, _ = run(act.ActionBookAppointment(services), make_tracker(
        {"appt_slot": "1", "appt_confirm": False, "appt_name": "张三", "appt_phone": "13812345678"}))
    assert texts(dispatcher) == ["好的，已停止，没有做任何预约或更改。"]
    assert _count(services.db) == 0


def test_change_answers_at_confirmation(services) -> None:
    form = act.ValidateAppointmentForm(services)
    filled = make_tracker({"appt_department": "cardiology", "appt_slot": "3"})
    _, later = validate(form, "appt_confirm", "改成后天上午", filled)
    assert later["appt_when"]["day"] == "2026-11-24" and later["appt_slot"] is None
    assert later["appt_confirm"] is None
    _, phone = validate(form, "appt_confirm", "手机号改成13900001111", filled)
    assert phone["appt_phone"] == "13900001111" and phone["appt_confirm"] is None
    _, doctor = validate(form, "appt_confirm", "换个医生", filled)
    assert doctor["appt_doctor"] is None and doctor["appt_slot"] is None
    _, dept = validate(form, "appt_confirm", "还是挂内分泌科吧", filled)
    assert dept["appt_department"] == "endocrinology"
    dispatcher, unclear = validate(form, "appt_confirm", "有停车位吗？", filled)
    assert unclear == {"appt_confirm": None} and texts(dispatcher)


def test_slot_taken_at_submit_reopens_the_choice(services) -> None:
    slot = services.appointments.availability("cardiology", WhenSpec.from_slot(MONDAY_AM)).slots[0]
    with services.db.begin() as s:
        s.execute(update(Slot).where(Slot.id == int(slot.slot_id)).values(booked=Slot.capacity))
    dispatcher, events = run(act.ActionBookAppointment(services), make_tracker(
        {"appt_slot": slot.slot_id, "appt_confirm": True, "appt_name": "张三",
         "appt_phone": "13812345678", "appt_department": "cardiology", "appt_when": MONDAY_AM}))
    assert "刚刚被约满" in texts(dispatcher)[0]
    assert FollowupAction("appointment_form") in events
    assert SlotSet("appt_slot", None) in events and _count(services.db) == 0


def _book(services, when=MONDAY_AM, who=USER):
    slot = services.appointments.availability("cardiology", WhenSpec.from_slot(when)).slots[0]
    return services.appointments.book(who, slot.slot_id, "张三", "13812345678")


def test_list_and_cancel(services) -> None:
    dispatcher, _ = run(act.ActionListAppointments(services), make_tracker(sender=USER.external_id))
    assert texts(dispatcher)[0].startswith("您目前没有")
    dispatcher, events = run(act.ActionStartCancelAppointment(services),
                             make_tracker(sender=USER.external_id))
    assert not any(e.get("event") == "followup" for e in events)
    booking = _book(services)
    dispatcher, _ = run(act.ActionListAppointments(services), make_tracker(sender=USER.external_id))
    assert booking.code in texts(dispatcher)[0]
    _, events = run(act.ActionStartCancelAppointment(services),
                    make_tracker(sender=USER.external_id))
    assert slots_of(events)["appt_target"] == booking.code
    assert FollowupAction("appointment_cancel_form") in events
    tracker = make_tracker({"appt_target": booking.code}, sender=USER.external_id,
                           active_loop="appointment_cancel_form")
    dispatcher, _ = run(act.ActionAskApptConfirm(services), tracker)
    assert texts(dispatcher)[0].startswith("确定要取消这个预约吗")
    form = act.ValidateAppointmentCancelForm(services)
    _, yes = validate(form, "appt_confirm", "确定", tracker)
    dispatcher, _ = run(act.ActionCancelAppointment(services), make_tracker(
        {"appt_target": booking.code, **yes}, sender=USER.external_id))
    assert texts(dispatcher) == [f"已取消预约 {booking.code}。"]
    assert services.appointments.bookings(USER) == []


def test_cancel_choice_by_number_and_cutoff(services, clock) -> None:
    first = _book(services)
    _book(services, {"day": "2026-11-25", "session": "am", "at": None, "asap": False})
    form = act.ValidateAppointmentCancelForm(services)
    tracker = make_tracker(sender=USER.external_id)
    _, chosen = validate(form, "appt_target", "第1个", tracker)
    assert chosen["appt_target"] == first.code
    dispatcher, bad = validate(form, "appt_target", "第9个", tracker)
    assert bad == {"appt_target": None} and texts(dispatcher)
    clock.value = first.slot.starts_at - timedelta(hours=1)
    dispatcher, _ = run(act.ActionCancelAppointment(services), make_tracker(
        {"appt_target": first.code, "appt_confirm": True}, sender=USER.external_id))
    assert "不足2小时" in texts(dispatcher)[0]
    assert len(services.appointments.bookings(USER)) == 2


def test_reschedule_in_english(services) -> None:
    booking = _book(services)
    _, events = run(act.ActionStartRescheduleAppointment(services), make_tracker(
        text="move it to next Wednesday morning", sender=USER.external_id, lang="en"))
    slots = slots_of(events)
    assert slots["appt_target"] == booking.code and slots["appt_when"]["day"] == "2026-11-25"
    assert FollowupAction("appointment_reschedule_form") in events
    dispatcher, events = run(act.ActionAskApptSlot(services), make_tracker(slots, lang="en"))
    options = slots_of(events)["appt_options"]
    form = act.ValidateAppointmentRescheduleForm(services)
    _, picked = validate(form, "appt_slot", "the first one",
                         make_tracker({**slots, "appt_options": options}, lang="en"))
    filled = {**slots, **picked}
    dispatcher, _ = run(act.ActionAskApptConfirm(services), make_tracker(
        filled, sender=USER.external_id, lang="en", active_loop="appointment_reschedule_form"))
    assert texts(dispatcher, "en")[0].startswith("Reschedule?\nFrom: Mon 23 Nov")
    dispatcher, _ = run(act.ActionRescheduleAppointment(services), make_tracker(
        {**filled, "appt_confirm": True}, sender=USER.external_id, lang="en"))
    assert texts(dispatcher, "en")[0].startswith("Rescheduled! New booking code")
    [new] = services.appointments.bookings(USER)
    assert new.slot.day.isoformat() == "2026-11-25" and new.code != booking.code


@pytest.mark.parametrize("action", [act.ActionCancelAppointment, act.ActionRescheduleAppointment])
@pytest.mark.parametrize("confirm", [False, None])
def test_a_no_or_an_exit_says_which_booking_was_kept(services, action, confirm) -> None:
    """Issue 15 item 3: "不" to "cancel it?" (or 算了) changes nothing and says what was kept."""
    booking = _book(services)
    dispatcher, events = run(action(services), make_tracker(
        {"appt_target": booking.code, "appt_confirm": confirm}, sender=USER.external_id))
    said = texts(dispatcher)
    assert said[0] == "好的，已停止，没有做任何预约或更改。"
    assert said[1].startswith("您的预约：") and booking.code in said[1]
    assert services.appointments.bookings(USER) == [booking]
    assert slots_of(events)["appt_target"] is None


def test_a_stop_without_bookings_says_only_that_nothing_changed(services) -> None:
    dispatcher, _ = run(act.ActionCancelAppointment(services), make_tracker(
        {"appt_target": None, "appt_confirm": False}, sender=USER.external_id))
    assert texts(dispatcher) == ["好的，已停止，没有做任何预约或更改。"]


@pytest.mark.parametrize(("text", "name", "phone"), [
    ("帮我妈挂心内科，就诊人是李桂兰，手机13812345678，明天上午", "李桂兰", "13812345678"),
    ("my name is Helen Wang, book cardiology tomorrow morning", "Helen Wang", None),
    ("我想挂明天上午心内科王医生的号", None, None),  # no name is guessed
])
def test_patient_name_and_phone_given_up_front_are_kept(services, text, name, phone) -> None:
    """Issue 15 item 7: facts given up front (the patient's name) are not asked again."""
    _, events = run(act.ActionStartAppointment(services),
                    make_tracker(text=text, intent="book_appointment"))
    slots = slots_of(events)
    assert slots["appt_department"] == "cardiology"
    assert slots["appt_name"] == name and slots["appt_phone"] == phone


def test_the_reply_an_appointment_reminder_asks_for_cancels_that_booking(services) -> None:
    """The reminder says: reply "取消预约 <code>" / "cancel appointment <code>"; with two
    bookings, the code in that reply chooses the one the reminder was about."""
    from bot.i18n import t

    _book(services)
    second = _book(services, when={**MONDAY_AM, "session": "pm"})
    for lang in ("zh", "en"):
        reply = t("utter_appointment_reminder_cancel", lang, code=second.code)
        said = reply.removeprefix("回复“").removeprefix('reply "').rstrip("”\"")
        _, events = run(act.ActionStartCancelAppointment(services),
                        make_tracker(text=said, sender=USER.external_id, lang=lang))
        assert slots_of(events)["appt_target"] == second.code
        assert FollowupAction("appointment_cancel_form") in events


@pytest.mark.parametrize("text", [
    "I want to book general practice next Wednesday. Also I've had a fever for two days and "
    "I'm getting short of breath, which is new",
    "帮我约下周三的全科 另外我发烧两天了 现在有点气短 以前没有过",
])
def test_a_booking_that_mentions_urgent_symptoms_asks_about_them_first(services, text) -> None:
    """Symptoms that need a doctor today, said in passing in a booking request, start
    the triage interview (whose result offers the booking again) instead of a booking
    for next week."""
    dispatcher, events = run(act.ActionStartAppointment(services),
                             make_tracker(text=text, intent="book_appointment"))
    assert FollowupAction("triage_form") in events
    assert slots_of(events)["triage_text"] == text
    assert "appt_department" not in slots_of(events)
    assert any(m.get("response") == "utter_triage_intro" for m in dispatcher.messages)


@pytest.mark.parametrize("text", [
    "我想约下周三心内科 复查一下血压",
    "book general practice next Wednesday morning, I have a mild cough",
])
def test_a_booking_with_routine_symptoms_is_a_booking(services, text) -> None:
    _, events = run(act.ActionStartAppointment(services),
                    make_tracker(text=text, intent="book_appointment"))
    assert FollowupAction("triage_form") not in events
    assert "appt_when" in slots_of(events)
