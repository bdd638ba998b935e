"""Periodic housekeeping of the scheduler worker: handoff timeouts, the retention purge and
the signed anchors of the hash chains (``bot.store.anchors``).

``MaintenanceRunner`` runs ``PeriodicTask``s on an injected clock in its own
thread (``start``), so a long purge never delays reminder dispatch. A task that
raises is logged (``maintenance.task.failed``) and tried again after its
``retry`` delay; the other tasks and later ticks go on.

``HandoffExpiry`` ends queued handoffs nobody claimed in time and tells the
patient through the worker's ``OutboundRouter``. A delivery that fails is logged
(``handoff.expiry_notice.failed``) and recorded as a ``notice`` job in
``scheduled_jobs``: pending, so the reminder worker retries it with the same
idempotency key (the REST outbox drops a repeat), or ``failed`` with the error when
retrying cannot help. WeChat's sender also records each attempt in ``wechat_outbox``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.fallback import SpoolReplay
from bot.handoff.service import HandoffService
from bot.masking import mask_id
from bot.outbound import OutboundError, OutboundMessage, OutboundRouter
from bot.reminders.jobs import KeyedMessage
from bot.reminders.planner import add_job
from bot.retention import RetentionService
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.db import Database
from bot.store.repositories import PatientRepository
from bot.store.spool import Spool

if TYPE_CHECKING:
    from bot.triage.pipeline import Triage

log = logging.getLogger(__name__)

NOTICE_RETRY_DELAY = timedelta(seconds=30)


@dataclass(frozen=True)
class MaintenanceConfig:
    """Intervals: ``MEDBOT_HANDOFF_EXPIRY_SECONDS`` (default 30),
    ``MEDBOT_RETENTION_INTERVAL_HOURS`` (default 24) and ``MEDBOT_ANCHOR_INTERVAL_SECONDS``
    (default 300: what changes after the last anchor is not covered by one)."""

    handoff_every: timedelta = timedelta(seconds=30)
    retention_every: timedelta = timedelta(hours=24)
    retention_retry: timedelta = timedelta(hours=1)
    anchor_every: timedelta = timedelta(seconds=300)

    @classmethod
    def from_settings(cls, settings: Settings) -> MaintenanceConfig:
        return cls(handoff_every=timedelta(seconds=settings.handoff_expiry_seconds),
                   retention_every=timedelta(hours=settings.retention_interval_hours),
                   anchor_every=timedelta(seconds=settings.anchor_interval_seconds))


@dataclass
class PeriodicTask:
    """``run(now)`` every ``every``; after a failure, again after ``retry`` (default: ``every``).

    ``next_at`` None means due at the first tick.
    """

    name: str
    every: timedelta
    run: Callable[[datetime], object]
    retry: timedelta | None = None
    next_at: datetime | None = None
    failures: int = field(default=0)


class MaintenanceRunner:
    """Runs due tasks one after the other; never lets one task's error stop the loop."""

    def __init__(self, clock: Clock, tasks: list[PeriodicTask]) -> None:
        self.clock = clock
        self.tasks = tasks

    def tick(self) -> dict[str, object]:
        """Run every due task once; returns ``{name: result or exception}`` of those run."""
        ran: dict[str, object] = {}
        for task in self.tasks:
            now = self.clock.now()
            if task.next_at is not None and now < task.next_at:
                continue
            try:
                ran[task.name] = task.run(now)
                task.next_at, task.failures = now + task.every, 0
            except Exception as exc:  # noqa: BLE001 - one task's failure must not stop the rest
                task.failures += 1
                task.next_at = now + (task.retry or task.every)
                log.exception("maintenance.task.failed name=%s failures=%d", task.name,
                              task.failures)
                ran[task.name] = exc
        return ran

    def wait_seconds(self, idle: float) -> float:
        """Seconds until the next task is due, at most ``idle``."""
        now = self.clock.now()
        due = [(t.next_at - now).total_seconds() for t in self.tasks if t.next_at is not None]
        return max(0.0, min([idle, *due]))

    def run(self, stop: threading.Event, idle: float = 5.0) -> None:
        log.info("maintenance.started tasks=%s", ",".join(t.name for t in self.tasks))
        while not stop.is_set():
            self.tick()
            stop.wait(self.wait_seconds(idle))
        log.info("maintenance.stopped")

    def start(self, stop: threading.Event, idle: float = 5.0) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop, idle), name="maintenance",
                                  daemon=True)
        thread.start()
        return thread


