"""``medbot db upgrade``: apply the Alembic migrations."""

from __future__ import annotations

import argparse

from bot.cli import command_app
from bot.store.migrate import upgrade


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    up = db_sub.add_parser("upgrade", help="apply Alembic migrations (to head)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings = app.settings
    db = app.db
    try:
        revision = upgrade(db, args.revision, settings.migration_reseal_broken)
    finally:
        db.dispose()
    print(f"database at revision {revision} ({_masked(settings.database_url)})")
    return 0


def _masked(url: str) -> str:
    """Hide a password in a database URL for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
