"""Reminder fixtures: a controllable clock, a recording sender, wired components."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.kb.drugs import default_drugs
from bot.outbound import OutboundError, OutboundMessage, OutboundRouter, SendResult
from bot.reminders.config import ReminderConfig
from bot.reminders.jobs import ReminderJobs
from bot.reminders.kb import default_followup_kb
from bot.reminders.outbox import OutboxSender
from bot.reminders.planner import Planner
from bot.reminders.readings import ReadingService
from bot.reminders.service import ReminderService
from bot.reminders.worker import Worker
from bot.store.db import Database
from tests.consent_double import GRANTED

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    """An Asia/Shanghai wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


class RecordingSender:
    """A WeChat-like sender (no idempotency) that records what it was asked to send."""

    def __init__(self, channel: str = "wechat") -> None:
        self.channel = channel
        self.sent: list[OutboundMessage] = []
        self.fail_next: OutboundError | None = None
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            self.sent.append(message)
            return SendResult(channel_message_id=str(len(self.sent)), via="custom")

    def texts(self) -> list[str]:
        return [m.text for m in self.sent]


@dataclass
class Stack:
    db: Database
    clock: FakeClock
    config: ReminderConfig
    sender: RecordingSender
    outbox: OutboxSender
    router: OutboundRouter
    service: ReminderService
    readings: ReadingService
    jobs: ReminderJobs
    planner: Planner
    workers: list[Worker] = field(default_factory=list)

    def worker(self, **kwargs: object) -> Worker:
        worker = Worker(self.db, self.router, self.jobs, self.clock, self.config,
                        planner=self.planner, plan_every=__import__("datetime").timedelta(0),
                        **kwargs)
        self.workers.append(worker)
        return worker

    def run_at(self, moment: datetime, worker: Worker | None = None) -> int:
        """Move the clock to ``moment`` and process everything due; returns sends."""
        self.clock.set(moment)
        worker = worker or (self.workers[0] if self.workers else self.worker())
        sent = 0
        while True:
            result = worker.tick()
            sent += result.sent
            if result.claimed == 0:
                return sent


def make_stack(db: Database, start: datetime, consent: object = GRANTED) -> Stack:
    clock = FakeClock(start)
    config = ReminderConfig()
    drugs, kb = default_drugs(), default_followup_kb()
    planner = Planner(config.horizon, kb)
    sender = RecordingSender()
    outbox = OutboxSender(db, clock)
    router = OutboundRouter({"wechat": sender, "rest": outbox})
    return Stack(db, clock, config, sender, outbox, router,
                 ReminderService(db, clock, config, drugs, planner, consent=consent),
                 ReadingService(db, clock, config, kb, planner, consent=consent),
                 ReminderJobs(config, drugs, kb, consent=consent), planner)


@pytest.fixture
def stack(db: Database) -> Iterator[Stack]:
    s = make_stack(db, local(2026, 11, 22, 7, 0))
    yield s
    for worker in s.workers:
        worker.close()
