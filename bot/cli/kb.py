"""``medbot kb load``: upsert the hospital timetable (doctors, sessions, fees) into the database.

A real hospital puts its own ``hospital_schedule.yml`` and ``departments.yml``
in a directory and runs ``medbot kb load --dir DIR``; running it again is safe.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import command_app
from bot.appointments.loader import load_schedule
from bot.appointments.schedule import HospitalSchedule
from bot.store.migrate import upgrade


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="hospital knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION")
    kb_sub.required = True
    load = kb_sub.add_parser("load", help="load doctors, schedules and fees into the database")
    load.add_argument("--dir", type=Path, help="knowledge-base directory (default: the project's)")
    load.add_argument("--no-migrate", action="store_true",
                      help="do not apply database migrations first")
    load.set_defaults(func=_load)


def _load(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings = app.settings
    schedule = HospitalSchedule.load(args.dir or settings.knowledge_base_dir)
    db = app.db
    try:
        if not args.no_migrate:
            upgrade(db, reseal_broken=app.settings.migration_reseal_broken)
        report = load_schedule(db, schedule, app.clock.now())
    finally:
        db.dispose()
    print(f"hospital_schedule {schedule.version}: {report.summary()}")
    return 0
