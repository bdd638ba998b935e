"""Build the console's services from ``Settings`` (when the console is mounted)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.cli.worker import build_router
from bot.clock import SystemClock
from bot.console.accounts import StaffService
from bot.console.audit import AuditLog
from bot.console.cases import CaseService
from bot.console.sessions import SessionService
from bot.console.throttle import build_throttle
from bot.console.worklists import WorklistService
from bot.handoff.factory import handoff_service
from bot.kb.drugs import load_drugs
from bot.outbound import OutboundRouter
from bot.reminders.outbox import OutboxSender
from bot.revisits.catalog import load_conditions
from bot.settings import Settings
from bot.store.db import Database


@dataclass(frozen=True)
class ConsoleServices:
    """Everything the console's web layer calls; tests build one by hand."""

    db: Database
    staff: StaffService
    sessions: SessionService
    audit: AuditLog
    cases: CaseService
    worklists: WorklistService
    router: OutboundRouter
    timezone: str = "Asia/Shanghai"


def build_console(settings: Settings, db: Database | None = None) -> ConsoleServices:
    """Services on the settings' database; doctor replies go out through the same
    senders as the scheduler's (REST outbox, WeChat when configured). The login
    throttle is shared through Redis when ``MEDBOT_REDIS_URL`` is set, else the database."""
    db = db or Database.from_settings(settings)
    kb = settings.knowledge_base_dir
    clock = SystemClock()
    audit = AuditLog(db, clock)
    return ConsoleServices(
        db=db,
        staff=StaffService(db, clock, kb_dir=kb,
                           throttle=build_throttle(db, clock, settings.redis_url)),
        sessions=SessionService(db, clock),
        audit=audit,
        cases=CaseService(db, handoff_service(db, settings), audit),
        worklists=WorklistService(db, audit, load_conditions(kb), load_drugs(kb)),
        router=build_router(settings, db, OutboxSender(db, clock)),
        timezone=settings.timezone,
    )
