"""Migration 0011 creates what the console's models declare, and downgrades (SQLite + PostgreSQL)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store import Base
from bot.store.migrate import alembic_config, current_revision, upgrade

MY_TABLES = {"staff_accounts", "staff_sessions", "console_login_throttle", "audit_events"}


def test_models_match_the_migration(db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata)
                 if any(table in str(d) for table in MY_TABLES)]
    assert diffs == []


def test_downgrade_keeps_accounts_and_sessions_and_upgrades_again(db, world) -> None:
    session = world.services.sessions.create(world.cardio.id)
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0010")
    assert current_revision(db) == "0010"
    assert "console_login_throttle" not in inspect(db.engine).get_table_names()
    assert "auth_version" not in {c["name"] for c in inspect(db.engine).get_columns(
        "staff_sessions")}
    with db.engine.connect() as conn:  # no table rebuild: nothing cascaded away
        assert conn.exec_driver_sql("SELECT count(*) FROM staff_sessions").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM staff_accounts").scalar() == 4
    upgrade(db)
    assert world.services.sessions.lookup(session.token) is not None
