"""Migration 0005 creates exactly what the models declare, and downgrades (SQLite + PostgreSQL)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store import Base
from bot.store.migrate import alembic_config, current_revision, upgrade

MY_TABLES = {"scheduled_jobs", "medication_reminders", "doses", "care_team_flags",
             "followup_enrolments", "readings", "outbox_messages"}


def test_models_match_the_migration(db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata)
                 if any(table in str(d) for table in MY_TABLES)]
    assert diffs == []


def test_downgrade_and_upgrade_again(db) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")
    assert not MY_TABLES & set(inspect(db.engine).get_table_names())
    assert current_revision(db) == "0004"
    upgrade(db)
    assert MY_TABLES <= set(inspect(db.engine).get_table_names())
