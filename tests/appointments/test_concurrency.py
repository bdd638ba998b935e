"""Many patients booking the last place at once: exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import select, update

from bot.appointments.dates import WhenSpec
from bot.appointments.errors import DoubleBookingError, SlotFullError
from bot.appointments.local import LocalScheduling
from bot.appointments.service import AppointmentService
from bot.store.appointment_models import Appointment, Slot
from bot.store.db import Database
from tests.appointments.conftest import patient

PARALLEL = 20
MONDAY = date(2026, 11, 23)


def _race(db_url: str, schedule, clock, slot_id: str, patients) -> list[object]:
    """Each patient books through its own engine (like separate action-server
    processes), all released at the same instant."""
    barrier = threading.Barrier(len(patients))

    def attempt(who):
        db = Database(db_url)
        service = AppointmentService(LocalScheduling(db, schedule), schedule, clock)
        try:
            barrier.wait()
            return service.book(who, slot_id, "王小明", "13800138000")
        except (SlotFullError, DoubleBookingError) as exc:
            return exc
        finally:
            db.dispose()

    with ThreadPoolExecutor(max_workers=len(patients)) as pool:
        return list(pool.map(attempt, patients))


def _service(db_url: str, schedule, clock) -> tuple[AppointmentService, Database]:
    db = Database(db_url)
    return AppointmentService(LocalScheduling(db, schedule), schedule, clock), db


def test_twenty_sessions_book_the_last_place(loaded_db, db_url, schedule, clock) -> None:
    service, db = _service(db_url, schedule, clock)
    try:
        slot = service.availability("cardiology", WhenSpec(day=MONDAY, session="am")).slots[0]
        with db.begin() as s:
            s.execute(update(Slot).where(Slot.id == int(slot.slot_id))
                      .values(booked=Slot.capacity - 1))
        results = _race(db_url, schedule, clock, slot.slot_id,
                        [patient(n) for n in range(PARALLEL)])
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1
        assert len(losers) == PARALLEL - 1
        assert all(isinstance(r, SlotFullError) and r.alternatives for r in losers)
        assert all(a.slot_id != slot.slot_id for r in losers for a in r.alternatives)
        with db.begin() as s:
            row = s.get(Slot, int(slot.slot_id))
            assert row.booked == row.capacity
            assert len(s.execute(select(Appointment)).scalars().all()) == 1
    finally:
        db.dispose()


def test_one_patient_double_clicking_books_once(loaded_db, db_url, schedule, clock) -> None:
    service, db = _service(db_url, schedule, clock)
    try:
        slot = service.availability("cardiology", WhenSpec(day=MONDAY, session="am")).slots[0]
        results = _race(db_url, schedule, clock, slot.slot_id, [patient(1)] * 8)
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert all(isinstance(r, DoubleBookingError) for r in results if isinstance(r, Exception))
        assert service.backend.get_slot(slot.slot_id).booked == 1
    finally:
        db.dispose()
