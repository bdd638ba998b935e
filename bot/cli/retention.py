"""``medbot retention purge [--dry-run]``: delete what is past the retention period now.

The scheduler worker also runs the purge daily; this command is for operators
(see how much would go with ``--dry-run``, or purge right after changing
``MEDBOT_RETENTION_DAYS``).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from bot.cli import command_app
from bot.retention import RetentionConfig, RetentionReport, RetentionService
from bot.store.anchors import AnchorLog
from bot.store.keys import load_key


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="data retention (default 3 years)")
    r_sub = p.add_subparsers(dest="retention_command", metavar="ACTION")
    r_sub.required = True
    purge = r_sub.add_parser("purge", help="delete records older than MEDBOT_RETENTION_DAYS")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    purge.set_defaults(func=_purge)


def _purge(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings = app.settings
    config = RetentionConfig.from_settings(settings)  # refuses < 3 years before touching data
    db = app.db
    try:
        service = RetentionService(db, config, load_key("erasure", settings.keys_dir, settings.erasure_key),
                                   AnchorLog.from_settings(settings))  # signs checkpoints
        report = service.purge(datetime.now(timezone.utc), args.dry_run)
    finally:
        db.dispose()
    print(format_report(report, config.days))
    return 0


def format_report(report: RetentionReport, days: int) -> str:
    verb = "would delete" if report.dry_run else "deleted"
    lines = [f"retention purge{' (dry run)' if report.dry_run else ''}: {days} days, "
             f"cutoff {report.cutoff.isoformat(timespec='seconds')}"]
    lines += [f"  {name:<22} {verb} {count}" for name, count in sorted(report.counts.items())]
    lines.append(f"  conversations with a purged prefix: {report.conversations}; "
                 f"locked patients erased: {report.erased_patients}")
    if report.broken:
        lines.append(f"  NOT purged, broken hash chain (run medbot transcript verify): "
                     f"{len(report.broken)} conversation(s)")
    if not report.counts:
        lines.append("  nothing to purge")
    return "\n".join(lines)
