"""The local scheduling backend: slots, booking, cancel, reschedule, DB integrity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.appointments.dates import WhenSpec
from bot.appointments.errors import (
    AppointmentNotFoundError,
    CutoffPassedError,
    DoubleBookingError,
    InvalidNameError,
    InvalidPhoneError,
    SlotClosedError,
    SlotFullError,
    UnknownDepartmentError,
)
from bot.appointments.interface import SchedulingBackend, SlotQuery
from bot.appointments.service import AppointmentService
from bot.store.appointment_models import Appointment, Slot
from tests.appointments.conftest import NOW, patient

MONDAY = date(2026, 11, 23)


def _slot(service: AppointmentService, department: str = "cardiology", day: date = MONDAY,
          session: str = "am"):
    return service.availability(department, WhenSpec(day=day, session=session)).slots[0]


def _fill(db, slot_id: str, left: int = 0) -> None:
    with db.begin() as s:
        s.execute(update(Slot).where(Slot.id == int(slot_id))
                  .values(booked=Slot.capacity - left))


def _count(db, **where) -> int:
    with db.begin() as s:
        stmt = select(Appointment)
        for key, value in where.items():
            stmt = stmt.where(getattr(Appointment, key) == value)
        return len(s.execute(stmt).scalars().all())


def test_local_backend_satisfies_the_protocol(backend) -> None:
    assert isinstance(backend, SchedulingBackend)


def test_availability_on_the_asked_day_and_session(service) -> None:
    result = service.availability("cardiology", WhenSpec(day=MONDAY, session="am"))
    assert result.exact
    assert [(s.doctor_id, s.day, s.session) for s in result.slots] == [
        ("card_wang", MONDAY, "am")]
    assert result.slots[0].fee_cents == 5000
    assert result.slots[0].title_names["zh"] == "主任医师"


def test_availability_offers_other_days_when_the_day_has_no_session(service) -> None:
    sunday_next = MONDAY + timedelta(days=6)
    result = service.availability("cardiology", WhenSpec(day=sunday_next))
    assert not result.exact and result.slots
    assert all(s.day > sunday_next for s in result.slots)


def test_unknown_department_and_past_days_are_refused(service) -> None:
    with pytest.raises(UnknownDepartmentError):
        service.availability("no_such", None)
    with pytest.raises(SlotClosedError):
        service.availability("cardiology", WhenSpec(day=MONDAY - timedelta(days=3)))
    with pytest.raises(SlotClosedError):
        service.availability("cardiology", WhenSpec(day=MONDAY + timedelta(days=60)))


def test_book_list_cancel(service, loaded_db) -> None:
    slot = _slot(service)
    booking = service.book(patient(), slot.slot_id, " 张三 ", "+86 138-1234-5678", "zh")
    assert booking.code.startswith("A") and booking.phone == "13812345678"
    assert booking.name == "张三" and booking.slot.booked == 1
    assert [b.code for b in service.bookings(patient())] == [booking.code]
    assert service.bookings(patient(2)) == []
    cancelled = service.cancel(patient(), booking.code.lower())
    assert cancelled.status == "cancelled" and cancelled.slot.booked == 0
    assert service.bookings(patient()) == []
    with pytest.raises(AppointmentNotFoundError):
        service.cancel(patient(), booking.code)


def test_someone_else_cannot_cancel_my_booking(service) -> None:
    booking = service.book(patient(1), _slot(service).slot_id, "Li Lei", "13912345678")
    with pytest.raises(AppointmentNotFoundError):
        service.cancel(patient(2), booking.code)


def test_invalid_details_write_nothing(service, loaded_db) -> None:
    slot = _slot(service)
    with pytest.raises(InvalidPhoneError):
        service.book(patient(), slot.slot_id, "张三", "12345678901")
    with pytest.raises(InvalidNameError):
        service.book(patient(), slot.slot_id, "张三3", "13812345678")
    assert _count(loaded_db) == 0
    assert service.backend.get_slot(slot.slot_id).booked == 0


def test_double_booking_is_refused(service, loaded_db) -> None:
    slot = _slot(service)
    service.book(patient(), slot.slot_id, "张三", "13812345678")
    with pytest.raises(DoubleBookingError):
        service.book(patient(), slot.slot_id, "张三", "13812345678")
    assert service.backend.get_slot(slot.slot_id).booked == 1
    assert _count(loaded_db) == 1


def test_full_slot_offers_alternatives_and_changes_nothing(service, loaded_db) -> None:
    slot = _slot(service)
    _fill(loaded_db, slot.slot_id)
    with pytest.raises(SlotFullError) as err:
        service.book(patient(), slot.slot_id, "张三", "13812345678")
    alternatives = err.value.alternatives
    assert alternatives and all(a.slot_id != slot.slot_id and a.remaining for a in alternatives)
    assert {a.department_id for a in alternatives} == {"cardiology"}
    assert _count(loaded_db) == 0


def test_cancel_cutoff(service, clock) -> None:
    booking = service.book(patient(), _slot(service).slot_id, "张三", "13812345678")
    clock.value = booking.slot.starts_at - timedelta(hours=1)
    with pytest.raises(CutoffPassedError):
        service.cancel(patient(), booking.code)
    clock.value = booking.slot.starts_at - timedelta(hours=3)
    assert service.cancel(patient(), booking.code).status == "cancelled"


def test_reschedule_moves_the_booking_atomically(service, loaded_db) -> None:
    old = service.book(patient(), _slot(service).slot_id, "张三", "13812345678")
    target = _slot(service, day=MONDAY + timedelta(days=2))  # Wednesday morning
    new = service.reschedule(patient(), old.code, target.slot_id)
    assert new.replaces == old.code and new.slot.slot_id == target.slot_id
    assert new.name == "张三" and new.slot.booked == 1
    assert service.backend.get_slot(old.slot.slot_id).booked == 0
    assert [b.code for b in service.bookings(patient())] == [new.code]
    assert _count(loaded_db, status="rescheduled") == 1


def test_reschedule_to_a_full_slot_keeps_the_old_one(service, loaded_db) -> None:
    old = service.book(patient(), _slot(service).slot_id, "张三", "13812345678")
    target = _slot(service, day=MONDAY + timedelta(days=2))
    _fill(loaded_db, target.slot_id)
    with pytest.raises(SlotFullError) as err:
        service.reschedule(patient(), old.code, target.slot_id)
    assert err.value.alternatives
    assert [b.code for b in service.bookings(patient())] == [old.code]
    assert service.backend.get_slot(old.slot.slot_id).booked == 1
    with pytest.raises(DoubleBookingError):
        service.reschedule(patient(), old.code, old.slot.slot_id)


def test_database_refuses_overbooking_without_the_code(backend, loaded_db) -> None:
    slot = backend.find_slots(SlotQuery("cardiology", MONDAY, MONDAY), NOW)[0]
    with pytest.raises(IntegrityError), loaded_db.begin() as s:
        s.execute(update(Slot).where(Slot.id == int(slot.slot_id))
                  .values(booked=Slot.capacity + 1))
    with pytest.raises(IntegrityError), loaded_db.begin() as s:
        s.execute(update(Slot).where(Slot.id == int(slot.slot_id)).values(booked=-1))


def test_database_refuses_a_second_active_booking_of_a_slot(service, loaded_db) -> None:
    booking = service.book(patient(), _slot(service).slot_id, "张三", "13812345678")
    with loaded_db.begin() as s:
        row = s.execute(select(Appointment)).scalar_one()
        values = {c.name: getattr(row, c.name) for c in Appointment.__table__.columns
                  if c.name != "id"}
    with pytest.raises(IntegrityError), loaded_db.begin() as s:
        s.execute(insert(Appointment), [{**values, "code": "AXXXXXXX"}])
    with loaded_db.begin() as s:  # a cancelled one may coexist
        s.execute(insert(Appointment), [{**values, "code": "AYYYYYYY", "status": "cancelled"}])
    with pytest.raises(IntegrityError), loaded_db.begin() as s:  # codes are unique
        s.execute(insert(Appointment), [{**values, "code": booking.code, "status": "cancelled"}])
