"""The scheduler worker's maintenance thread: periodic tasks on a fake clock, handoff expiry
with the patient's notice delivered through the REST outbox exactly once."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.errors import ConfigError
from bot.handoff.config import HandoffConfig
from bot.handoff.service import HandoffService
from bot.i18n import t
from bot.kb.drugs import default_drugs
from bot.maintenance import (
    HandoffExpiry,
    MaintenanceConfig,
    MaintenanceRunner,
    PeriodicTask,
    build_maintenance,
)
from bot.outbound import OutboundError, OutboundMessage, OutboundRouter, SendResult
from bot.reminders.config import ReminderConfig
from bot.reminders.jobs import ReminderJobs
from bot.reminders.kb import default_followup_kb
from bot.reminders.outbox import OutboxSender
from bot.reminders.worker import Worker
from bot.retention import RetentionService
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.chain import verify
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.integrity import verify_all
from bot.store.models import Message
from bot.store.reminder_models import OutboxMessage, ScheduledJob
from bot.store.repositories import LoggedMessage, TranscriptService

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def test_tasks_run_when_due_and_a_failure_does_not_stop_the_others(caplog) -> None:
    clock = FakeClock(T0)
    calls: list[tuple[str, datetime]] = []

    def boom(now: datetime) -> None:
        calls.append(("boom", now))
        raise RuntimeError("database is down")

    runner = MaintenanceRunner(clock, [
        PeriodicTask("fast", timedelta(seconds=30), lambda now: calls.append(("fast", now))),
        PeriodicTask("daily", timedelta(days=1), boom, retry=timedelta(hours=1)),
    ])
    with caplog.at_level(logging.ERROR, logger="bot.maintenance"):
        ran = runner.tick()
    assert set(ran) == {"fast", "daily"} and isinstance(ran["daily"], RuntimeError)
    assert "maintenance.task.failed name=daily" in caplog.text
    clock.advance(seconds=10)
    assert runner.tick() == {} and runner.wait_seconds(60) == 20
    clock.advance(seconds=20)
    assert set(runner.tick()) == {"fast"}
    clock.advance(hours=1)
    assert set(runner.tick()) == {"fast", "daily"}  # retried after an hour, not a day
    assert [name for name, _ in calls] == ["fast", "boom", "fast", "fast", "boom"]


def test_run_loops_until_stopped_and_survives_errors() -> None:
    clock = FakeClock(T0)
    stop = threading.Event()
    count = {"n": 0}

    def flaky(now: datetime) -> None:
        count["n"] += 1
        clock.advance(seconds=1)
        if count["n"] >= 3:
            stop.set()
        raise ValueError("every tick fails")

    runner = MaintenanceRunner(clock, [PeriodicTask("flaky", timedelta(seconds=1), flaky)])
    thread = runner.start(stop, idle=0.01)
    thread.join(timeout=5)
    assert not thread.is_alive() and count["n"] == 3


def test_intervals_are_configurable() -> None:
    config = MaintenanceConfig.from_settings(Settings.from_env({
        "MEDBOT_HANDOFF_EXPIRY_SECONDS": "5", "MEDBOT_RETENTION_INTERVAL_HOURS": "12"}))
    assert (config.handoff_every, config.retention_every) == (timedelta(seconds=5),
                                                             timedelta(hours=12))
    assert MaintenanceConfig.from_settings(Settings.from_env({})).handoff_every == \
        timedelta(seconds=30)


# ------------------------------------------------------------------ handoff expiry
def _queued_handoff(db: Database, external_id: str, deadline: datetime) -> int:
    TranscriptService(db).log("rest", external_id, [LoggedMessage("patient", "我要找医生",
                                                                  language="zh")])
    with db.begin() as session:
        patient_id = session.execute(select(Message.patient_id)).scalars().first()
        row = Handoff(patient_id=patient_id, conversation_id=external_id, channel="rest",
                      department_id="general_practice", reason="request_human", language="zh",
                      status="queued", claim_deadline=deadline, created_at=deadline)
        session.add(row)
        session.flush()
        return row.id


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.begin() as session:
        return session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def test_an_unclaimed_handoff_expires_and_the_notice_reaches_the_outbox_once(db) -> None:
    clock = FakeClock(T0)
    handoff_id = _queued_handoff(db, "p1", T0 + timedelta(minutes=15))
    config = HandoffConfig.load()
    handoffs = HandoffService(db, config, clock)
    router = OutboundRouter({"rest": OutboxSender(db, clock)})
    runner = build_maintenance(db, router, clock, handoffs, RetentionService(db),
                               MaintenanceConfig())
    runner.tick()
    assert _outbox(db) == []  # not yet past the deadline
    clock.advance(minutes=15)
    runner.tick()
    clock.advance(seconds=30)
    runner.tick()
    clock.advance(seconds=30)
    runner.tick()
    rows = _outbox(db)
    expected = t("utter_handoff_expired", "zh", minutes=config.claim_timeout_minutes,
                 **handoffs.hospital.params("zh"))
    assert [(r.external_id, r.kind, r.text) for r in rows] == [("p1", "notice", expected)]
    with db.begin() as session:
        row = session.get(Handoff, handoff_id)
        assert row.status == "expired"
        said = session.execute(select(Message.text).where(Message.conversation_id == "p1")
                               .order_by(Message.seq)).scalars().all()
    assert said[-1] == expected and verify(db).ok


class BrokenSender:
    channel = "rest"

    def __init__(self, retryable: bool) -> None:
        self.retryable = retryable

    def send(self, message: OutboundMessage) -> SendResult:
        raise OutboundError("outbox unavailable", retryable=self.retryable)


@pytest.mark.parametrize("retryable, status", [(True, "pending"), (False, "failed")])
def test_a_failed_notice_is_recorded_as_a_job(db, caplog, retryable, status) -> None:
    clock = FakeClock(T0)
    _queued_handoff(db, "p1", T0 - timedelta(minutes=1))
    handoffs = HandoffService(db, HandoffConfig.load(), clock)
    expiry = HandoffExpiry(handoffs, OutboundRouter({"rest": BrokenSender(retryable)}), db)
    with caplog.at_level(logging.WARNING, logger="bot.maintenance"):
        assert expiry(clock.now()) == 1
    assert "handoff.expiry_notice.failed channel=rest" in caplog.text
    with db.begin() as session:
        job = session.execute(select(ScheduledJob)).scalar_one()
    assert (job.kind, job.status, job.last_error) == ("notice", status, "outbox unavailable")
    assert job.idempotency_key.startswith("handoff-expired:")
    assert _outbox(db) == []


def test_the_reminder_worker_delivers_a_recorded_notice_later(db) -> None:
    clock = FakeClock(T0)
    _queued_handoff(db, "p1", T0 - timedelta(minutes=1))
    handoffs = HandoffService(db, HandoffConfig.load(), clock)
    HandoffExpiry(handoffs, OutboundRouter({"rest": BrokenSender(True)}), db)(clock.now())
    config = ReminderConfig()
    router = OutboundRouter({"rest": OutboxSender(db, clock)})
    worker = Worker(db, router, ReminderJobs(config, default_drugs(), default_followup_kb()),
                    clock, config)
    try:
        clock.advance(minutes=1)
        assert worker.tick().sent == 1
        clock.advance(minutes=1)
        assert worker.tick().sent == 0
    finally:
        worker.close()
    assert [r.kind for r in _outbox(db)] == ["notice"]


# ------------------------------------------------------------------ anchors
def test_the_anchor_interval_is_configurable() -> None:
    assert MaintenanceConfig().anchor_every == timedelta(seconds=300)
    config = MaintenanceConfig.from_settings(Settings.from_env({
        "MEDBOT_ANCHOR_INTERVAL_SECONDS": "60"}))
    assert config.anchor_every == timedelta(seconds=60)
    with pytest.raises(ConfigError, match="MEDBOT_ANCHOR_INTERVAL_SECONDS"):
        MaintenanceConfig.from_settings(Settings.from_env({
            "MEDBOT_ANCHOR_INTERVAL_SECONDS": "often"}))


def test_the_worker_signs_the_heads_at_start_and_every_interval(db, tmp_path) -> None:
    clock = FakeClock(T0)
    anchors = AnchorLog(tmp_path / "chain.jsonl", bytes(range(32)))
    TranscriptService(db).log("rest", "p1", [LoggedMessage("patient", "你好")], "rest:p1")
    runner = build_maintenance(db, OutboundRouter({"rest": OutboxSender(db, clock)}), clock,
                               HandoffService(db, HandoffConfig.load(), clock),
                               RetentionService(db, anchors=anchors),
                               MaintenanceConfig(anchor_every=timedelta(seconds=60)),
                               anchors=anchors)
    assert [line["n"] for line in runner.tick()["anchor"]] == [1]
    TranscriptService(db).log("rest", "p1", [LoggedMessage("bot", "您好")], "rest:p1")
    clock.advance(seconds=30)
    assert "anchor" not in runner.tick()
    clock.advance(seconds=30)
    [line] = runner.tick()["anchor"]
    assert (line["n"], line["conversations"][anchors.tag("rest:p1")][0]) == (2, 2)
    assert verify_all(db, anchors).ok
