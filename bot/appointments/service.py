"""Booking use cases: validation and policy on top of a ``SchedulingBackend``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.appointments.dates import WhenSpec
from bot.appointments.errors import CutoffPassedError, SlotClosedError, UnknownDepartmentError
from bot.appointments.interface import (
    Booking,
    BookingRequest,
    PatientRef,
    SchedulingBackend,
    SlotInfo,
    SlotQuery,
)
from bot.appointments.patient import normalise_name, normalise_phone
from bot.appointments.schedule import HospitalSchedule
from bot.clock import Clock, SystemClock
from bot.masking import mask_name, mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Availability:
    """Slots for a request: ``exact`` when they match the asked day/session."""

    slots: list[SlotInfo]
    exact: bool


class AppointmentService:
    """Find slots, book, list, cancel and reschedule, with the hospital's policy."""

    def __init__(self, backend: SchedulingBackend, schedule: HospitalSchedule,
                 clock: Clock | None = None, patient_timezone: str | None = None) -> None:
        self.backend = backend
        self.schedule = schedule
        self.clock = clock or SystemClock()
        self.patient_tz = ZoneInfo(patient_timezone) if patient_timezone else schedule.tz

    def now(self) -> datetime:
        return self.clock.now()

    def local_now(self, tz_name: str | None = None) -> datetime:
        """Now in the patient's time zone (``tz_name``, else the configured patient
        time zone, else the hospital's); relative dates are read against it."""
        return self.now().astimezone(ZoneInfo(tz_name) if tz_name else self.patient_tz)

    def availability(self, department_id: str, when: WhenSpec | None,
                     doctor_id: str | None = None, limit: int = 5) -> Availability:
        """Open slots for the asked day/session; if none, the nearest others.

        Raises:
            UnknownDepartmentError: no doctors in that department.
            SlotClosedError: a day in the past or beyond the horizon.
        """
        if department_id not in self.schedule.department_ids():
            raise UnknownDepartmentError(f"no bookable department {department_id!r}")
        now = self.now()
        today = now.astimezone(self.schedule.tz).date()
        last = today + timedelta(days=self.schedule.horizon_days)
        if when and when.day and not today <= when.day <= last:
            raise SlotClosedError(f"{when.day} is outside {today}..{last}")
        if when and when.day:
            exact = self.backend.find_slots(SlotQuery(
                department_id, when.day, when.day, doctor_id=doctor_id, session=when.session,
                limit=limit), now)
            if exact:
                return Availability(exact, True)
        start = when.day if when and when.day else today
        slots = self.backend.find_slots(SlotQuery(
            department_id, start, last, doctor_id=doctor_id,
            session=when.session if when and not when.day else None, limit=limit), now)
        if not slots and doctor_id:  # that doctor is fully booked: any doctor of the department
            slots = self.backend.find_slots(SlotQuery(department_id, today, last, limit=limit), now)
        exact = bool(when is None or when.asap or (not when.day and slots))
        return Availability(slots, exact)

    def book(self, patient: PatientRef, slot_id: str, name: str, phone: str,
             language: str = "zh") -> Booking:
        """Validate the patient's details (nothing is written if invalid), then book."""
        request = BookingRequest(patient, slot_id, normalise_name(name), normalise_phone(phone),
                                 language)
        log.info("appointment.book slot=%s name=%s phone=%s", slot_id, mask_name(request.name),
                 mask_phone(request.phone))
        return self.backend.book(request, self.now())

    def bookings(self, patient: PatientRef) -> list[Booking]:
        return self.backend.bookings(patient, self.now())

    def _check_cutoff(self, booking: Booking) -> None:
        cutoff = timedelta(hours=self.schedule.cancel_cutoff_hours)
        if booking.slot.starts_at - self.now() < cutoff:
            raise CutoffPassedError(f"booking {booking.code} starts within {cutoff}")

    def cancel(self, patient: PatientRef, code: str) -> Booking:
        """Cancel unless the visit is closer than the cutoff."""
        self._check_cutoff(self.backend.get_booking(patient, code))
        return self.backend.cancel(patient, code, self.now())

    def reschedule(self, patient: PatientRef, code: str, new_slot_id: str) -> Booking:
        """Move a booking (cutoff applies to the current one); atomic in the backend."""
        self._check_cutoff(self.backend.get_booking(patient, code))
        return self.backend.reschedule(patient, code, new_slot_id, self.now())
