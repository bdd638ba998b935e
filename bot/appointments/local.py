"""The default scheduling backend: slots and bookings in our own database.

Overbooking is impossible because a place is taken with one conditional
``UPDATE slots SET booked = booked + 1 WHERE id = ? AND booked < capacity``
(and ``CHECK booked <= capacity``); double booking because of the partial
UNIQUE index on active (patient, slot) bookings. Each use case is one
transaction; an error rolls all of it back.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.appointments.errors import (
    AppointmentNotFoundError,
    DoubleBookingError,
    SlotClosedError,
    SlotFullError,
)
from bot.appointments.interface import Booking, BookingRequest, PatientRef, SlotInfo, SlotQuery
from bot.appointments.schedule import HospitalSchedule
from bot.clock import as_utc
from bot.errors import NotFoundError
from bot.masking import mask_name, mask_phone
from bot.store.appointment_models import Appointment, Doctor, ScheduleSession, Slot
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.repositories import PatientRepository

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# online booking for a session closes this long before it ends
BOOKING_CLOSES = timedelta(minutes=30)


def new_code(prefix: str = "A", length: int = 7) -> str:
    """A short booking code without look-alike characters (0/O, 1/I/L)."""
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


class LocalScheduling:
    """:class:`~bot.appointments.interface.SchedulingBackend` on ``bot.store``."""

    def __init__(self, db: Database, schedule: HospitalSchedule) -> None:
        self.db = db
        self.schedule = schedule
        self.patients = PatientRepository()

    # -- slots -----------------------------------------------------------------
    def ensure_slots(self, session: Session, start: date, end: date) -> int:
        """Create the missing slots of active doctors' weekly sessions in [start, end]."""
        templates = session.execute(
            select(ScheduleSession).join(Doctor, Doctor.id == ScheduleSession.doctor_id)
            .where(Doctor.active.is_(True))
        ).scalars().all()
        existing = {tuple(row) for row in session.execute(
            select(Slot.doctor_id, Slot.day, Slot.session).where(Slot.day.between(start, end))
        ).all()}
        rows = []
        day = start
        while day <= end:
            for tpl in templates:
                key = (tpl.doctor_id, day, tpl.session)
                if tpl.weekday == day.weekday() and key not in existing:
                    starts, ends = self.schedule.session_bounds(day, tpl.session)
                    rows.append({"doctor_id": tpl.doctor_id, "day": day, "session": tpl.session,
                                 "starts_at": starts.astimezone(timezone.utc),
                                 "ends_at": ends.astimezone(timezone.utc),
                                 "capacity": tpl.capacity, "booked": 0})
            day += timedelta(days=1)
        if not rows:
            return 0
        try:
            with session.begin_nested():
                session.execute(insert(Slot), rows)
        except IntegrityError:  # another transaction created some of them: go one by one
            for row in rows:
                try:
                    with session.begin_nested():
                        session.execute(insert(Slot), [row])
                except IntegrityError:
                    continue
        return len(rows)

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.schedule.tz).date()

    def _horizon_end(self, now: datetime) -> date:
        return self._today(now) + timedelta(days=self.schedule.horizon_days)

    def _info(self, slot: Slot, doctor: Doctor) -> SlotInfo:
        title = self.schedule.titles.get(doctor.title)
        return SlotInfo(
            slot_id=str(slot.id), department_id=doctor.department_id, doctor_id=doctor.id,
            doctor_names={"zh": doctor.name_zh, "en": doctor.name_en},
            title_names=dict(title.names) if title else {"zh": doctor.title, "en": doctor.title},
            fee_cents=doctor.fee_cents, day=slot.day, session=slot.session,
            starts_at=as_utc(slot.starts_at), ends_at=as_utc(slot.ends_at),
            capacity=slot.capacity, booked=slot.booked)

    def _open(self, now: datetime):
        return and_(Slot.booked < Slot.capacity, Slot.ends_at > now + BOOKING_CLOSES)

    def find_slots(self, query: SlotQuery, now: datetime) -> list[SlotInfo]:
        now = now.astimezone(timezone.utc)
        start = max(query.start, self._today(now))
        end = min(query.end, self._horizon_end(now))
        if end < start:
            return []
        with self.db.begin() as session:
            self.ensure_slots(session, start, end)
            stmt = (select(Slot, Doctor).join(Doctor, Doctor.id == Slot.doctor_id)
                    .where(Doctor.department_id == query.department_id, Doctor.active.is_(True),
                           Slot.day.between(start, end), self._open(now))
                    .order_by(Slot.starts_at, Slot.booked, Doctor.id).limit(query.limit))
            if query.doctor_id:
                stmt = stmt.where(Doctor.id == query.doctor_id)
            if query.session:
                stmt = stmt.where(Slot.session == query.session)
            return [self._info(slot, doctor) for slot, doctor in session.execute(stmt).all()]

    def get_slot(self, slot_id: str) -> SlotInfo:
        with self.db.begin() as session:
            return self._info(*self._slot_row(session, slot_id))

    def _slot_row(self, session: Session, slot_id: str) -> tuple[Slot, Doctor]:
        try:
            key = int(slot_id)
        except (TypeError, ValueError):
            raise NotFoundError(f"no slot {slot_id!r}") from None
        row = session.execute(select(Slot, Doctor).join(Doctor, Doctor.id == Slot.doctor_id)
                              .where(Slot.id == key)).first()
        if row is None:
            raise NotFoundError(f"no slot {slot_id!r}")
        return row[0], row[1]

    def alternatives(self, slot_id: str, now: datetime, limit: int = 3) -> list[SlotInfo]:
        now = now.astimezone(timezone.utc)
        wanted = self.get_slot(slot_id)
        start, end = self._today(now), self._horizon_end(now)
        same_doctor = self.find_slots(SlotQuery(wanted.department_id, start, end,
                                                doctor_id=wanted.doctor_id, limit=50), now)
        same_dept = self.find_slots(SlotQuery(wanted.department_id, start, end, limit=50), now)
        seen: set[str] = {slot_id}
        ranked: list[tuple[tuple[int, float], SlotInfo]] = []
        for rank, pool in enumerate((same_doctor, same_dept)):
            for slot in pool:
                if slot.slot_id in seen:
                    continue
                seen.add(slot.slot_id)
                distance = abs((slot.starts_at - wanted.starts_at).total_seconds())
                ranked.append(((0 if distance <= 86400 else 1, rank * 0.5 + distance), slot))
        ranked.sort(key=lambda item: item[0])
        return [slot for _, slot in ranked[:limit]]

    # -- bookings --------------------------------------------------------------
    def _check_open(self, slot: Slot, now: datetime) -> None:
        if as_utc(slot.ends_at) <= now + BOOKING_CLOSES or slot.day > self._horizon_end(now):
            raise SlotClosedError(f"slot {slot.id} is not open for booking")

    def _take_place(self, session: Session, slot_id: int) -> bool:
        result = session.execute(
            update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
            .values(booked=Slot.booked + 1).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def _insert(self, session: Session, patient: Patient, slot: Slot, request: BookingRequest,
                now: datetime, replaces: Appointment | None = None) -> Appointment:
        for _ in range(5):
            appointment = Appointment(
                code=new_code(), patient_id=patient.id, slot_id=slot.id, status="booked",
                patient_name=request.name, patient_phone=request.phone,
                language=request.language, rescheduled_from_id=replaces.id if replaces else None,
                created_at=now)
            try:
                with session.begin_nested():
                    session.add(appointment)
                    session.flush()
                return appointment
            except IntegrityError:
                active = session.execute(select(Appointment.id).where(
                    Appointment.patient_id == patient.id, Appointment.slot_id == slot.id,
                    Appointment.status == "booked")).first()
                if active is not None:
                    raise DoubleBookingError(f"patient already booked slot {slot.id}") from None
        raise DoubleBookingError("could not allocate a booking code")  # pragma: no cover

    def book(self, request: BookingRequest, now: datetime) -> Booking:
        now = now.astimezone(timezone.utc)
        full = False
        with self.db.begin() as session:
            slot, doctor = self._slot_row(session, request.slot_id)
            self._check_open(slot, now)
            patient = self.patients.get_or_create(session, request.patient.channel,
                                                  request.patient.external_id)
            if self._take_place(session, slot.id):
                appointment = self._insert(session, patient, slot, request, now)
                session.refresh(slot)
                booking = self._booking(appointment, slot, doctor)
            else:
                full = True
        if full:
            log.info("appointment.slot_full slot=%s", request.slot_id)
            raise SlotFullError(f"slot {request.slot_id} is full",
                                self.alternatives(request.slot_id, now))
        log.info("appointment.booked code=%s slot=%s name=%s phone=%s", booking.code,
                 request.slot_id, mask_name(request.name), mask_phone(request.phone))
        return booking

    def _booking(self, appointment: Appointment, slot: Slot, doctor: Doctor,
                 replaces: str | None = None) -> Booking:
        return Booking(code=appointment.code, status=appointment.status,
                       slot=self._info(slot, doctor), name=appointment.patient_name,
                       phone=appointment.patient_phone, created_at=as_utc(appointment.created_at),
                       replaces=replaces)

    def _active(self, session: Session, patient: PatientRef, code: str,
                lock: bool = False) -> tuple[Appointment, Slot, Doctor]:
        stmt = (select(Appointment, Slot, Doctor)
                .join(Patient, Patient.id == Appointment.patient_id)
                .join(Slot, Slot.id == Appointment.slot_id)
                .join(Doctor, Doctor.id == Slot.doctor_id)
                .where(Patient.channel == patient.channel,
                       Patient.external_id == patient.external_id,
                       Appointment.code == (code or "").strip().upper(),
                       Appointment.status == "booked"))
        if lock:
            stmt = stmt.with_for_update(of=Appointment)
        row = session.execute(stmt).first()
        if row is None:
            raise AppointmentNotFoundError(f"no active booking {code!r}")
        return row[0], row[1], row[2]

    def get_booking(self, patient: PatientRef, code: str) -> Booking:
        with self.db.begin() as session:
            return self._booking(*self._active(session, patient, code))

    def bookings(self, patient: PatientRef, now: datetime) -> list[Booking]:
        now = now.astimezone(timezone.utc)
        with self.db.begin() as session:
            rows = session.execute(
                select(Appointment, Slot, Doctor)
                .join(Patient, Patient.id == Appointment.patient_id)
                .join(Slot, Slot.id == Appointment.slot_id)
                .join(Doctor, Doctor.id == Slot.doctor_id)
                .where(Patient.channel == patient.channel,
                       Patient.external_id == patient.external_id,
                       Appointment.status == "booked", Slot.ends_at > now)
                .order_by(Slot.starts_at, Appointment.id)).all()
            return [self._booking(a, s, d) for a, s, d in rows]

    def _release(self, session: Session, appointment: Appointment, status: str,
                 now: datetime) -> None:
        done = session.execute(
            update(Appointment).where(Appointment.id == appointment.id,
                                      Appointment.status == "booked")
            .values(status=status, cancelled_at=now)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # cancelled concurrently
            raise AppointmentNotFoundError(f"booking {appointment.code} is no longer active")
        session.execute(update(Slot).where(Slot.id == appointment.slot_id)
                        .values(booked=Slot.booked - 1)
                        .execution_options(synchronize_session=False))

    def cancel(self, patient: PatientRef, code: str, now: datetime) -> Booking:
        now = now.astimezone(timezone.utc)
        with self.db.begin() as session:
            appointment, slot, doctor = self._active(session, patient, code, lock=True)
            self._release(session, appointment, "cancelled", now)
            session.refresh(appointment)
            session.refresh(slot)
            booking = self._booking(appointment, slot, doctor)
        log.info("appointment.cancelled code=%s", booking.code)
        return booking

    def reschedule(self, patient: PatientRef, code: str, new_slot_id: str,
                   now: datetime) -> Booking:
        now = now.astimezone(timezone.utc)
        full = False
        with self.db.begin() as session:
            old, old_slot, _ = self._active(session, patient, code, lock=True)
            slot, doctor = self._slot_row(session, new_slot_id)
            if slot.id == old.slot_id:
                raise DoubleBookingError("the new slot is the current one")
            # lock both slots in id order: two crossing reschedules cannot deadlock
            session.execute(select(Slot.id).where(Slot.id.in_(sorted({slot.id, old.slot_id})))
                            .order_by(Slot.id).with_for_update())
            self._check_open(slot, now)
            if self._take_place(session, slot.id):
                request = BookingRequest(patient, new_slot_id, old.patient_name,
                                         old.patient_phone, old.language or "zh")
                patient_row = session.get(Patient, old.patient_id)
                appointment = self._insert(session, patient_row, slot, request, now, replaces=old)
                self._release(session, old, "rescheduled", now)
                session.refresh(slot)
                booking = self._booking(appointment, slot, doctor, replaces=old.code)
            else:
                full = True
        if full:
            raise SlotFullError(f"slot {new_slot_id} is full",
                                self.alternatives(new_slot_id, now))
        log.info("appointment.rescheduled old=%s new=%s", code, booking.code)
        return booking
