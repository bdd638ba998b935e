"""``medbot run``: migrations, model, action server, Rasa server, workers."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.app import App
from bot.appointments.loader import load_schedule
from bot.cli.worker import scheduler_worker_spec
from bot.service.exposure import check_exposure
from bot.service.runtime import (action_server_spec, check_workers, rasa_server_spec,
                                 write_endpoints)
from bot.service.supervisor import ChildSpec, Supervisor
from bot.settings import Settings, default_database_url
from bot.store.migrate import upgrade
from bot.training import train
from bot.triage.learned import ensure_model

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the Rasa server, the action server and the workers")
    add_service_arguments(p)
    p.set_defaults(func=_run)


def add_service_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, help="Rasa server port (default 5005, MEDBOT_PORT)")
    p.add_argument("--action-port", type=int,
                   help="action server port (default 5055, MEDBOT_ACTION_PORT)")
    p.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    p.add_argument("--workers", type=int,
                   help="Rasa server worker processes on the one port (default 1, "
                        "MEDBOT_WORKERS); above 1 needs MEDBOT_REDIS_URL and a PostgreSQL "
                        "MEDBOT_DATABASE_URL")


def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    changes: dict = {}
    if getattr(args, "port", None):
        changes["rasa_port"] = args.port
    if getattr(args, "action_port", None):
        changes["action_port"] = args.action_port
    if getattr(args, "workers", None) is not None:
        changes["workers"] = args.workers  # checked by Settings like MEDBOT_WORKERS
    if getattr(args, "data_dir", None):
        data_dir = args.data_dir.resolve()
        changes["data_dir"] = data_dir
        # the default database follows the data dir; a chosen MEDBOT_DATABASE_URL stays
        if settings.database_url == default_database_url(settings.data_dir):
            changes["database_url"] = default_database_url(data_dir)
    return settings.with_overrides(**changes) if changes else settings


def prepare(settings: Settings) -> Path:
    """Everything before the servers start: data dir, migrations, hospital data, model.

    Raises:
        ConfigError: a server would listen beyond loopback without authentication,
            or several workers would not share a lock store and a database.
    """
    check_exposure(settings)
    check_workers(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = App.from_settings(settings)  # the supervisor's own, closed before the children start
    try:
        upgrade(app.db, reseal_broken=app.settings.migration_reseal_broken)
        # The hospital timetable (idempotent upsert): doctors, sessions, fees.
        report = load_schedule(app.db, app.schedule, app.clock.now())
        log.info("kb.load %s", report.summary())
    finally:
        app.dispose()
    ensure_model(settings.models_dir, settings.project_root)  # the learned red-flag layer
    return train(settings).model_path


def service_children(settings: Settings, model: Path, log_dir: Path | None = None
                     ) -> list[ChildSpec]:
    """Every process of the service, in start order.

    Args:
        log_dir: send each child's output to ``<log_dir>/<name>.log`` instead of
            the terminal (``medbot chat`` keeps the terminal for the chat).
    """
    children = [
        action_server_spec(settings),
        rasa_server_spec(settings, model, write_endpoints(settings)),
        scheduler_worker_spec(settings),  # reminders and follow-up prompts
    ]
    if log_dir is not None:
        for child in children:
            child.log_file = log_dir / f"{child.name}.log"
    return children


def start_supervisor(settings: Settings, model: Path, *, log_dir: Path | None = None,
                     handle_signals: bool = True) -> Supervisor:
    """Start all children; on any failure stop the ones already started."""
    supervisor = Supervisor(service_children(settings, model, log_dir))
    if handle_signals:
        supervisor.install_signal_handlers()
    try:
        supervisor.start()
    except BaseException:
        supervisor.stop()
        raise
    return supervisor


def start_in_background(settings: Settings) -> Supervisor:
    """Prepare and start the service for an interactive tool (``medbot chat``,
    ``medbot wechat-sim``): child logs go to ``<data dir>/logs`` so the terminal
    stays free, and Ctrl-C is left to the tool (it stops the supervisor)."""
    print("starting medbot (first start trains the model; this can take minutes)...",
          file=sys.stderr, flush=True)
    model = prepare(settings)
    return start_supervisor(settings, model, log_dir=settings.data_dir / "logs",
                            handle_signals=False)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    model = prepare(settings)
    supervisor = start_supervisor(settings, model)
    base = f"http://{settings.host}:{settings.rasa_port}"
    print(f"medbot is running (model {model.name})", flush=True)
    print(f"  Rasa server:   {base} ({settings.workers} worker"
          f"{'s' if settings.workers > 1 else ''}, {base}/health)", flush=True)
    print(f"  REST channel:  {base}/webhooks/rest/webhook", flush=True)
    print(f"  action server: http://{settings.action_host}:{settings.action_port}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        code = supervisor.wait()
    finally:
        supervisor.stop()
        print("medbot stopped.", flush=True)
    return code
