"""Turn reminders and follow-up enrolments into due jobs, a rolling horizon ahead.

Every occurrence is a ``Dose`` (unique per reminder and instant) plus a job with
a unique idempotency key, so planning twice never duplicates anything. Planning
one reminder happens under a row lock on it (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serialises writers), and ``planned_until`` moves in the same
transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.clock import as_utc
from bot.reminders.kb import FollowupKB
from bot.store.appointment_models import Appointment, Slot
from bot.store.reminder_models import Dose, FollowupEnrolment, MedicationReminder, ScheduledJob


def occurrences(times: list[time], tz: str, start: date, end: date | None,
                after: datetime, until: datetime) -> list[datetime]:
    """UTC instants of the local ``times`` on each day from ``start`` to ``end``
    (inclusive), strictly after ``after`` and up to ``until``."""
    zone = ZoneInfo(tz)
    first = max(start, after.astimezone(zone).date() - timedelta(days=1))
    last = until.astimezone(zone).date() + timedelta(days=1)
    if end is not None:
        last = min(last, end)
    found = []
    day = first
    while day <= last:
        for at in times:
            instant = datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)
            if after < instant <= until:
                found.append(instant)
        day += timedelta(days=1)
    return sorted(found)


# the appointment reminders: the day before, and on the day 3 h before the visit (an hour
# before the default 2-hour cancellation cut-off, so the reminder can still be acted on)
APPOINTMENT_REMINDERS = (("day_before", timedelta(hours=24)), ("same_day", timedelta(hours=3)))


def add_job(session: Session, *, kind: str, patient_id: int, due_at: datetime, key: str,
            ref_id: int | None = None, generation: int = 0,
            payload: dict | None = None, check: bool = True) -> ScheduledJob | None:
    """Insert a pending job unless its idempotency key exists; returns it or None.

    ``check=False`` skips the lookup when the caller guarantees the key is new.
    """
    if check and session.execute(
            select(ScheduledJob.id).where(ScheduledJob.idempotency_key == key)).first():
        return None
    job = ScheduledJob(kind=kind, patient_id=patient_id, ref_id=ref_id, generation=generation,
                       due_at=due_at, status="pending", idempotency_key=key, attempts=0,
                       payload_json=json.dumps(payload, ensure_ascii=False) if payload else None)
    session.add(job)
    return job


class Planner:
    """Plans doses and follow-up prompts up to ``now + horizon``."""

    def __init__(self, horizon: timedelta, followup_kb: FollowupKB | None = None) -> None:
        self.horizon = horizon
        self.followup_kb = followup_kb

    def plan_reminder(self, session: Session, reminder: MedicationReminder,
                      now: datetime) -> int:
        until = now + self.horizon
        after = as_utc(reminder.planned_until) if reminder.planned_until else now
        times = [time.fromisoformat(v) for v in json.loads(reminder.times_json)]
        count = 0
        if reminder.status == "active":
            existing = set(session.execute(select(Dose.scheduled_at).where(
                Dose.reminder_id == reminder.id, Dose.scheduled_at > after)).scalars())
            existing = {as_utc(v) for v in existing}
            for instant in occurrences(times, reminder.timezone, reminder.start_date,
                                       reminder.end_date, after, until):
                if instant in existing:
                    continue
                dose = Dose(reminder_id=reminder.id, patient_id=reminder.patient_id,
                            scheduled_at=instant, status="scheduled", generation=0)
                session.add(dose)
                session.flush()
                add_job(session, kind="dose", patient_id=reminder.patient_id, ref_id=dose.id,
                        due_at=instant, key=f"dose:{dose.id}:0")
                count += 1
            zone = ZoneInfo(reminder.timezone)
            if reminder.end_date is not None and now.astimezone(zone).date() > reminder.end_date:
                reminder.status = "finished"
        reminder.planned_until = until
        return count

    def plan_enrolment(self, session: Session, enrolment: FollowupEnrolment,
                       now: datetime) -> int:
        plan = self.followup_kb.plans.get(enrolment.plan_id) if self.followup_kb else None
        until = now + self.horizon
        after = as_utc(enrolment.planned_until) if enrolment.planned_until else now
        count = 0
        if plan is not None and enrolment.status == "active":
            zone = ZoneInfo(enrolment.timezone)
            for instant in occurrences([plan.at], enrolment.timezone, after.astimezone(
                    zone).date(), None, after, until):
                if instant.astimezone(zone).weekday() not in plan.weekdays:
                    continue
                if add_job(session, kind="followup", patient_id=enrolment.patient_id,
                           ref_id=enrolment.id, due_at=instant,
                           key=f"followup:{enrolment.id}:{instant.isoformat()}"):
                    count += 1
        enrolment.planned_until = until
        return count

    def plan_appointments(self, session: Session, now: datetime, limit: int = 500) -> int:
        """An ``appointment`` job the day before (``starts_at - 24 h``) and one on the day
        (``starts_at - 3 h``) for every booked visit within the horizon;
        the idempotency key (``appt:<id>:<when>``) makes each one exist, and be sent,
        once whichever worker plans it. A job whose time already passed is not added."""
        rows = session.execute(
            select(Appointment.id, Appointment.patient_id, Slot.starts_at)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.status == "booked", Slot.starts_at > now,
                   Slot.starts_at <= now + self.horizon)
            .order_by(Slot.starts_at).limit(limit)).all()
        count = 0
        for appointment_id, patient_id, starts_at in rows:
            for when, before in APPOINTMENT_REMINDERS:
                due_at = as_utc(starts_at) - before
                if due_at < now:
                    continue
                if add_job(session, kind="appointment", patient_id=patient_id,
                           ref_id=appointment_id, due_at=due_at,
                           key=f"appt:{appointment_id}:{when}", payload={"when": when}):
                    count += 1
        return count

    def extend(self, session: Session, now: datetime, *, skip_locked: bool,
               limit: int = 500) -> int:
        """Plan every active reminder/enrolment whose plan ends within half a horizon,
        and the reminders of booked appointments."""
        due = now + self.horizon / 2
        count = self.plan_appointments(session, now, limit)
        for model in (MedicationReminder, FollowupEnrolment):
            stmt = select(model).where(model.status == "active", or_(
                model.planned_until.is_(None), model.planned_until < due)).limit(limit)
            if skip_locked:
                stmt = stmt.with_for_update(skip_locked=True)
            for row in session.execute(stmt).scalars():
                if model is MedicationReminder:
                    count += self.plan_reminder(session, row, now)
                else:
                    count += self.plan_enrolment(session, row, now)
        return count
