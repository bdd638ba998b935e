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
import logging
import signal
import sys
import threading

from bot.cli import command_app
from bot.errors import ConfigError
from bot.maintenance import MaintenanceConfig, build_maintenance
from bot.reminders.jobs import ReminderJobs
from bot.reminders.outbox import OutboxServer, fetch_outbox
from bot.reminders.worker import Worker
from bot.store.spool import Spool
from bot.retention import RetentionService
from bot.service.supervisor import ChildSpec
from bot.settings import Settings
from bot.store.anchors import AnchorLog
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


def _outbox(args: argparse.Namespace) -> int:
    settings = command_app(args).settings
    url = args.url or f"http://{settings.host}:{worker_port(settings)}"
    for message in fetch_outbox(url, args.sender, args.after, token=settings.rest_token):
        print(f"[{message['id']}] ({message['kind']}) {message['text']}")
    return 0


def _scheduler(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings, db, clock, config = app.settings, app.db, app.clock, app.reminder_config
    outbox, router = app.outbox, app.router
    jobs = ReminderJobs(config, app.drugs, app.followup_kb,
                        cancel_cutoff_hours=app.schedule.cancel_cutoff_hours)
    worker = Worker(db, router, jobs, clock, config,
                    planner=app.planner, worker_id=args.worker_id,
                    batch_size=args.batch_size, send_concurrency=args.concurrency)
    anchors = AnchorLog.from_settings(settings)
    maintenance = build_maintenance(
        db, router, clock, app.handoffs,
        RetentionService.from_settings(db, settings, anchors),
        MaintenanceConfig.from_settings(settings), Spool(settings.spool_path), anchors,
        triage=lambda: app.triage)
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