class HandoffExpiry:
    """Expire unclaimed handoffs and deliver each patient's notice (a ``PeriodicTask.run``)."""

    def __init__(self, service: HandoffService, router: OutboundRouter, db: Database) -> None:
        self.service = service
        self.router = router
        self.db = db
        self.patients = PatientRepository()

    def __call__(self, now: datetime) -> int:
        notices = self.service.expire_unclaimed()
        for notice in notices:
            self.deliver(notice, now)
        if notices:
            log.info("handoff.expired count=%d", len(notices))
        return len(notices)

    def deliver(self, notice: OutboundMessage, now: datetime) -> None:
        digest = hashlib.sha256(f"{notice.channel}|{notice.external_id}|{now.isoformat()}"
                                .encode()).hexdigest()[:32]
        message = KeyedMessage(channel=notice.channel, external_id=notice.external_id,
                               text=notice.text, kind=notice.kind, language=notice.language,
                               template_data=notice.template_data,
                               idempotency_key=f"handoff-expired:{digest}")
        try:
            self.router.send(message)
            return
        except OutboundError as exc:
            error: OutboundError = exc
        except Exception as exc:  # noqa: BLE001 - a sender bug: it may have sent, never retry
            log.exception("handoff.expiry_notice.crashed channel=%s to=%s", notice.channel,
                          mask_id(notice.external_id))
            error = OutboundError(f"sender crashed: {exc!r}", retryable=False)
        log.warning("handoff.expiry_notice.failed channel=%s to=%s retryable=%s error=%s",
                    notice.channel, mask_id(notice.external_id), error.retryable, error)
        try:
            self._record(message, error, now)
        except Exception:  # noqa: BLE001 - the other notices of this tick must still go out
            log.exception("handoff.expiry_notice.lost channel=%s to=%s text=%r",
                          notice.channel, mask_id(notice.external_id), notice.text)

    def _record(self, message: KeyedMessage, error: OutboundError, now: datetime) -> None:
        """Keep the undelivered notice as a ``notice`` job (retried by the reminder worker)."""
        with self.db.begin() as session:
            patient = self.patients.get(session, message.channel, message.external_id)
            if patient is None:  # cannot happen: the handoff's patient exists
                log.error("handoff.expiry_notice.lost channel=%s to=%s", message.channel,
                          mask_id(message.external_id))
                return
            job = add_job(session, kind="notice", patient_id=patient.id,
                          due_at=now + NOTICE_RETRY_DELAY, key=message.idempotency_key or "",
                          payload={"text": message.text, "kind": message.kind,
                                   "language": message.language})
            if job is None:
                return
            job.last_error = str(error)[:2000]
            if not error.retryable:
                job.status = "failed"


def build_maintenance(db: Database, router: OutboundRouter, clock: Clock,
                      handoff: HandoffService, retention: RetentionService,
                      config: MaintenanceConfig, spool: Spool | None = None,
                      anchors: AnchorLog | None = None,
                      triage: Callable[[], Triage] | None = None) -> MaintenanceRunner:
    """The scheduler worker's tasks: handoff expiry at start and every 30 s, the purge daily
    (also at start, so a worker restarted more often than daily still purges), the
    messages spooled while the database was down, written to it every 30 s, and the
    chains' heads signed into the anchor file at start and every 5 minutes."""

    def purge(now: datetime) -> object:
        return retention.purge(now)

    spooled = [] if spool is None else [PeriodicTask(
        "spool_replay", config.handoff_every, lambda _now: spool.drain(SpoolReplay(db, triage)))]
    return MaintenanceRunner(clock, [*spooled,
        PeriodicTask("handoff_expiry", config.handoff_every, HandoffExpiry(handoff, router, db)),
        PeriodicTask("retention_purge", config.retention_every, purge,
                     retry=config.retention_retry),
        *([] if anchors is None else [
            PeriodicTask("anchor", config.anchor_every, lambda now: anchors.anchor(db, now))]),
    ])
