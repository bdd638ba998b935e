"""Build the console's services from ``Settings`` (``bot.app`` builds them once, when
the console is mounted)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import SystemClock
from bot.console.accounts import StaffService
from bot.console.audit import AuditLog
from bot.console.cases import CaseService
from bot.console.sessions import SessionService
from bot.console.throttle import build_throttle
from bot.console.worklists import WorklistService
from bot.handoff.factory import handoff_service
from bot.handoff.service import HandoffService
from bot.kb.drugs import load_drugs
from bot.outbound import OutboundRouter, build_router
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


def build_console(settings: Settings, db: Database, *,
                  router: OutboundRouter | None = None,
                  handoffs: HandoffService | None = None) -> ConsoleServices:
    """Services on ``db``; doctor replies go out through the same senders as the
    scheduler's (REST outbox, WeChat when configured: ``router``, the process's own
    in ``bot.app``). The login throttle is shared through Redis when
    ``MEDBOT_REDIS_URL`` is set, else the database."""
    kb = settings.knowledge_base_dir
    clock = SystemClock()
    audit = AuditLog(db, clock)
    return ConsoleServices(
        db=db,
        staff=StaffService(db, clock, kb_dir=kb,
                           throttle=build_throttle(db, clock, settings.redis_url)),
        sessions=SessionService(db, clock),
        audit=audit,
        cases=CaseService(db, handoffs or handoff_service(db, settings), audit),
        worklists=WorklistService(db, audit, load_conditions(kb), load_drugs(kb)),
        router=router or build_router(settings, db, OutboxSender(db, clock)),
        timezone=settings.timezone,
    )
