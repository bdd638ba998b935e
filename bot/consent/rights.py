"""The patient's rights under PIPL (arts. 15, 47): withdraw consent, delete data.

Withdrawing consent stops every processing that relied on it: medication
reminders and follow-up prompts are cancelled (their scheduled jobs too) and a
pending question is dropped; from then on the conversation gate refuses health
information. Deleting data does that and deletes what medbot collected for
its own services (readings, reminders and doses, follow-up enrolments, the
REST outbox, pending jobs). Chat records the law requires us to keep (at least
three years) are *access-locked* instead: ``patients.access_locked_at`` is set,
the doctor console refuses to show them, and the retention job purges them
when the period ends. Consent records and the audit log are kept as proof of
lawful processing. Hospital appointments are administrative records of the
hospital and are not cancelled by this request (the patient cancels them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.consent.service import ConsentService
from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.identity import conversation_id
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.store.registry import delete_rows, entries
from bot.store.reminder_models import (
    Dose,
    FollowupEnrolment,
    MedicationReminder,
    ScheduledJob,
)
from bot.store.repositories import PatientRepository

# Sent by the delete-my-data action as a custom payload: the channel boundary erases
# Rasa's tracker after the turn (channels/erase.py) and never forwards the payload.
ERASE_SIGNAL = {"medbot": "erase_conversation"}


@dataclass(frozen=True)
class RightsOutcome:
    text: str
    withdrawn: tuple[str, ...] = ()
    deleted: tuple[tuple[str, int], ...] = ()


class DataRightsService:
    def __init__(self, db: Database, consent: ConsentService,
                 hospital: HospitalInfo | None = None) -> None:
        self.db = db
        self.consent = consent
        self.hospital = hospital or HospitalInfo.load()
        self.patients = PatientRepository()

    @property
    def years(self) -> int:
        return self.consent.texts.retention_years

    def withdraw(self, channel: str, external_id: str, lang: str) -> RightsOutcome:
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            withdrawn = self._withdraw(session, patient, conversation_id(channel, external_id),
                                       lang)
        if not withdrawn:
            return RightsOutcome(t("utter_consent_nothing_to_withdraw", lang))
        names = "、" if lang == "zh" else ", "
        return RightsOutcome(
            t("utter_consent_withdrawn", lang, years=self.years,
              purposes=names.join(t(f"utter_label_purpose_{p}", lang) for p in withdrawn)),
            tuple(withdrawn))

    def delete_my_data(self, channel: str, external_id: str, lang: str) -> RightsOutcome:
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            withdrawn = self._withdraw(session, patient,
                                       conversation_id(channel, external_id), lang)
            deleted = self._delete(session, patient)
            patient.access_locked_at = patient.access_locked_at or utcnow()
        parts = [f"{t(f'utter_label_deleted_{k}', lang)} {n}" for k, n in deleted if n]
        listing = ("、" if lang == "zh" else ", ").join(parts) or t(
            "utter_data_deleted_nothing", lang)
        return RightsOutcome(
            t("utter_data_deleted", lang, deleted=listing, years=self.years,
              **self.hospital.params(lang)), tuple(withdrawn), tuple(deleted))

    def _withdraw(self, session: Session, patient: Patient, conversation_id: str,
                  lang: str) -> list[str]:
        message_id = session.execute(
            select(Message.id).where(Message.conversation_id == conversation_id,
                                     Message.role == "patient")
            .order_by(Message.seq.desc()).limit(1)).scalar_one_or_none()
        withdrawn = self.consent.withdraw(session, patient, lang, message_id)
        now = utcnow()
        # a doctor's access ends with the consent it rested on (the bot resumes next turn)
        session.execute(update(Handoff).where(
            Handoff.patient_id == patient.id, Handoff.status.in_(("queued", "claimed"))
        ).values(status="cancelled", ended_at=now).execution_options(synchronize_session=False))
        reminder_ids = select(MedicationReminder.id).where(
            MedicationReminder.patient_id == patient.id)
        session.execute(update(ScheduledJob).where(
            ScheduledJob.patient_id == patient.id, ScheduledJob.status == "pending"
        ).values(status="cancelled").execution_options(synchronize_session=False))
        session.execute(update(Dose).where(
            Dose.reminder_id.in_(reminder_ids), Dose.status.in_(("scheduled", "snoozed"))
        ).values(status="cancelled").execution_options(synchronize_session=False))
        session.execute(update(MedicationReminder).where(
            MedicationReminder.patient_id == patient.id,
            MedicationReminder.status.in_(("active", "paused"))
        ).values(status="cancelled", updated_at=now).execution_options(
            synchronize_session=False))
        session.execute(update(FollowupEnrolment).where(
            FollowupEnrolment.patient_id == patient.id, FollowupEnrolment.status == "active"
        ).values(status="cancelled").execution_options(synchronize_session=False))
        return withdrawn

    @staticmethod
    def _delete(session: Session, patient: Patient) -> list[tuple[str, int]]:
        """Delete every ``service`` table's rows of the patient (``bot.store.registry``);
        counts per label, in registry order. The Rasa tracker is erased by the channel
        boundary after this turn (it is rewritten at the end of the turn)."""
        counts = delete_rows(session, patient, ("service",), service_only_where=True)
        labels: dict[str, int] = {}
        for entry in entries("service"):
            labels[entry.label] = labels.get(entry.label, 0) + counts.get(entry.name, 0)
        return list(labels.items())
