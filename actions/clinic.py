"""The base of the actions that use the outpatient clinic's services (booking, re-visits)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.appointments import dialogue
from bot.appointments.errors import SlotFullError
from bot.appointments.interface import PatientRef
from bot.app import current_app
from bot.clinic import Services
from bot.errors import MedbotError


class ClinicAction(MedbotAction):
    """Booking and re-visit actions: the clinic services (injectable), the patient, error rendering."""

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
