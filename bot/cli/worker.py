"""``medbot worker scheduler``: the reminder/follow-up scheduler (a child of ``medbot run``).

Senders: the REST outbox is always registered (channel "rest"); other channels
add theirs through ``MEDBOT_OUTBOUND_SENDERS``, a comma-separated list of
``module:factory`` where ``factory(settings, db)`` returns an ``OutboundSender``
(e.g. the WeChat channel's). The worker also serves ``GET /health`` and
``GET /outbox/<sender>?after=<id>`` on ``MEDBOT_WORKER_PORT`` (default: Rasa port + 51,
i.e. 5056).

Next to reminder dispatch, a maintenance thread (``bot.maintenance``) expires
unclaimed handoffs every ``MEDBOT_HANDOFF_EXPIRY_SECONDS`` (30) and runs the
retention purge every ``MEDBOT_RETENTION_INTERVAL_HOURS`` (24) and at start, and signs
the heads of the hash chains into the anchor file every ``MEDBOT_ANCHOR_INTERVAL_SECONDS``
(300) and at start.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading

from bot.errors import ConfigError
from bot.handoff.config import HandoffConfig
from bot.handoff.service import HandoffService
from bot.hospital import HospitalInfo
from bot.maintenance import MaintenanceConfig, build_maintenance
from bot.outbound import OutboundRouter
from bot.reminders.clock import service_clock
from bot.reminders.config import ReminderConfig
from bot.reminders.jobs import ReminderJobs
from bot.reminders.kb import DrugCatalog, FollowupKB
from bot.reminders.outbox import OutboxSender, OutboxServer, fetch_outbox
from bot.reminders.planner import Planner
from bot.reminders.worker import Worker
from bot.store.spool import Spool
from bot.retention import RetentionService
from bot.service.supervisor import ChildSpec
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.db import Database
from bot.training import quiet_env

log = logging.getLogger(__name__)
DEFAULT_PORT = 5056


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run a background worker")
    worker_sub = p.add_subparsers(dest="worker", metavar="NAME")
    worker_sub.required = True
    s = worker_sub.add_parser("scheduler", help="send due reminders and follow-up prompts")
    s.add_argument("--port", type=int, help=f"health/outbox HTTP port (default {DEFAULT_PORT}: "
                                            "MEDBOT_WORKER_PORT or Rasa port + 51; 0 = none)")
    s.add_argument("--batch-size", type=int, default=100)
    s.add_argument("--concurrency", type=int, default=8, help="parallel sends")
    s.add_argument("--worker-id", help="name in claims and logs (default: random)")
    s.set_defaults(func=_scheduler)
    o = worker_sub.add_parser("outbox", help="print proactive messages for a REST sender")
    o.add_argument("sender", help="the REST conversation id (medbot chat --sender)")
    o.add_argument("--after", type=int, default=0, help="last message id already seen")
    o.add_argument("--url", help="scheduler HTTP address (default http://HOST:WORKER_PORT)")
    o.set_defaults(func=_outbox)


def worker_port(settings: Settings) -> int:
    """``MEDBOT_WORKER_PORT``, else the Rasa port + 51 (5005 -> 5056), so that services
    started on other ports (tests, a second instance) do not collide."""
    return settings.worker_port if settings.worker_port is not None else settings.rasa_port + 51


WECHAT_SENDER = "bot.wechat.outbound:outbound_sender"


def build_router(settings: Settings, db: Database, outbox: OutboxSender) -> OutboundRouter:
    router = OutboundRouter({"rest": outbox})
    specs = list(settings.outbound_senders)
    if WECHAT_SENDER not in specs and settings.wechat_configured:
        specs.append(WECHAT_SENDER)  # WeChat is configured: reminders go out over it too
    for spec in specs:
        module, _, factory = spec.partition(":")
        try:
            sender = getattr(importlib.import_module(module), factory)(settings, db)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"MEDBOT_OUTBOUND_SENDERS: cannot load {spec!r}: {exc}") from exc
        router.register(sender)
    return router


def _outbox(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    url = args.url or f"http://{settings.host}:{worker_port(settings)}"
    for message in fetch_outbox(url, args.sender, args.after, token=settings.rest_token):
        print(f"[{message['id']}] ({message['kind']}) {message['text']}")
    return 0


def _scheduler(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    config = ReminderConfig.from_settings(settings)
    db = Database.from_settings(settings)
    clock = service_clock(settings)
    outbox = OutboxSender(db, clock)
    router = build_router(settings, db, outbox)
    kb = FollowupKB.load(settings.knowledge_base_dir)
    drugs = DrugCatalog.load(settings.knowledge_base_dir)
    worker = Worker(db, router, ReminderJobs(config, drugs, kb), clock, config,
                    planner=Planner(config.horizon, kb), worker_id=args.worker_id,
                    batch_size=args.batch_size, send_concurrency=args.concurrency)
    anchors = AnchorLog.from_settings(settings)
    maintenance = build_maintenance(
        db, router, clock, HandoffService(db, HandoffConfig.load(settings.knowledge_base_dir, settings), clock,
                                         hospital=HospitalInfo.load(settings.knowledge_base_dir)),
        RetentionService.from_settings(db, settings, anchors),
        MaintenanceConfig.from_settings(settings), Spool(settings.spool_path), anchors)
    port = args.port if args.port is not None else worker_port(settings)
    server = OutboxServer(outbox, settings.host, port, settings.rest_token) if port else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if server:
        server.start()
    log.info("scheduler.worker.channels %s", ",".join(router.channels()))
    housekeeping = maintenance.start(stop)  # own thread: a long purge never delays reminders
    try:
        worker.run(stop)
    finally:
        stop.set()
        housekeeping.join(timeout=30)
        if server:
            server.stop()
        worker.close()
        db.dispose()
    return 0


def scheduler_worker_spec(settings: Settings) -> ChildSpec:
    """The scheduler as a supervised child of ``medbot run``; ready once /health answers."""
    port = worker_port(settings)
    return ChildSpec(
        name="scheduler",
        argv=[sys.executable, "-m", "bot", "worker", "scheduler", "--port", str(port)],
        ready_url=f"http://{settings.host}:{port}/health",
        env=quiet_env(settings.as_child_env()),
        cwd=settings.project_root,
    )
