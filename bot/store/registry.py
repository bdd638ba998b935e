"""Where a patient's data lives: the one registry used by erasure, retention and export.

Every table that holds something about a patient is listed once, with how to find
that patient's rows and what kind of data it is:

- ``service``: what medbot keeps to provide its own services (reminders, doses,
  readings, follow-ups, delivery copies, pending questions). ``delete_my_data``
  deletes it at once.
- ``record``: the chat and care record the hospital must keep (at least three
  years): access-locked by ``delete_my_data``, erased by the retention job once
  the patient's last message is past the retention period.
- ``tracker``: Rasa's own copy of the conversation (every text and slot). It is
  written by the Rasa process at the end of each turn, so it is deleted there,
  after the turn (``channels/erase.py``), and by the retention job.
- ``proof``: proof of lawful processing (consent records, the audit log, chain
  checkpoints): kept.
- ``identity``: the patient row itself, which proof points to: pseudonymised.

``export`` names the FHIR resource the export maps a table to, or says why it is
not exported. ``tests/bot/test_registry.py`` fails when a table with a patient
reference is missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Table, column, delete, func, inspect, or_, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.identity import conversation_id
from bot.store.appointment_models import Appointment
from bot.store.audit_models import AuditEvent
from bot.store.consent_models import ConsentPrompt, ConsentRecord
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient, TranscriptCheckpoint
from bot.store.action_replay_models import ActionReplay
from bot.store.reminder_models import (
    CareTeamFlag,
    Dose,
    FollowupEnrolment,
    MedicationReminder,
    OutboxMessage,
    Reading,
    ScheduledJob,
)
from bot.store.revisit_models import RevisitRequest
from bot.store.triage_models import TriageRecord
from bot.store.wechat_models import (
    WeChatDelivery,
    WeChatInbound,
    WeChatQuota,
    WeChatSubscribeStatus,
    WeChatSubscription,
)

Kind = Literal["service", "record", "tracker", "proof", "identity"]
Match = Callable[[Patient], "list[ColumnElement] | None"]  # None: no rows can match

# Rasa's SQL tracker store shares the app database: its events hold every
# conversation turn's text. Not our model, so only the columns we need.
RASA_EVENTS = table("events", column("id"), column("sender_id"), column("timestamp"))


def _t(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PatientData:
    """One table's share of a patient's data.

    Attributes:
        label: the ``utter_label_deleted_<label>`` text naming it to the patient.
        service_where: for ``service`` data, which of the patient's rows
            ``delete_my_data`` deletes (default: all of them).
        optional: the table may be absent (Rasa creates ``events`` itself).
    """

    name: str
    table: Table
    kind: Kind
    match: Match
    export: str
    label: str = "copies"
    service_where: tuple[ColumnElement, ...] = ()
    optional: bool = False


def _by_patient(model: type) -> Match:
    return lambda p: [model.patient_id == p.id]  # type: ignore[attr-defined]


def _by_openid(model: type) -> Match:
    return lambda p: [model.openid == p.external_id] if p.channel == "wechat" else None


# In deletion order (children before their parents).
REGISTRY: tuple[PatientData, ...] = (
    PatientData("scheduled_jobs", _t(ScheduledJob), "service", _by_patient(ScheduledJob),
                "not exported: delivery plan of reminders", "jobs"),
    PatientData("doses", _t(Dose), "service", _by_patient(Dose),
                "not exported: reminder bookkeeping", "doses"),
    PatientData("medication_reminders", _t(MedicationReminder), "service",
                _by_patient(MedicationReminder), "not exported: a reminder, not a prescription",
                "reminders"),
    PatientData("readings", _t(Reading), "service", _by_patient(Reading), "Observation",
                "readings"),
    PatientData("followup_enrolments", _t(FollowupEnrolment), "service",
                _by_patient(FollowupEnrolment), "not exported: reminder schedule", "followups"),
    PatientData("outbox_messages", _t(OutboxMessage), "service",
                lambda p: [OutboxMessage.channel == p.channel,
                           OutboxMessage.external_id == p.external_id],
                "not exported: copies of messages in the transcript", "outbox"),
    PatientData("consent_prompts", _t(ConsentPrompt), "service", _by_patient(ConsentPrompt),
                "not exported: the decisions are the Consent resources", "prompts",
                service_where=(ConsentPrompt.status != "answered",)),
    PatientData("wechat_inbound", _t(WeChatInbound), "service", _by_openid(WeChatInbound),
                "not exported: delivery copies of transcript messages"),
    PatientData("wechat_outbox", _t(WeChatDelivery), "service", _by_openid(WeChatDelivery),
                "not exported: delivery copies of transcript messages"),
    PatientData("wechat_subscriptions", _t(WeChatSubscription), "service",
                _by_openid(WeChatSubscription), "not exported: delivery state"),
    PatientData("wechat_quota", _t(WeChatQuota), "service", _by_openid(WeChatQuota),
                "not exported: delivery state (the customer-service message ledger)"),
    PatientData("wechat_subscribe_status", _t(WeChatSubscribeStatus), "service",
                _by_openid(WeChatSubscribeStatus),
                "not exported: delivery state (subscription-message answers)"),
    PatientData("action_replays", _t(ActionReplay), "service",
                lambda p: [ActionReplay.conversation_id == conversation_id(p.channel, p.external_id)],
                "not exported: copies of a turn's answers kept for a retry"),
    PatientData("rasa_events", RASA_EVENTS, "tracker",
                lambda p: [RASA_EVENTS.c.sender_id == conversation_id(p.channel, p.external_id)],
                "not exported: Rasa's working copy of the transcript", optional=True),
    PatientData("messages", _t(Message), "record", _by_patient(Message), "Communication"),
    PatientData("triage_records", _t(TriageRecord), "record",
                lambda p: [or_(TriageRecord.patient_id == p.id,
                               TriageRecord.conversation_id == conversation_id(
                                   p.channel, p.external_id))],
                "not exported: the advice given is in the Communication resources"),
    PatientData("care_team_flags", _t(CareTeamFlag), "record", _by_patient(CareTeamFlag),
                "not exported: internal escalations to the care team"),
    PatientData("handoffs", _t(Handoff), "record", _by_patient(Handoff),
                "not exported: the doctor's messages are Communication resources"),
    PatientData("appointments", _t(Appointment), "record", _by_patient(Appointment),
                "Appointment"),
    PatientData("revisit_requests", _t(RevisitRequest), "record", _by_patient(RevisitRequest),
                "not exported: a request the hospital handles in its own record"),
    PatientData("transcript_checkpoints", _t(TranscriptCheckpoint), "proof",
                lambda p: [TranscriptCheckpoint.conversation_id == conversation_id(
                    p.channel, p.external_id)],
                "not exported: hashes only"),
    PatientData("consent_records", _t(ConsentRecord), "proof", _by_patient(ConsentRecord),
                "Consent"),
    PatientData("audit_events", _t(AuditEvent), "proof", _by_patient(AuditEvent),
                "not exported: staff access log, kept as proof"),
    PatientData("patients", _t(Patient), "identity", lambda p: [Patient.id == p.id], "Patient"),
)


def entries(*kinds: Kind) -> tuple[PatientData, ...]:
    return tuple(entry for entry in REGISTRY if entry.kind in kinds)


def present(session: Session, entry: PatientData) -> bool:
    return not entry.optional or inspect(session.connection()).has_table(entry.table.name)


def delete_rows(session: Session, patient: Patient, kinds: tuple[Kind, ...], *,
                dry_run: bool = False, service_only_where: bool = False) -> dict[str, int]:
    """Delete (or count) the patient's rows of every table of ``kinds``, in order.

    Args:
        service_only_where: apply ``service_where`` (``delete_my_data``).

    Returns:
        rows per table name.
    """
    counts: dict[str, int] = {}
    for entry in entries(*kinds):
        conditions = entry.match(patient)
        if conditions is None or not present(session, entry):
            continue
        if service_only_where:
            conditions = [*conditions, *entry.service_where]
        if dry_run:
            counts[entry.name] = session.execute(select(func.count()).select_from(entry.table)
                                                 .where(*conditions)).scalar_one()
        else:
            counts[entry.name] = session.execute(
                delete(entry.table).where(*conditions)
                .execution_options(synchronize_session=False)).rowcount
    return counts
