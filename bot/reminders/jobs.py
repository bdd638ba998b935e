"""What each kind of due job does: decide in one transaction, then react to the send.

Kinds: ``appointment`` (a booked visit, the day before and on the day), ``dose`` (the reminder itself, or again after a snooze), ``nudge`` (one,
after ``reply_window`` without a reply), ``miss`` (after another window: the
dose is missed; the ``miss_streak``-th consecutive miss flags the patient for
the care team and tells them kindly) and ``followup`` (a measurement prompt).
``prepare`` returns the message to send or, when there is nothing to send, the
job's final status; ``on_sent`` records the delivery and plans what follows.
Delivery does not depend on the conversation's state: a patient whose chat is
paused or handed off to a doctor still gets reminders (they go through the
channel's sender, not through Rasa).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import as_utc
from bot.consent.guard import ConsentCheck, HealthConsentGuard
from bot.i18n import t
from bot.kb.drugs import DrugCatalog
from bot.outbound import OutboundMessage
from bot.reminders.config import ReminderConfig
from bot.reminders.kb import FollowupKB
from bot.reminders.planner import add_job
from bot.store.appointment_models import Appointment, Department, Doctor, Slot
from bot.store.models import Patient
from bot.store.reminder_models import (
    CareTeamFlag,
    Dose,
    FollowupEnrolment,
    MedicationReminder,
    ScheduledJob,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyedMessage(OutboundMessage):
    """An ``OutboundMessage`` with the job's idempotency key.

    Senders that can drop repeats (the REST outbox) read ``idempotency_key``;
    the others ignore it. (Candidate for a field of ``OutboundMessage`` itself.)
    """

    idempotency_key: str | None = field(default=None)


def dose_text(dose: str, lang: str) -> str:
    return t("utter_reminder_dose_as_prescribed", lang) if dose == "as_prescribed" else dose


def meal_text(meal: str | None, lang: str) -> str:
    return t(f"utter_reminder_meal_{meal}", lang) if meal else ""


class ReminderJobs:
    """The job handlers of medication reminders and follow-up prompts."""

    def __init__(self, config: ReminderConfig, drugs: DrugCatalog,
                 followup_kb: FollowupKB, consent: ConsentCheck | None = None,
                 cancel_cutoff_hours: float = 2.0) -> None:
        self.config = config
        self.drugs = drugs
        self.followup_kb = followup_kb
        self.consent = consent or HealthConsentGuard()
        self.cancel_cutoff_hours = cancel_cutoff_hours  # the hospital's, for the reminder text

    def preload(self, session: Session, jobs: list[ScheduledJob]) -> None:
        """Load (and lock) the doses and reminders of a batch in two queries.

        The doses are locked ``FOR UPDATE`` (PostgreSQL; SQLite has one writer anyway)
        so a patient's concurrent "taken"/"snooze" is never overwritten by the worker.
        """
        dose_ids = sorted(j.ref_id for j in jobs if j.kind in ("dose", "nudge", "miss"))
        if not dose_ids:
            return
        doses = session.execute(select(Dose).where(Dose.id.in_(dose_ids)).order_by(Dose.id)
                                .with_for_update()).scalars().all()
        reminder_ids = {d.reminder_id for d in doses}
        reminders = session.execute(select(MedicationReminder).where(
            MedicationReminder.id.in_(reminder_ids))).scalars().all()
        # the identity map holds objects weakly: keep them alive for this transaction
        session.info.setdefault("preloaded", []).extend([*doses, *reminders])

    # ------------------------------------------------------------------ prepare
    def prepare(self, session: Session, job: ScheduledJob, patient: Patient,
                now: datetime) -> tuple[str, KeyedMessage | None]:
        handler = getattr(self, f"_prepare_{job.kind}", None)
        if handler is None:
            log.error("scheduler.job.unknown_kind id=%s kind=%s", job.id, job.kind)
            return "failed", None
        # booking works without health-data consent, and so does the reminder of a booking
        if job.kind not in ("notice", "appointment") \
                and not self.consent.granted(session, patient.id):
            # no current health-data consent (declined or withdrawn): nothing is sent
            log.info("scheduler.job.no_consent id=%s kind=%s", job.id, job.kind)
            return "cancelled", None
        return handler(session, job, patient, now)

    def _late(self, job: ScheduledJob, now: datetime) -> bool:
        return now - as_utc(job.due_at) > self.config.grace

    def _dose_and_reminder(self, session: Session, job: ScheduledJob
                           ) -> tuple[Dose | None, MedicationReminder | None]:
        dose = session.get(Dose, job.ref_id)
        if dose is None:
            return None, None
        return dose, session.get(MedicationReminder, dose.reminder_id)

    def _message(self, patient: Patient, key: str, lang: str, kind: str, job: ScheduledJob,
                 template: dict[str, str], **params: object) -> KeyedMessage:
        return KeyedMessage(channel=patient.channel, external_id=patient.external_id,
                            text=t(key, lang, **params), kind=kind, language=lang,
                            template_data=template, idempotency_key=job.idempotency_key)

    def _dose_message(self, key: str, patient: Patient, dose: Dose,
                      reminder: MedicationReminder, job: ScheduledJob) -> KeyedMessage:
        lang = reminder.language
        drug = self.drugs.get(reminder.drug_id)
        drug_name = drug.name(lang) if drug else reminder.drug_id
        local = as_utc(dose.scheduled_at).astimezone(ZoneInfo(reminder.timezone))
        dose_str = dose_text(reminder.dose, lang)
        return self._message(
            patient, key, lang, "reminder", job,
            {"drug": drug_name, "dose": dose_str, "time": local.strftime("%Y-%m-%d %H:%M")},
            drug=drug_name, dose=dose_str, time=local.strftime("%H:%M"),
            meal=meal_text(reminder.meal, lang))

    def _prepare_dose(self, session, job, patient, now):
        dose, reminder = self._dose_and_reminder(session, job)
        if (dose is None or reminder is None or reminder.status != "active"
                or dose.status not in ("scheduled", "snoozed")
                or dose.generation != job.generation):
            return "cancelled", None
        if self._late(job, now):
            dose.status = "missed"  # not delivered: does not count towards the miss streak
            log.warning("scheduler.job.expired id=%s kind=dose late_s=%d", job.id,
                        (now - as_utc(job.due_at)).total_seconds())
            return "expired", None
        return "sending", self._dose_message("utter_reminder_due", patient, dose, reminder, job)

    def _prepare_nudge(self, session, job, patient, now):
        dose, reminder = self._dose_and_reminder(session, job)
        if (dose is None or reminder is None or reminder.status != "active"
                or dose.status != "sent" or dose.generation != job.generation):
            return "cancelled", None
        if self._late(job, now):
            return "expired", None
        return "sending", self._dose_message("utter_reminder_nudge", patient, dose, reminder, job)

    def _prepare_miss(self, session, job, patient, now):
        dose, reminder = self._dose_and_reminder(session, job)
        if (dose is None or reminder is None or reminder.status != "active"
                or dose.status != "sent" or dose.generation != job.generation):
            return "cancelled", None
        dose.status = "missed"
        session.flush()
        if self.miss_streak(session, dose.patient_id) != self.config.miss_streak:
            return "done", None
        session.add(CareTeamFlag(
            patient_id=dose.patient_id, reason="missed_doses", severity="routine", status="open",
            created_at=now, detail_json=json.dumps(
                {"streak": self.config.miss_streak, "last_dose_id": dose.id,
                 "drug": reminder.drug_id})))
        log.info("reminders.care_team.flagged reason=missed_doses patient=%s", dose.patient_id)
        lang = reminder.language
        return "sending", self._message(patient, "utter_reminder_missed_flagged", lang, "notice",
                                        job, {}, count=self.config.miss_streak)

    def _prepare_followup(self, session, job, patient, now):
        enrolment = session.get(FollowupEnrolment, job.ref_id)
        plan = self.followup_kb.plans.get(enrolment.plan_id) if enrolment else None
        if enrolment is None or plan is None or enrolment.status != "active":
            return "cancelled", None
        if self._late(job, now):
            return "expired", None
        return "sending", self._message(patient, plan.prompt, enrolment.language, "followup", job,
                                        {"plan": plan.name.get(enrolment.language, plan.id)})

    def _prepare_appointment(self, session, job, patient, now):
        """The day-before / same-day reminder of a booked visit: time, department, doctor,
        booking code and the way to cancel (the chat's cancel flow). A visit cancelled or
        rescheduled since the job was planned gets nothing."""
        appointment = session.get(Appointment, job.ref_id)
        slot = session.get(Slot, appointment.slot_id) if appointment is not None else None
        if appointment is None or slot is None or appointment.status != "booked" \
                or as_utc(slot.starts_at) <= now:
            return "cancelled", None
        if self._late(job, now):
            return "expired", None
        doctor = session.get(Doctor, slot.doctor_id)
        department = session.get(Department, doctor.department_id) if doctor else None
        lang = appointment.language if appointment.language in ("zh", "en") else "zh"
        local = as_utc(slot.starts_at).astimezone(ZoneInfo(self.config.timezone))
        when = json.loads(job.payload_json or "{}").get("when", "day_before")
        key = ("utter_appointment_reminder_same_day" if when == "same_day"
               else "utter_appointment_reminder_day_before")
        dept = (department.name_zh if lang == "zh" else department.name_en) if department else ""
        name = (doctor.name_zh if lang == "zh" else doctor.name_en) if doctor else ""
        hours = f"{self.cancel_cutoff_hours:g}"
        template = {"department": dept, "time": local.strftime("%Y-%m-%d %H:%M"),
                    "code": appointment.code,
                    "cancel": t("utter_appointment_reminder_cancel", lang, code=appointment.code)}
        return "sending", self._message(patient, key, lang, "appointment", job, template,
                                        time=local.strftime("%H:%M"), department=dept,
                                        doctor=name, code=appointment.code, hours=hours)

    def _prepare_notice(self, session, job, patient, now):
        payload = json.loads(job.payload_json or "{}")
        if self._late(job, now):
            return "expired", None
        return "sending", KeyedMessage(
            channel=patient.channel, external_id=patient.external_id, text=payload["text"],
            kind=payload.get("kind", "notice"), language=payload.get("language", "zh"),
            template_data=payload.get("template_data") or {}, idempotency_key=job.idempotency_key)

    def miss_streak(self, session: Session, patient_id: int) -> int:
        """Consecutive missed doses, newest first, among delivered doses with an outcome."""
        rows = session.execute(
            select(Dose.status).where(
                Dose.patient_id == patient_id, Dose.delivered_at.is_not(None),
                Dose.status.in_(("taken", "skipped", "missed")))
            .order_by(Dose.scheduled_at.desc(), Dose.id.desc())
            .limit(self.config.miss_streak + 1)).scalars().all()
        streak = 0
        for status in rows:
            if status != "missed":
                break
            streak += 1
        return streak

    # ------------------------------------------------------------------ on_sent
    def on_sent(self, session: Session, job: ScheduledJob, now: datetime) -> None:
        if job.kind not in ("dose", "nudge"):
            return
        dose = session.get(Dose, job.ref_id)
        if dose is None:
            return
        if job.kind == "nudge":
            dose.nudged_at = now
            return
        if dose.status in ("scheduled", "snoozed") and dose.generation == job.generation:
            dose.status = "sent"
            dose.delivered_at = dose.delivered_at or now
            window = self.config.reply_window
            # on_sent runs once per (dose, generation): the job's fenced transition to
            # done/uncertain guarantees it, so no existence check (the unique key backs it)
            add_job(session, kind="nudge", patient_id=dose.patient_id, ref_id=dose.id,
                    generation=dose.generation, due_at=now + window,
                    key=f"nudge:{dose.id}:{dose.generation}", check=False)
            add_job(session, kind="miss", patient_id=dose.patient_id, ref_id=dose.id,
                    generation=dose.generation, due_at=now + 2 * window,
                    key=f"miss:{dose.id}:{dose.generation}", check=False)
