"""Migration 0004 creates exactly what the models declare (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import Base

MY_TABLES = {"departments", "doctors", "schedule_sessions", "slots", "appointments",
             "revisit_requests"}


def _table(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if name in MY_TABLES:
            return name
        if isinstance(part, str) and part in MY_TABLES:
            return part
    return None


def test_models_match_the_migration(db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if _table(d) in MY_TABLES]
    assert diffs == []
