"""Shared plumbing of the appointment actions: services, patient identity, error
rendering, and the slot questions both the booking and rescheduling forms ask."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.appointments import dialogue
from bot.appointments.dates import WhenSpec, parse_when
from bot.appointments.errors import SlotFullError
from bot.appointments.interface import PatientRef
from bot.app import current_app
from bot.errors import MedbotError
from bot.revisits.factory import Services


BOOK_SLOTS = ("appt_department", "appt_doctor", "appt_when", "appt_slot", "appt_name",
              "appt_phone", "appt_confirm", "appt_options", "appt_target")
STOP = {"requested_slot": None, "appt_confirm": False}
ANY_DOCTOR = "any"


class AppointmentAction(MedbotAction):
    """Shared plumbing: services (injectable), the patient, error rendering."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or current_app().bookings

    @staticmethod
    def patient(tracker: Tracker) -> PatientRef:
        return PatientRef(*MedbotAction.identity(tracker))

    def error(self, dispatcher: CollectingDispatcher, exc: MedbotError, lang: str) -> None:
        schedule = self.services.schedule
        params = {"hours": f"{schedule.cancel_cutoff_hours:g}", "days": schedule.horizon_days,
                  "hospital_phone": hospital_phone(), "detail": ""}
        if isinstance(exc, SlotFullError):
            params["options"] = dialogue.slot_lines(exc.alternatives, schedule, lang)
        dispatcher.utter_message(response=exc.message_key, **params)


def hospital_phone() -> str:
    try:
        return current_app().hospital.phone
    except MedbotError:
        return "120"


class ActionAskApptSlot(AppointmentAction):
    """Shows the open sessions for the asked time, or the nearest alternatives."""

    def name(self) -> str:
        return "action_ask_appt_slot"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        department = tracker.get_slot("appt_department")
        doctor = tracker.get_slot("appt_doctor")
        when = WhenSpec.from_slot(tracker.get_slot("appt_when"))
        try:
            found = await asyncio.to_thread(
                services.appointments.availability, department, when,
                None if doctor in (None, ANY_DOCTOR) else doctor)
        except MedbotError as exc:
            self.error(dispatcher, exc, lang)
            return [SlotSet("appt_options", [])]
        if not found.slots:
            dispatcher.utter_message(
                response="utter_appointment_no_slots", days=services.schedule.horizon_days,
                department=services.schedule.departments[department].names[lang],
                hospital_phone=hospital_phone())
        else:
            dispatcher.utter_message(
                response="utter_appointment_options" if found.exact
                else "utter_appointment_options_alternative",
                options=dialogue.slot_lines(found.slots, services.schedule, lang))
        return [SlotSet("appt_options", [s.slot_id for s in found.slots])]


class ActionAskApptConfirm(AppointmentAction):
    """The confirmation question of whichever appointment form is active."""

    def name(self) -> str:
        return "action_ask_appt_confirm"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        schedule = services.schedule
        form = (tracker.active_loop or {}).get("name")
        backend = services.appointments.backend
        try:
            if form == "appointment_cancel_form":
                booking = await asyncio.to_thread(backend.get_booking, self.patient(tracker),
                                                  tracker.get_slot("appt_target"))
                dispatcher.utter_message(
                    response="utter_appointment_cancel_confirm",
                    summary=dialogue.slot_summary(booking.slot, schedule, lang))
                return []
            slot = await asyncio.to_thread(backend.get_slot, tracker.get_slot("appt_slot"))
            if form == "appointment_reschedule_form":
                booking = await asyncio.to_thread(backend.get_booking, self.patient(tracker),
                                                  tracker.get_slot("appt_target"))
                dispatcher.utter_message(
                    response="utter_appointment_reschedule_confirm",
                    old=dialogue.slot_summary(booking.slot, schedule, lang),
                    new=dialogue.slot_summary(slot, schedule, lang))
                return []
        except MedbotError as exc:
            self.error(dispatcher, exc, lang)
            return []
        dispatcher.utter_message(
            response="utter_appointment_confirm",
            summary=dialogue.slot_summary(slot, schedule, lang),
            **dialogue.masked_contact(tracker.get_slot("appt_name"),
                                      tracker.get_slot("appt_phone")))
        return []


class SlotChoiceMixin:
    """Validation shared by the booking and rescheduling forms (an exit, "算了",
    is read before them by ``MedbotFormValidation``; ``STOP`` marks it)."""

    exit_updates = {"appt_confirm": False}

    def looks_like_answer(self, slot: str, text: str, tracker: Tracker) -> bool:
        """A day or time, a choice from the list, a doctor or department named."""
        if slot in ("appt_when", "appt_slot") and parse_when(
                text, self.services.appointments.local_now()) is not None:
            return True
        if slot == "appt_slot":
            options = tracker.get_slot("appt_options") or []
            return dialogue.pick_option(text, len(options)) is not None
        if slot in ("appt_department", "appt_doctor"):
            schedule = self.services.schedule
            return bool(schedule.match_department(text) or dialogue.match_doctor(
                text, schedule, tracker.get_slot("appt_department")))
        return False

    def within_horizon(self, when: WhenSpec) -> bool:
        """A day from today to the booking horizon (or no day given)."""
        today = self.services.appointments.local_now().date()
        return not when.day or 0 <= (when.day - today).days <= self.services.schedule.horizon_days

    async def validate_appt_when(self, value, dispatcher, tracker, domain):
        if isinstance(value, dict):  # pre-filled by the start action
            return {"appt_when": value}
        services = self.services
        when = parse_when(value or "", services.appointments.local_now())
        if when is None:
            dispatcher.utter_message(response="utter_appointment_invalid_date")
            return {"appt_when": None}
        if not self.within_horizon(when):
            dispatcher.utter_message(response="utter_appointment_slot_closed",
                                     days=services.schedule.horizon_days)
            return {"appt_when": None}
        return {"appt_when": when.to_slot(), "appt_slot": None}

    async def validate_appt_slot(self, value, dispatcher, tracker, domain):
        options = tracker.get_slot("appt_options") or []
        if value in options:
            return {"appt_slot": value}
        choice = dialogue.pick_option(value or "", len(options))
        if choice is not None:
            return {"appt_slot": options[choice]}
        when = parse_when(value or "", self.services.appointments.local_now())
        if when is not None:  # another time: show the sessions for it
            return {"appt_when": when.to_slot(), "appt_slot": None}
        other = self.other_choice(value or "", tracker)
        if other:
            return other
        dispatcher.utter_message(response="utter_appointment_pick_invalid")
        return {"appt_slot": None}

    def other_choice(self, text: str, tracker: Tracker) -> dict[str, Any] | None:
        """Another department or doctor named instead of a number (booking form only)."""
        return None


