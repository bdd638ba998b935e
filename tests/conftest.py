"""Shared fixtures: databases (SQLite and PostgreSQL), Redis and settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from bot.app import App
from bot.settings import Settings
from bot.store.db import Database
from bot.store.migrate import upgrade

POSTGRES_URL = os.environ.get("MEDBOT_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("MEDBOT_TEST_REDIS_URL", "")


def _postgres_available(url: str) -> str | None:
    """None when reachable, else the reason."""
    if not url:
        return "MEDBOT_TEST_POSTGRES_URL is not set"
    try:
        engine = create_engine(url, future=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at {url} is not reachable: {exc}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; in CI an unreachable server fails instead of skipping."""
    reason = _postgres_available(POSTGRES_URL)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, future=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL (``scripts/test.sh`` sets it); skipped only when it is unset.

    A URL that is set but unreachable fails the test: the Redis code is then untested.
    """
    if not REDIS_URL:
        pytest.skip("MEDBOT_TEST_REDIS_URL is not set")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"medbot-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'medbot.db').as_posix()}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database (SQLite and PostgreSQL)."""
    database = Database(db_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "data")})


class PrivatePostgres:
    """A PostgreSQL server of one test's own (Debian's binaries), so the test can stop it.

    ``initdb`` refuses to run as root: the cluster belongs to the ``postgres`` user.
    """

    def __init__(self, bindir: Path, datadir: Path, port: int) -> None:
        self.bindir, self.datadir, self.port = bindir, datadir, port
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        import subprocess

        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self._pg_ctl("-o", f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1",
                     "-l", str(self.datadir / "server.log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    import glob
    import shutil
    import socket
    import subprocess
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (initdb) are missing")
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    bindir = Path(found[-1]).parent
    datadir = Path(tempfile.mkdtemp(prefix="medbot-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    init = [str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
            "--no-sync"]
    if os.geteuid() == 0:
        init = ["runuser", "-u", "postgres", "--", *init]
    subprocess.run(init, check=True, capture_output=True, timeout=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = PrivatePostgres(bindir, datadir, port)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def process_app() -> Iterator[App]:
    """The process's app, as the servers' entry points install it (``bot.app``), for
    actions and channels a test builds without their services; built lazily from the
    environment, so nothing opens unless such a test uses it."""
    from bot import app as composition

    medbot = composition.install(App.from_settings(Settings.from_env()))
    yield medbot
    composition.uninstall()
    medbot.dispose()


@pytest.fixture(scope="session", autouse=True)
def understanding_model() -> Path:
    """The triage understanding layer, built once for the checkout (as ``medbot
    train`` does) so that the screen and the pipeline load it like production."""
    from bot.triage import learned, pipeline, red_flags

    path = learned.ensure_model(Settings.from_env().models_dir)
    for cached in (learned.default_model, red_flags.default_screen, pipeline.default_triage):
        cached.cache_clear()
    return path


# -- a trained model and running services, once per session for every directory ------------
# Defined here, not imported into test modules: an imported fixture is registered anew for
# each module that imports it, so a "session" service imported into two modules started
# twice (about a minute each).

@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The Rasa model, trained once (skipped when models/ already has this fingerprint)."""
    from tests.integration.conftest import train_once

    return train_once()


@pytest.fixture(scope="session")
def service(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """``medbot run`` as a hospital starts it (REST only), at ``MEDBOT_TEST_CLOCK`` if set."""
    from tests.integration.conftest import clock_from_env, start_service, stop_service

    base = tmp_path_factory.mktemp("service")
    running = start_service(base / "data", base / "medbot-run.log", clock_at=clock_from_env())
    yield running
    stop_service(running)


@pytest.fixture(scope="session")
def wechat_medbot(trained_model: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[object, object, dict[str, str]]]:
    """``medbot run`` with WeChat secrets pointing at a fake WeChat API (the WeChat channel
    tests and the console acceptance test share it; each patient has an openid of its own)."""
    from bot.cli.wechat import dev_environment
    from channels.wechat.testing import FakeWeChatAPI
    from tests.integration.conftest import start_service, stop_service

    api = FakeWeChatAPI().start()
    env = dev_environment(api.base_url, api.app_id, api.app_secret)
    env["MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES"] = "30"
    base = tmp_path_factory.mktemp("wechat-service")
    running = start_service(base / "data", base / "medbot-run.log", extra_env=env)
    yield running, api, env
    stop_service(running)
    api.stop()
