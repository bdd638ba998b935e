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


def test_triage_and_screen_come_from_the_apps_own_settings(tmp_path, understanding_model) -> None:
    """The app loads the understanding model from *its* models dir: one without a model
    gives rules only, the checkout's gives the learned layer; the screen, the gate's
    health detector and the re-visit screen are the pipeline's."""
    from bot.triage import learned

    rules_only = App.from_settings(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path),
                                                      "MEDBOT_MODELS_DIR": str(tmp_path)}))
    assert rules_only.triage.screen.model is None
    assert rules_only.screen is rules_only.triage.screen
    assert rules_only.screen_text("他突然说不出话，一边脸歪了").category == "stroke_fast"
    assert rules_only.screen_text("我想问问停车") is None

    learned.default_model.cache_clear()
    models = understanding_model.parent
    with_model = App.from_settings(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "b"),
                                                      "MEDBOT_MODELS_DIR": str(models)}))
    assert with_model.triage.screen.model is not None
    assert with_model.screen is with_model.triage.screen
    assert with_model.gate.mentions_health("最近老是胸口闷")
    assert not with_model.gate.mentions_health("停车怎么收费")
    # nothing above touched the library default (a second copy of the model)
    assert learned.default_model.cache_info().currsize == 0
    for app in (rules_only, with_model):
        app.dispose()


def test_a_screen_that_cannot_load_lets_the_message_through(tmp_path, caplog) -> None:
    """A broken knowledge base: the screen function logs and answers no hit (the
    conversation goes on) instead of raising into the channel."""
    (tmp_path / "knowledge_base").mkdir()  # empty: no triage knowledge to load
    settings = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)})
    app = App.from_settings(settings.with_overrides(project_root=tmp_path))
    assert app.screen_text("胸口剧痛，喘不上气") is None
    assert "screen" in caplog.text
    app.dispose()
