"""Apply Alembic migrations programmatically (``medbot db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from bot.store.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head", reseal_broken: bool = False) -> str | None:
    """Upgrade the database to ``revision``; returns the resulting revision.

    ``reseal_broken`` (``MEDBOT_MIGRATION_RESEAL_BROKEN``) lets migration 0009 reseal
    transcript chains that are already broken instead of stopping.
    """
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["reseal_broken"] = reseal_broken
        command.upgrade(cfg, revision)
    return current_revision(db)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return row[0] if row else None
