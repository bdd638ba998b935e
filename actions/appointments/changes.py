"""Listing, cancelling and rescheduling bookings (``appointment_cancel_form``,
``appointment_reschedule_form``)."""

from __future__ import annotations

import abc
import asyncio
import re
from typing import Any

from rasa_sdk.events import FollowupAction, SlotSet

from actions.appointments.common import (
    ANY_DOCTOR,
    BOOK_SLOTS,
    STOP,
    SlotChoiceMixin,
)
from actions.base import MedbotFormValidation
from actions.clinic import ClinicAction
from bot.app import current_app
from bot.appointments import dialogue
from bot.appointments.dates import parse_when
from bot.appointments.errors import SlotFullError
from bot.clinic import Services
from bot.consent.confirm import SensitiveActions
from bot.errors import MedbotError
from bot.handoff.factory import sensitive_actions
from bot.text.yesno import read_confirmation


class ActionListAppointments(ClinicAction):
    def name(self) -> str:
        return "action_list_appointments"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        bookings = await asyncio.to_thread(services.appointments.bookings, self.patient(tracker))
        if not bookings:
            dispatcher.utter_message(response="utter_appointment_list_empty")
        else:
            dispatcher.utter_message(response="utter_appointment_list", bookings=dialogue
                                     .booking_lines(bookings, services.schedule, lang))
        return []


# "cancel my appointment" names one; "cancel it" right after a reminder does not
_NAMES_APPOINTMENT = re.compile(r"预约|挂号|挂的号|就诊|门诊|复诊|(?<![a-z])(?:appointments?|"
                                r"bookings?|visits?|slots?)(?![a-z])")


class _StartChange(ClinicAction):
    """Starts the cancel/reschedule form, only when the patient has a booking."""

    form = ""
    #: the confirmation service (``bot.consent.confirm``); None: the handoff feature's
    confirmations: SensitiveActions | None = None

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        bookings = await asyncio.to_thread(self.services.appointments.bookings,
                                           self.patient(tracker))
        events = [SlotSet(slot, None) for slot in BOOK_SLOTS]
        if not bookings:
            question = await self._recent_reminder_question(tracker)
            if question:  # "cancel it" right after setting a reminder means the reminder
                dispatcher.utter_message(text=question)
                return events
            dispatcher.utter_message(response="utter_appointment_list_empty")
            return events
        text = self.latest_text(tracker).lower()
        named = [b for b in bookings if b.code.lower() in text]
        if len(bookings) == 1 or named:
            chosen = (named or bookings)[0]
            events += [SlotSet("appt_target", chosen.code),
                       SlotSet("appt_department", chosen.slot.department_id),
                       SlotSet("appt_doctor", ANY_DOCTOR)]
        when = parse_when(self.latest_text(tracker), self.services.appointments.local_now())
        if when is not None and self.form == "appointment_reschedule_form":
            events.append(SlotSet("appt_when", when.to_slot()))
        return [*events, FollowupAction(self.form)]

    async def _recent_reminder_question(self, tracker) -> str | None:
        """With no booking, "cancel it" (no appointment named) right after a reminder was
        set asks to confirm cancelling that reminder (as "删了吧" does)."""
        if (self.form != "appointment_cancel_form"
                or _NAMES_APPOINTMENT.search(self.latest_text(tracker).lower())):
            return None
        confirmations = self.confirmations
        if confirmations is None:  # injected services (tests) bring their own database
            confirmations = (sensitive_actions(self.services.db) if self._services is not None
                             else current_app().confirmations)
        return await asyncio.to_thread(confirmations.request_recent_reminder_cancel,
                                       *self.identity(tracker), self.language(tracker))


class ActionStartCancelAppointment(_StartChange):
    form = "appointment_cancel_form"

    def name(self) -> str:
        return "action_start_cancel_appointment"


class ActionStartRescheduleAppointment(_StartChange):
    form = "appointment_reschedule_form"

    def name(self) -> str:
        return "action_start_reschedule_appointment"


class ActionAskApptTarget(ClinicAction):
    def name(self) -> str:
        return "action_ask_appt_target"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        bookings = await asyncio.to_thread(services.appointments.bookings, self.patient(tracker))
        dispatcher.utter_message(response="utter_ask_appt_target", bookings=dialogue
                                 .booking_lines(bookings, services.schedule, lang))
        return []


