"""``medbot kb load``: upsert the hospital timetable into the database.

Idempotent: running it twice changes nothing the second time. Doctors missing
from the file are deactivated (their history stays); future slots follow the
new weekly sessions, but a slot that already has bookings is never deleted or
shrunk below its bookings - it is reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.appointments.local import LocalScheduling
from bot.appointments.schedule import HospitalSchedule
from bot.store.appointment_models import Department, Doctor, ScheduleSession, Slot
from bot.store.db import Database


@dataclass
class LoadReport:
    departments: int = 0
    doctors: int = 0
    deactivated: int = 0
    sessions: int = 0
    slots_created: int = 0
    slots_removed: int = 0
    slots_kept_with_bookings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.departments} departments, {self.doctors} doctors "
                f"({self.deactivated} deactivated), {self.sessions} weekly sessions, "
                f"{self.slots_created} slots created, {self.slots_removed} removed")
        if self.slots_kept_with_bookings:
            text += (f"; {len(self.slots_kept_with_bookings)} slots no longer scheduled but "
                     f"booked (kept, contact patients): {', '.join(self.slots_kept_with_bookings)}")
        return text


def load_schedule(db: Database, schedule: HospitalSchedule, now: datetime) -> LoadReport:
    """Upsert departments, doctors, weekly sessions and the bookable horizon, in one transaction."""
    report = LoadReport()
    today = now.astimezone(schedule.tz).date()
    with db.begin() as session:
        for dep in schedule.departments.values():
            row = session.get(Department, dep.id) or Department(id=dep.id)
            row.name_zh, row.name_en = dep.names["zh"], dep.names["en"]
            session.add(row)
            report.departments += 1
        session.flush()
        wanted_ids = {d.id for d in schedule.doctors}
        for spec in schedule.doctors:
            row = session.get(Doctor, spec.id) or Doctor(id=spec.id)
            row.department_id, row.title = spec.department, spec.title
            row.name_zh, row.name_en = spec.names["zh"], spec.names["en"]
            row.fee_cents, row.active = schedule.titles[spec.title].fee_cents, True
            session.add(row)
            report.doctors += 1
        for row in session.execute(select(Doctor).where(Doctor.id.not_in(wanted_ids))).scalars():
            if row.active:
                row.active = False
                report.deactivated += 1
        session.flush()
        report.sessions = _sync_sessions(session, schedule)
        report.slots_created = LocalScheduling(db, schedule).ensure_slots(
            session, today, today + timedelta(days=schedule.horizon_days))
        _sync_future_slots(session, schedule, today, report)
    return report


def _sync_sessions(session, schedule: HospitalSchedule) -> int:
    existing = {(s.doctor_id, s.weekday, s.session): s
                for s in session.execute(select(ScheduleSession)).scalars()}
    wanted = {(d.id, w.weekday, w.session): w.capacity
              for d in schedule.doctors for w in d.schedule}
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
        elif row.capacity != wanted[key]:
            row.capacity = wanted[key]
    for key, capacity in wanted.items():
        if key not in existing:
            session.add(ScheduleSession(doctor_id=key[0], weekday=key[1], session=key[2],
                                        capacity=capacity))
    session.flush()
    return len(wanted)


def _sync_future_slots(session, schedule: HospitalSchedule, today, report: LoadReport) -> None:
    capacity = {(d.id, w.weekday, w.session): w.capacity for d in schedule.doctors
                for w in d.schedule}
    for slot in session.execute(select(Slot).where(Slot.day >= today)).scalars().all():
        wanted = capacity.get((slot.doctor_id, slot.day.weekday(), slot.session))
        if wanted is None:
            if slot.booked == 0:
                session.delete(slot)
                report.slots_removed += 1
            else:
                report.slots_kept_with_bookings.append(str(slot.id))
        elif slot.capacity != wanted:
            slot.capacity = max(wanted, slot.booked)
    session.flush()
