"""``medbot run --workers N``: Rasa's own Sanic workers on one port, for real.

Two workers on PostgreSQL and Redis answer REST conversations, both serve
requests (``GET /health`` names the worker's pid), and each holds its own
database connections (none inherited across the fork); without Redis or
PostgreSQL ``medbot run`` refuses with the bilingual message; the default is one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.conftest import (
    RunningService,
    consented_sender,
    post,
    start_service,
    stop_service,
    texts,
)

pytestmark = pytest.mark.integration


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:  # a new connection each time
        assert resp.status == 200
        return json.loads(resp.read())


def health_pids(service: RunningService, want: int, within: float = 300.0) -> set[int]:
    """Worker pids that answered ``/health``, asking until ``want`` were seen.

    Each request opens a new connection, which whichever idle worker accepts first
    takes from the shared listening socket. Requests go in parallel bursts (one
    worker cannot accept them all at once), for as long as ``within`` seconds: on a
    busy machine the second worker may still be loading the model when the first
    answers."""
    from concurrent.futures import ThreadPoolExecutor

    seen: set[int] = set()
    deadline = time.monotonic() + within
    with ThreadPoolExecutor(max_workers=8) as pool:
        while len(seen) < want and time.monotonic() < deadline:
            for answer in pool.map(lambda _: get_json(
                    f"http://127.0.0.1:{service.rasa_port}/health"), range(16)):
                assert answer["status"] == "ok" and answer["database"] == "ok", answer
                seen.add(answer["pid"])
            if len(seen) < want:
                time.sleep(0.5)
    return seen


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def sockets_to(pid: int, port: int) -> set[str]:
    """Inodes of the TCP sockets ``pid`` holds open to ``port`` (e.g. PostgreSQL's)."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[len("socket:["):-1])
    remote = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.read().splitlines()[1:]:
                cols = line.split()
                if int(cols[2].rsplit(":", 1)[1], 16) == port:
                    remote.add(cols[9])
    return held & remote


@pytest.mark.postgres
def test_two_workers_on_postgresql_and_redis_serve_conversations(
        trained_model: Path, tmp_path: Path, postgres_schema_url: str, redis_url: str) -> None:
    from sqlalchemy.engine import make_url

    # two workers load the model at the same time: 2.5-3 min on 2 busy cores (docs/benchmarks.md)
    service = start_service(tmp_path / "data", tmp_path / "run.log", timeout=600,
                            args=("--workers", "2"),
                            extra_env={"MEDBOT_DATABASE_URL": postgres_schema_url,
                                       "MEDBOT_REDIS_URL": redis_url})
    workers: set[int] = set()
    try:
        assert "(2 workers" in (tmp_path / "run.log").read_text()
        for lang, greeting, answer in (("zh", "你好", "您好"), ("en", "hello", "Hello")):
            sender = consented_sender(service, prefix="workers", lang=lang)
            assert answer in texts(post(service.rest_url, sender, greeting))

        workers = health_pids(service, want=2)
        assert len(workers) == 2, f"only {workers} answered"
        server = {parent_of(pid) for pid in workers}
        assert len(server) == 1  # forked by one Rasa server, on one port
        server_pid = server.pop()
        assert "components.rasa_server" in cmdline(server_pid)
        assert f"--port {service.rasa_port}" in cmdline(server_pid)
        assert parent_of(server_pid) == service.process.pid

        # Every worker talks to PostgreSQL over connections of its own: none is
        # shared with the other worker or inherited from the process that forked them.
        pg_port = make_url(postgres_schema_url).port or 5432
        first, second = (sockets_to(pid, pg_port) for pid in sorted(workers))
        assert first and second, "a worker has no database connection"
        assert not first & second
        assert not sockets_to(server_pid, pg_port) & (first | second)
    finally:
        assert stop_service(service) == 0
    for _ in range(40):  # the forked workers go with the service
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.25)
    assert not any(alive(pid) for pid in workers)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("env, missing", [
    ({"MEDBOT_REDIS_URL": "redis://127.0.0.1:6379/15"}, "MEDBOT_DATABASE_URL"),  # SQLite
    ({"MEDBOT_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/test"},
     "MEDBOT_REDIS_URL"),
])
def test_several_workers_without_shared_stores_are_refused(tmp_path: Path, env: dict,
                                                           missing: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--workers", "2", "--port", "1"],
        cwd=PROJECT_ROOT, env={**clean, "MEDBOT_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    zh, en = run.stderr.split("medbot: ", 1)[1].split("\n\n")[:2]
    assert f"请设置 {missing}" in zh or f"请将 {missing}" in zh
    assert missing in en and "Rasa worker processes" in en
    assert not (tmp_path / "data" / "medbot.db").exists()  # stopped before anything was set up


def test_one_worker_by_default_and_every_process_answers_health(
        service: RunningService) -> None:
    pids = {get_json(f"http://127.0.0.1:{service.rasa_port}/health")["pid"] for _ in range(10)}
    assert len(pids) == 1
    rasa_server = pids.pop()  # the Rasa server serves itself: no forked worker
    assert "components.rasa_server" in cmdline(rasa_server)
    assert parent_of(rasa_server) == service.process.pid
    assert "(1 worker," in service.log_path.read_text()
    assert get_json(f"http://127.0.0.1:{service.action_port}/health")["status"] == "ok"
    worker_port = service.rasa_port + 51  # the scheduler worker's (bot.cli.worker)
    assert get_json(f"http://127.0.0.1:{worker_port}/health")["status"] == "ok"