class _ValidateChangeForm(SlotChoiceMixin, MedbotFormValidation, ClinicAction):
    def __init__(self, services: Services | None = None) -> None:
        ClinicAction.__init__(self, services)

    @abc.abstractmethod
    def name(self) -> str:  # pragma: no cover - abstract: not registered
        ...

    def cancel_is_exit(self, slot: str) -> bool:
        """"取消" may answer "which booking?" or "cancel it?" here: it is no exit."""
        return slot not in ("appt_target", "appt_confirm")

    async def validate_appt_target(self, value, dispatcher, tracker, domain):
        bookings = await asyncio.to_thread(self.services.appointments.bookings,
                                           self.patient(tracker))
        chosen = next((b for b in bookings if b.code.lower() in (value or "").lower()), None)
        if chosen is None:
            index = dialogue.pick_option(value or "", len(bookings))
            chosen = bookings[index] if index is not None else None
        if chosen is None:
            dispatcher.utter_message(response="utter_appointment_target_invalid")
            return {"appt_target": None}
        return {"appt_target": chosen.code, "appt_department": chosen.slot.department_id,
                "appt_doctor": ANY_DOCTOR}

    async def validate_appt_confirm(self, value, dispatcher, tracker, domain):
        if value is True:
            return {"appt_confirm": True}
        if self.name() == "validate_appointment_reschedule_form":
            when = parse_when(value or "", self.services.appointments.local_now())
            if when is not None:
                return {"appt_when": when.to_slot(), "appt_slot": None, "appt_confirm": None}
        answer = read_confirmation(value or "")
        if answer is None:
            dispatcher.utter_message(response="utter_appointment_confirm_unclear")
            return {"appt_confirm": None}
        return {"appt_confirm": True} if answer else STOP


class ValidateAppointmentCancelForm(_ValidateChangeForm):
    def name(self) -> str:
        return "validate_appointment_cancel_form"


class ValidateAppointmentRescheduleForm(_ValidateChangeForm):
    def name(self) -> str:
        return "validate_appointment_reschedule_form"


async def say_kept(action: ClinicAction, dispatcher, tracker, code: str | None) -> None:
    """The patient stopped a cancel or reschedule: nothing changed, and the
    booking that was kept is shown (the one chosen, else all of them)."""
    dispatcher.utter_message(response="utter_appointment_stopped")
    services, lang = action.services, action.language(tracker)
    bookings = await asyncio.to_thread(services.appointments.bookings, action.patient(tracker))
    kept = [b for b in bookings if b.code == code] or bookings
    if kept:
        dispatcher.utter_message(response="utter_appointment_list", bookings=dialogue
                                 .booking_lines(kept, services.schedule, lang))


class ActionCancelAppointment(ClinicAction):
    def name(self) -> str:
        return "action_cancel_appointment"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, code = self.language(tracker), tracker.get_slot("appt_target")
        if tracker.get_slot("appt_confirm") is not True or not code:
            await say_kept(self, dispatcher, tracker, code)
            return [SlotSet(slot, None) for slot in BOOK_SLOTS]
        try:
            booking = await asyncio.to_thread(self.services.appointments.cancel,
                                              self.patient(tracker), code)
            dispatcher.utter_message(response="utter_appointment_cancelled", code=booking.code)
        except MedbotError as exc:
            self.error(dispatcher, exc, lang)
        return [SlotSet(slot, None) for slot in BOOK_SLOTS]


class ActionRescheduleAppointment(ClinicAction):
    def name(self) -> str:
        return "action_reschedule_appointment"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, services = self.language(tracker), self.services
        code, slot_id = tracker.get_slot("appt_target"), tracker.get_slot("appt_slot")
        if tracker.get_slot("appt_confirm") is not True or not code or not slot_id:
            await say_kept(self, dispatcher, tracker, code)
            return [SlotSet(slot, None) for slot in BOOK_SLOTS]
        try:
            booking = await asyncio.to_thread(services.appointments.reschedule,
                                              self.patient(tracker), code, slot_id)
        except SlotFullError:
            dispatcher.utter_message(response="utter_appointment_slot_taken")
            return [SlotSet("appt_slot", None), SlotSet("appt_confirm", None),
                    FollowupAction("appointment_reschedule_form")]
        except MedbotError as exc:
            self.error(dispatcher, exc, lang)
            return [SlotSet(slot, None) for slot in BOOK_SLOTS]
        dispatcher.utter_message(
            response="utter_appointment_rescheduled", code=booking.code, old_code=code,
            summary=dialogue.slot_summary(booking.slot, services.schedule, lang))
        return [SlotSet(slot, None) for slot in BOOK_SLOTS]
