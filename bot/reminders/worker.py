"""The scheduler worker: claim due jobs atomically, send them, mark them.

One batch is two short transactions around the sends:

1. **claim + prepare**: select due jobs (``pending`` and due, or ``claimed``/
   ``sending`` whose lease expired) with ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so concurrent workers take disjoint rows (SQLite: one writer at a
   time, ``BEGIN IMMEDIATE``). Each job is decided (send, or a final status such
   as ``expired`` after downtime) and set to ``sending`` with this worker's id
   and a lease, then committed — the send is on record *before* it happens.
2. **send** each message through the ``OutboundRouter`` (a thread pool; the
   message carries the job's idempotency key).
3. **mark**: only rows still ``sending`` and held by this worker become
   ``done`` (plus the handler's follow-up jobs); a retryable failure releases
   the job with a lease that acts as a back-off.

A worker that dies leaves ``sending`` rows behind. When their lease expires
another worker finds them: on a channel whose sender drops a repeated
idempotency key (the REST outbox) the message is sent again; on the others
(WeChat has no such key) it is **not** sent again but marked ``uncertain`` and
treated as delivered (logged ``scheduler.job.uncertain``) — a duplicate
medication reminder can make a patient take a dose twice, so the window in
which the outcome is unknown resolves to at-most-once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.outbound import OutboundError, OutboundRouter, SendResult
from bot.reminders.config import ReminderConfig
from bot.reminders.jobs import KeyedMessage, ReminderJobs
from bot.reminders.planner import Planner
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.reminder_models import ScheduledJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class TickResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    closed: int = 0  # finished without a send (expired, cancelled, internal)
    planned: int = 0


class Worker:
    """Processes due jobs in batches; safe to run several at once on PostgreSQL."""

    def __init__(self, db: Database, router: OutboundRouter, jobs: ReminderJobs, clock: Clock,
                 config: ReminderConfig, *, planner: Planner | None = None,
                 worker_id: str | None = None, batch_size: int = 100,
                 send_concurrency: int = 8,
                 plan_every: timedelta = timedelta(minutes=1)) -> None:
        self.db = db
        self.router = router
        self.jobs = jobs
        self.clock = clock
        self.config = config
        self.planner = planner
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:10]}"
        self.batch_size = batch_size
        self.plan_every = plan_every
        self._pool = ThreadPoolExecutor(max_workers=send_concurrency,
                                        thread_name_prefix="reminder-send")
        self._planned_at: datetime | None = None
        self.after_claim: Callable[[list[int]], None] | None = None  # test hook: crash here

    @property
    def _postgres(self) -> bool:
        return self.db.dialect == "postgresql"

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # ---------------------------------------------------------------- planning
    def plan(self) -> int:
        now = self.clock.now()
        if self.planner is None:
            return 0
        if self._planned_at is not None and now - self._planned_at < self.plan_every:
            return 0
        with self.db.begin() as session:
            count = self.planner.extend(session, now, skip_locked=self._postgres)
        self._planned_at = now
        return count

    # ---------------------------------------------------------------- one batch
    def tick(self) -> TickResult:
        result = TickResult(planned=self.plan())
        outgoing = self._claim(result)
        if self.after_claim is not None:
            self.after_claim([job_id for job_id, _ in outgoing])
        if not outgoing:
            return result
        futures = {job_id: self._pool.submit(self.router.send, message)
                   for job_id, message in outgoing}
        outcomes: dict[int, SendResult | OutboundError] = {}
        for job_id, future in futures.items():
            try:
                outcomes[job_id] = future.result()
            except OutboundError as exc:
                outcomes[job_id] = exc
            except Exception as exc:  # noqa: BLE001 - a sender bug must not stop the batch
                log.exception("scheduler.send.crashed id=%s", job_id)
                # it may have sent before failing: never retried (at most once)
                outcomes[job_id] = OutboundError(f"sender crashed: {exc!r}", retryable=False)
        self._mark(outcomes, result)
        return result

    def _claim(self, result: TickResult) -> list[tuple[int, KeyedMessage]]:
        now = self.clock.now()
        due = or_(
            and_(ScheduledJob.status == "pending", ScheduledJob.due_at <= now),
            and_(ScheduledJob.status.in_(("claimed", "sending")), ScheduledJob.lease_until < now),
        )
        stmt = (select(ScheduledJob, Patient).join(Patient, Patient.id == ScheduledJob.patient_id)
                .where(due).order_by(ScheduledJob.due_at, ScheduledJob.id).limit(self.batch_size))
        if self._postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=ScheduledJob)
        outgoing: list[tuple[int, KeyedMessage]] = []
        with self.db.begin() as session:
            rows = session.execute(stmt).all()
            self.jobs.preload(session, [job for job, _ in rows])
            session.autoflush = False  # one flush at commit, not one per job
            for job, patient in rows:
                result.claimed += 1
                idempotent = patient.channel in self.config.idempotent_channels
                if (job.status == "sending" and not idempotent and self.router.started(
                        patient.channel, job.idempotency_key, session) is False):
                    # the previous holder died before its sender began this one: nothing
                    # can have reached the patient, so it is sent now (not "uncertain")
                    log.info("scheduler.job.never_started id=%s kind=%s holder=%s", job.id,
                             job.kind, job.claimed_by)
                elif job.status == "sending" and not idempotent:
                    # The previous holder died between recording and confirming the send.
                    log.warning("scheduler.job.uncertain id=%s kind=%s holder=%s", job.id,
                                job.kind, job.claimed_by)
                    job.status, job.claimed_by, job.lease_until = "uncertain", None, None
                    self.jobs.on_sent(session, job, now)
                    result.closed += 1
                    continue
                job.attempts += 1
                status, message = self.jobs.prepare(session, job, patient, now)
                if message is None:
                    job.status, job.claimed_by, job.lease_until = status, None, None
                    result.closed += 1
                    continue
                job.status, job.claimed_by = "sending", self.worker_id
                job.lease_until = now + self.config.lease
                outgoing.append((job.id, message))
        return outgoing

    def _mark(self, outcomes: dict[int, SendResult | OutboundError], result: TickResult) -> None:
        now = self.clock.now()
        stmt = select(ScheduledJob).where(ScheduledJob.id.in_(list(outcomes)))
        if self._postgres:
            stmt = stmt.with_for_update()
        with self.db.begin() as session:
            jobs = session.execute(stmt).scalars().all()
            self.jobs.preload(session, jobs)
            session.autoflush = False
            for job in jobs:
                outcome = outcomes[job.id]
                if job.status != "sending" or job.claimed_by != self.worker_id:
                    log.warning("scheduler.job.lease_lost id=%s worker=%s", job.id,
                                self.worker_id)
                    continue
                if isinstance(outcome, SendResult):
                    job.status, job.sent_at, job.via = "done", now, outcome.via
                    job.channel_message_id = outcome.channel_message_id
                    job.claimed_by, job.lease_until = None, None
                    self.jobs.on_sent(session, job, now)
                    result.sent += 1
                    continue
                job.last_error = str(outcome)[:2000]
                result.failed += 1
                if outcome.retryable and job.attempts < MAX_ATTEMPTS:
                    # released with a lease that acts as the back-off before the next try
                    job.status, job.claimed_by = "claimed", None
                    job.lease_until = now + timedelta(seconds=5 * 2 ** (job.attempts - 1))
                    log.warning("scheduler.job.retry id=%s attempts=%s error=%s", job.id,
                                job.attempts, job.last_error)
                else:
                    job.status, job.claimed_by, job.lease_until = "failed", None, None
                    log.error("scheduler.job.failed id=%s kind=%s error=%s", job.id, job.kind,
                              job.last_error)

    # ---------------------------------------------------------------- loop
    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        """Process batches until ``stop`` is set (finishes the batch in hand)."""
        log.info("scheduler.worker.started id=%s", self.worker_id)
        while not stop.is_set():
            try:
                result = self.tick()
            except SQLAlchemyError:
                # the batch's transaction rolled back; its rows are retried after the lease
                log.exception("scheduler.worker.db_error id=%s", self.worker_id)
                stop.wait(idle)
                continue
            if result.claimed == 0:
                stop.wait(idle)
        log.info("scheduler.worker.stopped id=%s", self.worker_id)
