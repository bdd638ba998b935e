"""Errors of the booking use cases (each names a bilingual ``utter_*`` text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.errors import ConflictError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from bot.appointments.interface import SlotInfo


class SlotFullError(ConflictError):
    """The chosen slot has no place left; ``alternatives`` are open slots nearby."""

    message_key = "utter_appointment_slot_full"

    def __init__(self, detail: str = "", alternatives: Sequence[SlotInfo] = ()) -> None:
        super().__init__(detail)
        self.alternatives = list(alternatives)


class DoubleBookingError(ConflictError):
    """The patient already holds an active booking for this slot."""

    message_key = "utter_appointment_double_booking"


class CutoffPassedError(ConflictError):
    """Too close to (or after) the visit to cancel or reschedule online."""

    message_key = "utter_appointment_cutoff_passed"


class SlotClosedError(ConflictError):
    """The slot is in the past or outside the booking horizon."""

    message_key = "utter_appointment_slot_closed"


class AppointmentNotFoundError(NotFoundError):
    """No active booking with this code for this patient."""

    message_key = "utter_appointment_not_found"


class InvalidPhoneError(ValidationError):
    message_key = "utter_appointment_invalid_phone"


class InvalidNameError(ValidationError):
    message_key = "utter_appointment_invalid_name"


class UnknownDepartmentError(ValidationError):
    """The department has no bookable doctors at this hospital."""

    message_key = "utter_appointment_no_department"
