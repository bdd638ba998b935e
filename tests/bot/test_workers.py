"""``MEDBOT_WORKERS`` / ``medbot run --workers N``: several Rasa workers only on a
Redis lock store and PostgreSQL, through Rasa's own ``SANIC_WORKERS``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import read_endpoint_config

from bot.cli import main
from bot.cli.service import add_service_arguments, settings_from_args
from bot.errors import ConfigError
from bot.service.runtime import check_workers, rasa_server_spec, write_endpoints
from bot.settings import Settings

PG = "postgresql+psycopg2://medbot:s3cret-password@db.internal:5432/medbot"
REDIS = "redis://127.0.0.1:6379/15"


def test_one_worker_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.workers == 1
    check_workers(settings)  # SQLite and no Redis are fine for one worker


@pytest.mark.parametrize("raw, problem", [
    ("0", "MEDBOT_WORKERS must be between 1 and 64, got 0"),
    ("65", "MEDBOT_WORKERS must be between 1 and 64, got 65"),
    ("two", "MEDBOT_WORKERS must be an integer, got 'two'"),
])
def test_a_bad_number_of_workers_is_refused(raw: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"MEDBOT_WORKERS": raw})
    assert str(refused.value) == problem


def test_the_flag_wins_over_the_environment_and_is_checked_alike(monkeypatch) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    monkeypatch.setenv("MEDBOT_WORKERS", "3")
    assert settings_from_args(parser.parse_args([])).workers == 3
    assert settings_from_args(parser.parse_args(["--workers", "2"])).workers == 2
    with pytest.raises(ConfigError, match="MEDBOT_WORKERS must be between 1 and 64"):
        settings_from_args(parser.parse_args(["--workers", "0"]))


@pytest.mark.parametrize("env, named, not_named", [
    ({}, ("MEDBOT_REDIS_URL", "MEDBOT_DATABASE_URL"), ()),
    ({"MEDBOT_REDIS_URL": REDIS}, ("MEDBOT_DATABASE_URL",), ("MEDBOT_REDIS_URL",)),
    ({"MEDBOT_DATABASE_URL": PG}, ("MEDBOT_REDIS_URL",), ("MEDBOT_DATABASE_URL",)),
])
def test_several_workers_need_redis_and_postgresql(env, named, not_named) -> None:
    with pytest.raises(ConfigError) as refused:
        check_workers(Settings.from_env({**env, "MEDBOT_WORKERS": "2"}))
    message = str(refused.value)
    zh, en = message.split("\n\n")
    assert "工作进程" in zh and "Rasa worker processes" in en
    for variable in named:
        assert variable in zh and variable in en
    for variable in not_named:
        assert variable not in message
    assert "--workers 1" in zh and "--workers 1" in en


def test_the_refusal_never_shows_the_database_url() -> None:
    url = "mysql+pymysql://medbot:s3cret-password@db.internal/medbot"
    with pytest.raises(ConfigError) as refused:
        check_workers(Settings.from_env({"MEDBOT_WORKERS": "2", "MEDBOT_DATABASE_URL": url,
                                         "MEDBOT_REDIS_URL": REDIS}))
    assert "s3cret" not in str(refused.value) and "now mysql+pymysql" in str(refused.value)


def test_redis_and_postgresql_allow_several_workers() -> None:
    check_workers(Settings.from_env({"MEDBOT_WORKERS": "4", "MEDBOT_DATABASE_URL": PG,
                                     "MEDBOT_REDIS_URL": REDIS}))


@pytest.mark.parametrize("redis_url, honoured", [(REDIS, 2), (None, 1)])
def test_rasa_honours_sanic_workers_with_our_endpoints(tmp_path: Path, monkeypatch,
                                                       redis_url, honoured) -> None:
    """Rasa's own rule, read from the endpoints file ``medbot run`` writes: the
    workers run only on the Redis lock store (in memory: one, silently)."""
    settings = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path), "MEDBOT_WORKERS": "2",
                                  "MEDBOT_DATABASE_URL": PG, "MEDBOT_REDIS_URL": redis_url or ""})
    lock_store = read_endpoint_config(str(write_endpoints(settings)), "lock_store")
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(lock_store) == honoured


def test_the_rasa_server_sets_sanic_workers_from_the_setting(monkeypatch) -> None:
    from components.rasa_server import use_workers

    monkeypatch.setenv("SANIC_WORKERS", "7")  # a stray variable does not decide
    settings = Settings.from_env({"MEDBOT_WORKERS": "2", "MEDBOT_DATABASE_URL": PG,
                                  "MEDBOT_REDIS_URL": REDIS})
    assert use_workers(settings) == 2 and os.environ["SANIC_WORKERS"] == "2"
    assert use_workers(Settings.from_env({})) == 1 and os.environ["SANIC_WORKERS"] == "1"
    with pytest.raises(ConfigError):
        use_workers(Settings.from_env({"MEDBOT_WORKERS": "2"}))


def test_the_rasa_server_child_gets_the_setting(tmp_path: Path) -> None:
    settings = Settings.from_env({"MEDBOT_WORKERS": "2", "MEDBOT_DATABASE_URL": PG,
                                  "MEDBOT_REDIS_URL": REDIS})
    spec = rasa_server_spec(settings, tmp_path / "model.tar.gz", tmp_path / "endpoints.yml")
    assert spec.env is not None and spec.env["MEDBOT_WORKERS"] == "2"
    assert spec.ready_url is not None and spec.ready_url.endswith("/health")


def test_medbot_run_stops_before_anything_is_set_up(monkeypatch, tmp_path, capsys) -> None:
    for name in ("MEDBOT_REDIS_URL", "MEDBOT_DATABASE_URL", "MEDBOT_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path))
    assert main(["run", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "MEDBOT_REDIS_URL" in err and "请设置" in err and "set MEDBOT_REDIS_URL" in err
    assert not (tmp_path / "medbot.db").exists()
