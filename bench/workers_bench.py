"""``medbot run --workers N``: start-up time, memory per worker and REST capacity.

    .venv/bin/python bench/workers_bench.py [--workers 1,2] [--users 20] [--messages 5]
        [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/test]
        [--redis redis://127.0.0.1:6379/15] [--json FILE]

For each N: a fresh PostgreSQL schema and the Redis lock store, then a real
``medbot run --workers N`` on free ports (the model in models/, never trained
here). Measured:

- start-up: from launching ``medbot run`` until it prints "medbot is running"
  (migrations, timetable, action server, first Rasa worker ready, scheduler),
  and until all N workers answered ``GET /health`` (each names its pid);
- memory of every process after the load: RSS, and PSS (``/proc/<pid>/smaps_rollup``:
  pages shared by the forked workers counted once, split between them);
- REST capacity: U users (each a new conversation that first gives consent,
  untimed) send M everyday messages back to back, one new connection per
  request (as a load balancer without keep-alive does); throughput, p50/p99, and
  CPU per turn = CPU seconds of the Rasa workers and the action server / turns;
- database growth per turn: Rasa tracker events and transcript rows per turn sent,
  and how much every table of the schema (indexes included) grew during the
  consent and load turns, divided by those turns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
CONSENT = ["你好", "同意"]
MESSAGES = ["你好", "hello", "你能做什么", "what can you do", "医院在哪里",
            "where is the hospital", "谢谢", "thank you", "再见", "bye"]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss / 1024, pss / 1024


def schema_size(engine, schema: str) -> int:
    """Bytes of every table of ``schema``, indexes and TOAST included."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind = 'r'"), {"s": schema}).scalar_one())


