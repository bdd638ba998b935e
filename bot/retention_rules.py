"""What the retention purge deletes besides transcripts, and how a locked patient is erased.

``RULES`` is the one list of "records past the cutoff that nobody needs any
more"; each rule is a table and a condition on the cutoff, deleted in batches of
ids (one transaction per batch). ``consent_records`` and ``audit_events`` are
deliberately absent: they are the proof of lawful processing and are kept.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, delete, func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.store.appointment_models import Appointment, Slot

from bot.store.consent_models import ConsentPrompt
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Patient
from bot.store.action_replay_models import ActionReplay
from bot.store.registry import RASA_EVENTS, delete_rows
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
from bot.store.wechat_models import WeChatDelivery, WeChatInbound

ERASED_PREFIX = "erased:"
ENDED_REMINDER = ("cancelled", "finished")
FINAL_JOB = ("done", "expired", "cancelled", "failed", "uncertain")
ENDED_HANDOFF = ("closed", "cancelled", "expired")

def _t(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Rule:
    """Delete rows of ``table`` matching ``where(cutoff)``; ``optional`` tables may be absent."""

    name: str
    table: Table
    where: Callable[[datetime], list[ColumnElement]]
    optional: bool = False


RULES: tuple[Rule, ...] = (
    Rule("triage_records", _t(TriageRecord), lambda c: [TriageRecord.created_at < c]),
    Rule("readings", _t(Reading), lambda c: [Reading.created_at < c]),
    Rule("care_team_flags", _t(CareTeamFlag), lambda c: [CareTeamFlag.created_at < c]),
    # doses of reminders that have ended; an active reminder keeps its history
    Rule("doses", _t(Dose), lambda c: [
        Dose.scheduled_at < c, Dose.reminder_id.in_(select(MedicationReminder.id).where(
            MedicationReminder.status.in_(ENDED_REMINDER)))]),
    Rule("medication_reminders", _t(MedicationReminder), lambda c: [
        MedicationReminder.status.in_(ENDED_REMINDER), MedicationReminder.updated_at < c,
        ~select(Dose.id).where(Dose.reminder_id == MedicationReminder.id).exists()]),
    Rule("followup_enrolments", _t(FollowupEnrolment), lambda c: [
        FollowupEnrolment.status != "active", FollowupEnrolment.created_at < c]),
    Rule("scheduled_jobs", _t(ScheduledJob), lambda c: [
        ScheduledJob.status.in_(FINAL_JOB), ScheduledJob.due_at < c]),
    # a pending question is kept (ask() refreshes it in place); answered ones go
    Rule("consent_prompts", _t(ConsentPrompt), lambda c: [
        ConsentPrompt.status != "pending",
        func.coalesce(ConsentPrompt.answered_at, ConsentPrompt.created_at) < c]),
    Rule("handoffs", _t(Handoff), lambda c: [
        Handoff.status.in_(ENDED_HANDOFF),
        func.coalesce(Handoff.ended_at, Handoff.created_at) < c]),
    Rule("appointments", _t(Appointment), lambda c: [
        Appointment.created_at < c,
        Appointment.slot_id.in_(select(Slot.id).where(Slot.ends_at < c))]),
    Rule("revisit_requests", _t(RevisitRequest), lambda c: [
        RevisitRequest.status.in_(("completed", "rejected")), RevisitRequest.created_at < c]),
    Rule("outbox_messages", _t(OutboxMessage), lambda c: [OutboxMessage.created_at < c]),
    Rule("wechat_outbox", _t(WeChatDelivery), lambda c: [WeChatDelivery.created_at < c]),
    Rule("wechat_inbound", _t(WeChatInbound), lambda c: [WeChatInbound.created_at < c]),
    Rule("action_replays", _t(ActionReplay), lambda c: [ActionReplay.created_at < c]),
    Rule("rasa_events", RASA_EVENTS, lambda c: [RASA_EVENTS.c.timestamp < c.timestamp()],
         optional=True),
)


def _present(db_or_session: Database | Session, name: str) -> bool:
    bind = db_or_session.engine if isinstance(db_or_session, Database) else \
        db_or_session.connection()
    return inspect(bind).has_table(name)


def purge_rule(db: Database, rule: Rule, cutoff: datetime, dry_run: bool, batch: int) -> int:
    """Delete (or count) the rows of one rule; returns how many."""
    if rule.optional and not _present(db, rule.table.name):
        return 0
    conditions = rule.where(cutoff)
    if dry_run:
        with db.begin() as session:
            return session.execute(select(func.count()).select_from(rule.table)
                                   .where(*conditions)).scalar_one()
    key, total = rule.table.c.id, 0
    while True:
        with db.begin() as session:
            ids = session.execute(select(key).where(*conditions).order_by(key).limit(batch)
                                  ).scalars().all()
            if ids:
                session.execute(delete(rule.table).where(key.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


def pseudonym(channel: str, external_id: str, key: bytes) -> str:
    """What an erased patient's ``external_id`` becomes: unlinkable without the original id
    *and* the erasure key (a secret outside the database, ``bot.store.keys``), so a list of
    openids cannot be matched against it; a person who presents their channel id can still
    be matched to their consent records by whoever holds the key."""
    digest = hmac.new(key, f"{channel}:{external_id}".encode(), hashlib.sha256).hexdigest()
    return ERASED_PREFIX + digest


def erase_patient(session: Session, patient: Patient, dry_run: bool,
                  key: bytes) -> dict[str, int]:
    """Erase a locked patient's remaining personal data (the caller checked no message is left).

    ``delete_my_data`` locks the patient: records the law makes us keep stay, access-locked,
    until the retention period ends. Once the purge has removed the last of their messages
    (at least the retention period after their last message, so nothing current is left),
    everything else about them goes: every ``service``, ``record`` and ``tracker`` table of
    the registry (``bot.store.registry``). The patient row itself stays because
    ``consent_records`` and ``audit_events`` (kept as proof of lawful processing) point to it,
    but it is pseudonymised (``pseudonym``) and its language is cleared.

    Returns:
        rows per table (deleted, or that would be with ``dry_run``).
    """
    channel, external_id = patient.channel, patient.external_id
    if not dry_run:  # give back the places of bookings still active
        session.execute(update(Slot).where(Slot.id.in_(select(Appointment.slot_id).where(
            Appointment.patient_id == patient.id, Appointment.status == "booked")))
            .values(booked=Slot.booked - 1).execution_options(synchronize_session=False))
    counts = delete_rows(session, patient, ("service", "tracker", "record"), dry_run=dry_run)
    if not dry_run:
        patient.external_id = pseudonym(channel, external_id, key)
        patient.preferred_language = None
    return {name: n for name, n in counts.items() if n}
