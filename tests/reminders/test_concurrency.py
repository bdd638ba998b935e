"""Several workers on one database never send the same item twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.outbound import OutboundRouter
from bot.reminders.worker import Worker
from bot.store.db import Database
from bot.store.reminder_models import ScheduledJob
from tests.reminders.conftest import RecordingSender, Stack, local

PATIENTS = 120


def _run_workers(stack: Stack, db_url: str, count: int) -> RecordingSender:
    sender = RecordingSender()
    databases = [Database(db_url) for _ in range(count)]
    workers = [Worker(db, OutboundRouter({"wechat": sender}), stack.jobs, stack.clock,
                      stack.config, batch_size=7, send_concurrency=4) for db in databases]
    start = threading.Barrier(count)

    def drain(worker: Worker) -> None:
        start.wait()
        while worker.tick().claimed:
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for worker, db in zip(workers, databases):
        worker.close()
        db.dispose()
    return sender


def test_two_workers_send_every_due_reminder_exactly_once(stack: Stack, db_url: str) -> None:
    draft = stack.service.draft("氨氯地平 5mg 每天一次", "5mg", "每天一次")
    for i in range(PATIENTS):
        stack.service.create("wechat", f"o_{i:04d}", draft, "zh")
    stack.clock.set(local(2026, 11, 22, 8, 0) + timedelta(seconds=5))
    sender = _run_workers(stack, db_url, 2)
    keys = [m.idempotency_key for m in sender.sent]
    assert len(keys) == PATIENTS
    assert len(set(keys)) == PATIENTS
    assert len({m.external_id for m in sender.sent}) == PATIENTS
    with stack.db.begin() as s:
        done = s.execute(select(func.count()).select_from(ScheduledJob).where(
            ScheduledJob.kind == "dose", ScheduledJob.status == "done")).scalar()
    assert done == PATIENTS