def health_pid(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            return json.loads(resp.read())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def processes(run_pid: int, port: int) -> dict[str, list[int]]:
    """The service's processes by role."""
    roles: dict[str, list[int]] = {"rasa main": [], "rasa worker": [], "action server": [],
                                   "scheduler": []}
    for child in children(run_pid):
        line = cmdline(child)
        if "components.rasa_server" in line:
            forked = children(child)
            if forked:  # several workers: the main process forks them and only waits
                roles["rasa main"].append(child)
                roles["rasa worker"] += forked
            else:  # one worker: the Rasa server process serves itself
                roles["rasa worker"].append(child)
        elif "components.action_server" in line:
            roles["action server"].append(child)
        elif "worker scheduler" in line:
            roles["scheduler"].append(child)
    return roles


async def rest_load(url: str, users: int, messages: int) -> tuple[list[float], int, float]:
    """Latencies (ms), errors and wall time of ``users`` x ``messages`` back to back."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def send(sender: str, text_: str) -> float | None:
            started = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": text_}) as resp:
                body = await resp.json()
                if resp.status != 200 or not body:
                    return None
            return (time.perf_counter() - started) * 1000

        senders = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(users)]
        for sender in senders:  # consent first, untimed
            for text_ in CONSENT:
                await send(sender, text_)

        async def user(i: int) -> None:
            nonlocal errors
            for n in range(messages):
                took = await send(senders[i], MESSAGES[(i + n) % len(MESSAGES)])
                if took is None:
                    errors += 1
                else:
                    latencies.append(took)

        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


@dataclass
class Run:
    """A ``medbot run --workers N`` started by :func:`start_run`."""

    proc: subprocess.Popen
    port: int
    action_port: int
    log_path: Path
    ready_s: float  # until it printed "medbot is running"
    all_serving_s: float  # until every worker answered /health
    pids_seen: int

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def fresh_schema(postgres: str) -> tuple[str, str]:
    """A new schema on ``postgres``: (its name, a database URL whose search path is it)."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres, future=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    sep = "&" if "?" in postgres else "?"
    return schema, f"{postgres}{sep}options=-csearch_path%3D{schema}"


def drop_schema(postgres: str, schema: str) -> None:
    admin = create_engine(postgres, future=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def start_run(workers: int, database_url: str, redis_url: str,
              extra_env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """A real ``medbot run --workers N`` on free ports, sharing ``database_url`` and the
    Redis lock store; returns once every worker answered ``GET /health``."""
    port, action_port = free_port(), free_port()
    work = Path(tempfile.mkdtemp(prefix="medbot-workers-bench-"))
    log_path = work / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    env.update(MEDBOT_DATA_DIR=str(work / "data"), MEDBOT_DATABASE_URL=database_url,
               MEDBOT_REDIS_URL=redis_url, RASA_TELEMETRY_ENABLED="false",
               # free too: the default (Rasa port + 51) may be another instance's port
               MEDBOT_WORKER_PORT=str(free_port()))
    env.update(extra_env or {})
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--workers", str(workers), "--port", str(port),
             "--action-port", str(action_port)], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        ready = None
        seen: set[int] = set()
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"medbot run exited:\n{log_path.read_text()[-3000:]}")
            if ready is None and b"medbot is running" in log_path.read_bytes():
                ready = time.monotonic() - started
            if ready is not None:
                pid = health_pid(port)
                if pid is not None:
                    seen.add(pid)
                if len(seen) >= workers:
                    return Run(proc, port, action_port, log_path, ready,
                               time.monotonic() - started, len(seen))
            else:
                time.sleep(0.25)
        raise RuntimeError(f"not all {workers} workers answered: {seen}")
    except BaseException:
        Run(proc, port, action_port, log_path, 0, 0, 0).stop()
        raise


def measure(workers: int, args: argparse.Namespace) -> dict:
    schema, database_url = fresh_schema(args.postgres)
    admin = create_engine(args.postgres, future=True)
    run = None
    try:
        run = start_run(workers, database_url, args.redis)
        port = run.port
        roles = processes(run.proc.pid, port)
        size_before = schema_size(admin, schema)
        busy = roles["rasa worker"] + roles["action server"]
        cpu_before = sum(cpu_seconds(p) for p in busy)
        latencies, errors, wall = asyncio.run(rest_load(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook", args.users, args.messages))
        cpu = sum(cpu_seconds(p) for p in busy) - cpu_before
        turns = len(latencies)
        memory = {role: [memory_mb(p) for p in pids] for role, pids in roles.items()}
        all_turns = turns + errors + len(CONSENT) * args.users  # consent turns write too
        with admin.connect() as conn:
            conn.execute(text(f'SET search_path TO "{schema}"'))
            events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            messages = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
        growth = schema_size(admin, schema) - size_before
        return {
            "workers": workers,
            "startup_ready_s": round(run.ready_s, 1),
            "startup_all_workers_s": round(run.all_serving_s, 1),
            "rest_rps": round(turns / wall, 2),
            "rest_p50_ms": round(statistics.median(latencies)),
            "rest_p99_ms": round(pct(latencies, 0.99)),
            "errors": errors,
            "turns": turns,
            "cpu_ms_per_turn": round(1000 * cpu / max(turns, 1), 1),
            "memory_mb": {role: [{"rss": round(r), "pss": round(s)} for r, s in values]
                          for role, values in memory.items()},
            "worker_pids_seen": run.pids_seen,
            # growth of the database per patient message (tracker events, transcript)
            "events_per_turn": round(events / all_turns, 1),
            "messages_per_turn": round(messages / all_turns, 1),
            "db_kb_per_turn": round(growth / 1024 / all_turns, 1),
        }
    finally:
        if run is not None:
            run.stop()
        admin.dispose()
        drop_schema(args.postgres, schema)


def row(result: dict) -> str:
    mem = result["memory_mb"]

    def cell(role: str) -> str:
        values = mem.get(role) or []
        if not values:
            return "–"
        return " / ".join(f"{v['rss']} ({v['pss']})" for v in values)

    return (f"| {result['workers']} | {result['startup_ready_s']} s | "
            f"{result['startup_all_workers_s']} s | {cell('rasa worker')} | {cell('rasa main')} | "
            f"{cell('action server')} | {cell('scheduler')} | {result['rest_rps']} msg/s | "
            f"{result['rest_p50_ms']} / {result['rest_p99_ms']} ms | "
            f"{result['cpu_ms_per_turn']} ms | {result['errors']} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get(
        "MEDBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get(
        "MEDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = [measure(int(n), args) for n in args.workers.split(",")]
    print("| workers | start-up: running | start-up: all workers serving | RSS (PSS) per "
          "worker, MB | Rasa main process, MB | action server, MB | scheduler, MB | "
          "REST throughput | p50 / p99 | CPU per turn | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(row(result))
    for result in results:
        print(f"workers={result['workers']}: per turn {result['events_per_turn']} tracker events, "
              f"{result['messages_per_turn']} transcript rows, {result['db_kb_per_turn']} kB "
              "of tables and indexes")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
