"""Booking: ``appointment_form`` and its submit action. The form stops when the
patient says only "算了"/"stop" (``MedbotFormValidation``); nothing is written
before the final confirmation."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions.appointments.common import (
    ANY_DOCTOR,
    BOOK_SLOTS,
    STOP,
    SlotChoiceMixin,
)
from actions.base import MedbotFormValidation
from actions.clinic import ClinicAction
from actions.triage import ActionStartTriage
from bot.appointments import dialogue
from bot.appointments.dates import parse_when
from bot.appointments.errors import SlotFullError
from bot.appointments.patient import (
    name_in_text,
    normalise_name,
    normalise_phone,
    phone_in_text,
)
from bot.clinic import Services
from bot.errors import MedbotError, ValidationError
from bot.text.yesno import read_confirmation, read_yes_no


class ActionStartAppointment(ClinicAction):
    """Resets the booking slots and pre-fills what the first message already says."""

    def name(self) -> str:
        return "action_start_appointment"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        suggested = tracker.get_slot("appt_suggested_department")
        if suggested is None and tracker.get_slot("offer_pending") == "booking":
            suggested = tracker.get_slot("triage_department")  # "帮我约吧" after the offer
        if suggested is None and tracker.get_slot("triage_level") is None:
            # a booking that mentions symptoms needing a doctor today: ask about them
            # first (the result offers the booking again, with the right urgency)
            started = await ActionStartTriage().begin_if_symptoms(dispatcher, tracker,
                                                                  urgent_only=True)
            if started:
                return started
        return self.start_events(tracker, suggested)

    def start_events(self, tracker: Tracker, suggested: str | None) -> list[dict[str, Any]]:
        """Reset the booking and pre-fill department, doctor and time from the message;
        ``suggested`` is the department when the message names none."""
        services = self.services
        schedule = services.schedule
        text = self.latest_text(tracker)
        events = [SlotSet(slot, None) for slot in BOOK_SLOTS]
        entity = next(iter(self.entity_values(tracker, "department")), None)
        department = schedule.match_department(entity or "") or schedule.match_department(text)
        if department not in schedule.department_ids():
            department = None
        if department is None and suggested in schedule.department_ids():
            department = suggested
        if department:
            events.append(SlotSet("appt_department", department))
            doctor = dialogue.match_doctor(text, schedule, department)
            if doctor:
                events.append(SlotSet("appt_doctor", doctor))
        when = parse_when(text, services.appointments.local_now())
        if when is not None:
            events.append(SlotSet("appt_when", when.to_slot()))
        name, phone = name_in_text(text), phone_in_text(text)  # "就诊人王秀英" said up front
        if name:
            events.append(SlotSet("appt_name", name))
        if phone:
            events.append(SlotSet("appt_phone", phone))
        events += [SlotSet("appt_suggested_department", None), SlotSet("offer_pending", None)]
        return events


class ActionAskApptDepartment(ClinicAction):
    def name(self) -> str:
        return "action_ask_appt_department"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, schedule = self.language(tracker), self.services.schedule
        suggested = tracker.get_slot("triage_department")
        if suggested in schedule.department_ids():
            dispatcher.utter_message(response="utter_ask_appt_department_suggested",
                                     department=schedule.departments[suggested].names[lang])
        else:
            dispatcher.utter_message(response="utter_ask_appt_department",
                                     departments=dialogue.department_names(schedule, lang))
        return []


class ActionAskApptDoctor(ClinicAction):
    def name(self) -> str:
        return "action_ask_appt_doctor"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, schedule = self.language(tracker), self.services.schedule
        department = tracker.get_slot("appt_department")
        dispatcher.utter_message(response="utter_ask_appt_doctor",
                                 department=schedule.departments[department].names[lang],
                                 doctors=dialogue.doctor_lines(schedule, department, lang))
        return []


class ValidateAppointmentForm(SlotChoiceMixin, MedbotFormValidation, ClinicAction):
    def __init__(self, services: Services | None = None) -> None:
        ClinicAction.__init__(self, services)

    def name(self) -> str:
        return "validate_appointment_form"

    def other_choice(self, text: str, tracker: Tracker) -> dict[str, Any] | None:
        schedule = self.services.schedule
        department = tracker.get_slot("appt_department")
        doctor = dialogue.match_doctor(text, schedule, department)
        if doctor:
            return {"appt_doctor": doctor, "appt_slot": None}
        other = schedule.match_department(text)
        if other in schedule.department_ids() and other != department:
            return {"appt_department": other, "appt_doctor": None, "appt_slot": None}
        return None

    async def validate_appt_department(self, value, dispatcher, tracker, domain):
        lang, schedule = self.language(tracker), self.services.schedule
        if value in schedule.department_ids():
            return {"appt_department": value}
        suggested = tracker.get_slot("triage_department")
        department = schedule.match_department(value or "")
        if department is None and suggested in schedule.department_ids() \
                and read_confirmation(value or "") is True:
            department = suggested
        if department not in schedule.department_ids():
            dispatcher.utter_message(response="utter_appointment_unknown_department",
                                     departments=dialogue.department_names(schedule, lang))
            return {"appt_department": None}
        updates = {"appt_department": department, "appt_doctor": None, "appt_slot": None}
        # "算了还是说中文吧 妇产科 下周一上午": the time said with it is kept too
        when = parse_when(value or "", self.services.appointments.local_now())
        if when is not None and self.within_horizon(when):
            updates["appt_when"] = when.to_slot()
        return updates

    async def validate_appt_doctor(self, value, dispatcher, tracker, domain):
        schedule = self.services.schedule
        department = tracker.get_slot("appt_department")
        if value == ANY_DOCTOR or any(d.id == value for d in schedule.doctors):
            return {"appt_doctor": value}
        doctor = dialogue.match_doctor(value or "", schedule, department)
        if doctor:
            return {"appt_doctor": doctor}
        if dialogue.wants_any(value or "") or read_yes_no(value or "") is False:
            return {"appt_doctor": ANY_DOCTOR}
        lang = self.language(tracker)
        dispatcher.utter_message(
            response="utter_appointment_unknown_doctor",
            doctors=dialogue.doctor_lines(schedule, department, lang).replace("\n", " "))
        return {"appt_doctor": None}

    async def validate_appt_name(self, value, dispatcher, tracker, domain):
        try:
            return {"appt_name": normalise_name(value or "")}
        except ValidationError as exc:
            dispatcher.utter_message(response=exc.message_key)
            return {"appt_name": None}

    async def validate_appt_phone(self, value, dispatcher, tracker, domain):
        try:
            return {"appt_phone": normalise_phone(value or "")}
        except ValidationError as exc:
            dispatcher.utter_message(response=exc.message_key)
            return {"appt_phone": None}

    async def validate_appt_confirm(self, value, dispatcher, tracker, domain):
        if value is True:
            return {"appt_confirm": True}
        services = self.services
        change = dialogue.read_change(value or "", services.appointments.local_now(),
                                      services.schedule, tracker.get_slot("appt_department"))
        if change.any:
            return change.slot_updates(tracker.get_slot("appt_department"))
        answer = read_confirmation(value or "")
        if answer is None:
            dispatcher.utter_message(response="utter_appointment_confirm_unclear")
            return {"appt_confirm": None}
        return {"appt_confirm": True} if answer else STOP


class ActionBookAppointment(ClinicAction):
    """After the form: book if confirmed; a full slot re-opens the choice."""

    def name(self) -> str:
        return "action_book_appointment"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        if tracker.get_slot("appt_confirm") is not True or not tracker.get_slot("appt_slot"):
            dispatcher.utter_message(response="utter_appointment_stopped")
            return [SlotSet(slot, None) for slot in BOOK_SLOTS]
        try:
            booking = await asyncio.to_thread(
                services.appointments.book, self.patient(tracker), tracker.get_slot("appt_slot"),
                tracker.get_slot("appt_name"), tracker.get_slot("appt_phone"), lang)
        except SlotFullError:
            # taken meanwhile: nothing was booked; re-open the choice (the form lists alternatives)
            dispatcher.utter_message(response="utter_appointment_slot_taken")
            return [SlotSet("appt_slot", None), SlotSet("appt_confirm", None),
                    FollowupAction("appointment_form")]
        except MedbotError as exc:
            self.error(dispatcher, exc, lang)
            return [SlotSet(slot, None) for slot in BOOK_SLOTS]
        dispatcher.utter_message(
            response="utter_appointment_booked", code=booking.code,
            hours=f"{services.schedule.cancel_cutoff_hours:g}",
            summary=dialogue.slot_summary(booking.slot, services.schedule, lang))
        return [SlotSet(slot, None) for slot in BOOK_SLOTS]


