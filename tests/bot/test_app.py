"""The composition root: parts built once, on first use; the process's app or a clear error."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from bot import app as composition
from bot.app import App, current_app
from bot.errors import ConfigError
from bot.clock import FakeClock
from bot.settings import Settings
from bot.store.db import Database


def test_parts_are_built_on_first_use_and_shared(tmp_path) -> None:
    app = App.from_settings(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)}))
    assert "db" not in vars(app)  # nothing opened until asked
    assert app.reminders.db is app.db is app.handoffs.db is app.bookings.db
    assert app.offers.handoffs is app.handoffs and app.gate.handoffs is app.handoffs
    assert app.confirmations is app.confirmations
    assert app.db.url == f"sqlite:///{(tmp_path / 'medbot.db').as_posix()}"
    app.dispose()


def test_two_threads_get_the_same_part(tmp_path) -> None:
    app = App.from_settings(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)}))
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(app.db)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(db) for db in seen}) == 1
    app.dispose()


def test_a_test_gives_its_own_database_and_clock(sqlite_db: Database) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    app = App(Settings.from_env({}), db=sqlite_db, clock=clock)
    assert app.db is sqlite_db and app.reminders.clock is clock
    app.dispose()  # not its database: left open for the fixture
    with sqlite_db.read() as session:
        assert session is not None


def test_without_an_installed_app_the_error_names_the_entry_points() -> None:
    previous = composition._current
    composition.uninstall()
    try:
        with pytest.raises(ConfigError, match="components.action_server"):
            current_app()
    finally:
        if previous is not None:
            composition.install(previous)
