"""The scheduling interface: what the booking conversation needs from a hospital.

:class:`SchedulingBackend` is a ``typing.Protocol``; the default implementation
is :class:`bot.appointments.local.LocalScheduling` (our own database). A
hospital's HIS can be plugged in by implementing the same methods; see
docs/scheduling-interface.md. Times are timezone-aware; slot ids and booking
codes are opaque strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

@dataclass(frozen=True)
class PatientRef:
    """Who is booking: the chat identity (channel + channel user id)."""

    channel: str
    external_id: str


@dataclass(frozen=True)
class SlotInfo:
    """One bookable half-day session of one doctor."""

    slot_id: str
    department_id: str
    doctor_id: str
    doctor_names: dict[str, str]
    title_names: dict[str, str]
    fee_cents: int
    day: date
    session: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True)
class SlotQuery:
    """Open slots of a department (optionally one doctor) between two dates."""

    department_id: str
    start: date
    end: date
    doctor_id: str | None = None
    session: str | None = None
    limit: int = 5


@dataclass(frozen=True)
class BookingRequest:
    """A validated booking: name and phone are already normalised."""

    patient: PatientRef
    slot_id: str
    name: str
    phone: str
    language: str = "zh"


@dataclass(frozen=True)
class Booking:
    """A booking as the patient sees it."""

    code: str
    status: str
    slot: SlotInfo
    name: str
    phone: str
    created_at: datetime
    replaces: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class SchedulingBackend(Protocol):
    """Slots and bookings of one hospital.

    Implementations guarantee: no overbooking and no double booking, even under
    concurrent calls; a failed call changes nothing. Errors are those of
    :mod:`bot.appointments.errors` (all ``bot.errors.MedbotError``).
    """

    def find_slots(self, query: SlotQuery, now: datetime) -> list[SlotInfo]:
        """Open slots (places left, not yet over) matching ``query``, earliest first."""

    def get_slot(self, slot_id: str) -> SlotInfo:
        """One slot; raises ``NotFoundError``."""

    def alternatives(self, slot_id: str, now: datetime, limit: int = 3) -> list[SlotInfo]:
        """Open slots closest to ``slot_id``: same doctor, then same department."""

    def book(self, request: BookingRequest, now: datetime) -> Booking:
        """Take one place; raises ``SlotFullError`` (with alternatives),
        ``DoubleBookingError``, ``SlotClosedError``."""

    def get_booking(self, patient: PatientRef, code: str) -> Booking:
        """The patient's active booking ``code``; raises ``AppointmentNotFoundError``."""

    def bookings(self, patient: PatientRef, now: datetime) -> list[Booking]:
        """The patient's active bookings that are not over yet, earliest first."""

    def cancel(self, patient: PatientRef, code: str, now: datetime) -> Booking:
        """Cancel an active booking and free its place."""

    def reschedule(self, patient: PatientRef, code: str, new_slot_id: str,
                   now: datetime) -> Booking:
        """Move a booking in one transaction: the old place is kept until the new
        one is taken; on any error nothing changes. Returns the new booking."""
