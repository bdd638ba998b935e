"""Medication-reminder use cases behind the chat, one transaction each.

Input is validated completely before anything is written: a bad drug, dose,
schedule or course raises :class:`ValidationError` (with a bilingual
``message_key``) and the database is untouched. Doses are stored verbatim as
the patient's doctor prescribed them; medbot never suggests or changes one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, as_utc
from bot.consent.guard import ConsentCheck, HealthConsentGuard
from bot.errors import NotFoundError, ValidationError
from bot.i18n import t
from bot.kb.drugs import DrugCatalog
from bot.reminders import sig
from bot.reminders.config import ReminderConfig
from bot.reminders.jobs import dose_text, meal_text
from bot.reminders.planner import Planner, add_job
from bot.store.db import Database
from bot.store.reminder_models import Dose, MedicationReminder, ScheduledJob
from bot.store.repositories import PatientRepository


class ReminderInputError(ValidationError):
    """A reminder field could not be read; ``message_key`` says which."""

    def __init__(self, key: str, value: str = "", detail: str = "") -> None:
        super().__init__(detail or key, value=value)
        self.message_key = key


@dataclass(frozen=True)
class ReminderDraft:
    drug_id: str
    dose: str
    times: tuple[str, ...]
    meal: str | None
    start: date
    end: date | None

    def as_slot(self) -> dict:
        return {"drug_id": self.drug_id, "dose": self.dose, "times": list(self.times),
                "meal": self.meal, "start": self.start.isoformat(),
                "end": self.end.isoformat() if self.end else None}

    @classmethod
    def from_slot(cls, value: dict) -> ReminderDraft:
        try:
            return cls(value["drug_id"], value["dose"], tuple(value["times"]), value.get("meal"),
                       date.fromisoformat(value["start"]),
                       date.fromisoformat(value["end"]) if value.get("end") else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise ReminderInputError("utter_reminder_error_schedule", str(value)) from exc


@dataclass(frozen=True)
class ReminderView:
    id: int
    drug_id: str
    dose: str
    times: tuple[str, ...]
    meal: str | None
    start: date
    end: date | None
    status: str


@dataclass(frozen=True)
class DoseOutcome:
    dose_id: int
    drug_id: str
    status: str
    local_time: str  # HH:MM of the dose (or of the snoozed reminder)
    minutes: int | None = None


EARLY_ANSWER = timedelta(hours=2)


def format_date(value: date, lang: str) -> str:
    return f"{value.month}月{value.day}日" if lang == "zh" else value.strftime("%-d %b %Y")


class ReminderService:
    """Create, list, cancel, pause reminders; record taken/skipped/snoozed."""

    def __init__(self, db: Database, clock: Clock, config: ReminderConfig, drugs: DrugCatalog,
                 planner: Planner | None = None, consent: ConsentCheck | None = None) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.drugs = drugs
        self.planner = planner or Planner(config.horizon)
        self.consent = consent or HealthConsentGuard()
        self.patients = PatientRepository()

    # ------------------------------------------------------------------ parsing
    def today(self, tz: str | None = None) -> date:
        return self.clock.now().astimezone(ZoneInfo(tz or self.config.timezone)).date()

    def parse_drug(self, text: str) -> str:
        drug = self.drugs.resolve(text) or self.drugs.find(text)
        if drug is None:
            raise ReminderInputError("utter_reminder_error_drug", text.strip()[:40])
        return drug.id

    def parse_dose(self, text: str) -> str:
        dose = sig.parse_dose(text)
        if dose is None:
            raise ReminderInputError("utter_reminder_error_dose", text.strip()[:40])
        return dose

    def parse_schedule(self, text: str) -> sig.Schedule:
        try:
            schedule = sig.parse_schedule(text)
        except ValidationError as exc:
            # a question about meals gets its answer (the leaflet, the pharmacist), not
            # "I couldn't read the times"
            key = ("utter_reminder_meal_question" if exc.params.get("field") == "meal"
                   else "utter_reminder_error_schedule")
            raise ReminderInputError(key, text.strip()[:40]) from exc
        if schedule is None:
            raise ReminderInputError("utter_reminder_error_schedule", text.strip()[:40])
        return schedule

    def parse_course(self, text: str, tz: str | None = None) -> sig.Course:
        try:
            return sig.parse_course(text, self.today(tz))
        except ValidationError as exc:
            raise ReminderInputError("utter_reminder_error_course", text.strip()[:40]) from exc

    def draft(self, drug_text: str, dose_text_: str, schedule_text: str,
              course_text: str = "", tz: str | None = None) -> ReminderDraft:
        """Everything parsed and checked; nothing written."""
        schedule = self.parse_schedule(schedule_text)
        course = self.parse_course(course_text or schedule_text, tz)
        return ReminderDraft(self.parse_drug(drug_text), self.parse_dose(dose_text_),
                             tuple(schedule.time_strings()), schedule.meal, course.start,
                             course.end)

    def describe(self, draft: ReminderDraft | ReminderView, lang: str) -> dict[str, str]:
        """Plain-words parameters of ``utter_reminder_confirm`` / ``_list_item``."""
        drug = self.drugs.get(draft.drug_id)
        sep = "、" if lang == "zh" else ", "
        if draft.end is not None:
            course = t("utter_reminder_course_until", lang, start=format_date(draft.start, lang),
                       end=format_date(draft.end, lang), days=(draft.end - draft.start).days + 1)
        else:
            course = t("utter_reminder_course_open", lang, start=format_date(draft.start, lang))
        return {"drug": drug.name(lang) if drug else draft.drug_id,
                "dose": dose_text(draft.dose, lang), "times": sep.join(draft.times),
                "meal": meal_text(draft.meal, lang), "course": course}

    # ------------------------------------------------------------------ reminders
    def require_consent(self, channel: str, external_id: str) -> None:
        """Refuse before a reminder is drafted when the patient has no current
        health-data consent (declined, withdrawn, or never asked): the patient is told
        why at once, not after answering every question of the form.

        Raises:
            ConsentRequiredError: no current health-data consent.
        """
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            self.consent.require(session, patient.id if patient else None)

    def create(self, channel: str, external_id: str, draft: ReminderDraft, language: str,
               tz: str | None = None) -> tuple[ReminderView, datetime | None]:
        """Save a reminder and plan its first doses; returns it and its first dose (UTC)."""
        if self.drugs.get(draft.drug_id) is None:
            raise ReminderInputError("utter_reminder_error_drug", draft.drug_id)
        if not draft.dose or not draft.times:
            raise ReminderInputError("utter_reminder_error_dose", draft.dose)
        for value in draft.times:
            time.fromisoformat(value)
        if draft.end is not None and draft.end < draft.start:
            raise ReminderInputError("utter_reminder_error_course")
        now = self.clock.now()
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            self.consent.require(session, patient.id)
            reminder = MedicationReminder(
                patient_id=patient.id, drug_id=draft.drug_id, dose=draft.dose,
                times_json=json.dumps(list(draft.times)), meal=draft.meal,
                start_date=draft.start, end_date=draft.end, timezone=tz or self.config.timezone,
                language=language, status="active", planned_until=now, created_at=now,
                updated_at=now)
            session.add(reminder)
            session.flush()
            self.planner.plan_reminder(session, reminder, now)
            first = session.execute(select(Dose.scheduled_at).where(
                Dose.reminder_id == reminder.id).order_by(Dose.scheduled_at).limit(1)).scalar()
            return _view(reminder), as_utc(first) if first else None

    def list(self, channel: str, external_id: str) -> list[ReminderView]:
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            if patient is None:
                return []
            self.consent.require(session, patient.id)
            rows = session.execute(select(MedicationReminder).where(
                MedicationReminder.patient_id == patient.id,
                MedicationReminder.status.in_(("active", "paused")))
                .order_by(MedicationReminder.id)).scalars()
            return [_view(r) for r in rows]

    def cancellable(self, channel: str, external_id: str, drug_id: str | None = None,
                    created_since: datetime | None = None) -> list[ReminderView]:
        """Active or paused reminders (of one drug, or created since a moment), newest
        last. Needs no consent: stopping a reminder never does."""
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            if patient is None:
                return []
            stmt = select(MedicationReminder).where(
                MedicationReminder.patient_id == patient.id,
                MedicationReminder.status.in_(("active", "paused")))
            if drug_id:
                stmt = stmt.where(MedicationReminder.drug_id == drug_id)
            if created_since is not None:
                stmt = stmt.where(MedicationReminder.created_at >= created_since)
            rows = session.execute(stmt.order_by(MedicationReminder.id)).scalars()
            return [_view(r) for r in rows]

    def cancel(self, channel: str, external_id: str,
               reminder_ids: list[int]) -> list[ReminderView]:
        """Cancel exactly these reminders of the patient (those still active or paused).

        Raises:
            NotFoundError: none of them is still active or paused.
        """
        now = self.clock.now()
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            rows = list(session.execute(select(MedicationReminder).where(
                MedicationReminder.patient_id == (patient.id if patient else -1),
                MedicationReminder.id.in_(reminder_ids or [-1]),
                MedicationReminder.status.in_(("active", "paused")))).scalars())
            if not rows:
                raise NotFoundError("no reminder to cancel")
            for reminder in rows:
                reminder.status, reminder.updated_at = "cancelled", now
                self._cancel_future(session, reminder.id, now)
            return [_view(r) for r in rows]

    def set_status(self, channel: str, external_id: str, status: str,
                   drug_id: str | None = None) -> list[ReminderView]:
        """Cancel ("cancelled"), pause ("paused") or resume ("active") reminders.

        With ``drug_id`` only that drug's; otherwise all of the patient's.

        Raises:
            NotFoundError: nothing matched.
        """
        if status not in ("cancelled", "paused", "active"):
            raise ValidationError(f"bad status {status!r}")
        now = self.clock.now()
        current = ("paused",) if status == "active" else ("active", "paused")
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            if status == "active":  # resuming processes health information again
                self.consent.require(session, patient.id if patient else None)
            stmt = select(MedicationReminder).where(
                MedicationReminder.patient_id == (patient.id if patient else -1),
                MedicationReminder.status.in_(current))
            if drug_id:
                stmt = stmt.where(MedicationReminder.drug_id == drug_id)
            rows = list(session.execute(stmt).scalars())
            if not rows:
                raise NotFoundError("no reminder to change")
            for reminder in rows:
                reminder.status, reminder.updated_at = status, now
                if status == "active":
                    for dose in session.execute(select(Dose).where(
                            Dose.reminder_id == reminder.id, Dose.status == "cancelled",
                            Dose.scheduled_at > now)).scalars():
                        dose.status, dose.generation = "scheduled", dose.generation + 1
                        add_job(session, kind="dose", patient_id=dose.patient_id,
                                ref_id=dose.id, generation=dose.generation,
                                due_at=as_utc(dose.scheduled_at),
                                key=f"dose:{dose.id}:{dose.generation}")
                    self.planner.plan_reminder(session, reminder, now)
                else:
                    self._cancel_future(session, reminder.id, now)
            return [_view(r) for r in rows]

    def _cancel_future(self, session: Session, reminder_id: int, now: datetime) -> None:
        dose_ids = select(Dose.id).where(Dose.reminder_id == reminder_id,
                                         Dose.status.in_(("scheduled", "snoozed")))
        session.execute(update(ScheduledJob).where(
            ScheduledJob.ref_id.in_(dose_ids), ScheduledJob.kind.in_(("dose", "nudge", "miss")),
            ScheduledJob.status == "pending").values(status="cancelled")
            .execution_options(synchronize_session=False))
        session.execute(update(Dose).where(
            Dose.reminder_id == reminder_id, Dose.status.in_(("scheduled", "snoozed"))
        ).values(status="cancelled")
            .execution_options(synchronize_session=False))

    # ------------------------------------------------------------------ adherence
    def _outstanding(self, session: Session, patient_id: int, drug_id: str | None,
                     now: datetime, *, early: bool) -> tuple[Dose, MedicationReminder]:
        """The dose an answer is about: the most recent one awaiting a reply (sent or
        snoozed); else, with ``early``, one due within the next two hours (taken early);
        else a dose missed in the last 12 hours (the patient answers late)."""
        stmt = (select(Dose, MedicationReminder)
                .join(MedicationReminder, MedicationReminder.id == Dose.reminder_id)
                .where(Dose.patient_id == patient_id,
                       Dose.scheduled_at <= now + EARLY_ANSWER,
                       Dose.scheduled_at > now - timedelta(hours=12),
                       Dose.status.in_(("sent", "snoozed", "missed", "scheduled")))
                .order_by(Dose.scheduled_at.desc(), Dose.id.desc())
                .with_for_update(of=Dose))  # serialised with the worker (see jobs.preload)
        if drug_id:
            stmt = stmt.where(MedicationReminder.drug_id == drug_id)
        rows = session.execute(stmt.limit(10)).all()
        awaiting = [r for r in rows if r[0].status in ("sent", "snoozed")]
        upcoming = [r for r in rows if r[0].status == "scheduled"
                    and as_utc(r[0].scheduled_at) > now]
        missed = [r for r in rows if r[0].status == "missed"]
        for candidates in (awaiting, upcoming[-1:] if early else [], missed):
            if candidates:
                return candidates[0]
        raise NotFoundError("no dose awaiting a reply")

    def respond(self, channel: str, external_id: str, answer: str, *,
                drug_id: str | None = None, snooze: timedelta | None = None) -> DoseOutcome:
        """Record "taken", "skipped" or "snoozed" against the patient's outstanding dose.

        Raises:
            NotFoundError: no dose is awaiting a reply (nothing is written).
            ValidationError: bad answer or snooze duration.
        """
        if answer not in ("taken", "skipped", "snoozed"):
            raise ValidationError(f"bad answer {answer!r}")
        if snooze is not None and not timedelta(0) < snooze <= sig.MAX_SNOOZE:
            raise ReminderInputError("utter_reminder_error_snooze")
        now = self.clock.now()
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            if patient is None:
                raise NotFoundError("no dose awaiting a reply")
            self.consent.require(session, patient.id)
            dose, reminder = self._outstanding(session, patient.id, drug_id, now,
                                               early=answer != "snoozed")
            zone = ZoneInfo(reminder.timezone)
            local = as_utc(dose.scheduled_at).astimezone(zone).strftime("%H:%M")
            if answer != "snoozed":
                dose.status, dose.responded_at = answer, now
                return DoseOutcome(dose.id, reminder.drug_id, answer, local)
            if dose.status in ("missed", "scheduled"):
                raise NotFoundError("no reminder to snooze")
            delta = snooze or self.config.default_snooze
            dose.generation += 1
            dose.status, dose.snoozed_until, dose.responded_at = "snoozed", now + delta, now
            add_job(session, kind="dose", patient_id=patient.id, ref_id=dose.id,
                    generation=dose.generation, due_at=now + delta,
                    key=f"dose:{dose.id}:{dose.generation}")
            return DoseOutcome(dose.id, reminder.drug_id, "snoozed",
                               (now + delta).astimezone(zone).strftime("%H:%M"),
                               minutes=int(delta.total_seconds() // 60))


def _view(reminder: MedicationReminder) -> ReminderView:
    return ReminderView(reminder.id, reminder.drug_id, reminder.dose,
                        tuple(json.loads(reminder.times_json)), reminder.meal,
                        reminder.start_date, reminder.end_date, reminder.status)
