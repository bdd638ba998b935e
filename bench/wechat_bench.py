"""WeChat channel vs Rasa's REST channel: throughput and latency on the same model, same run.

    .venv/bin/python bench/wechat_bench.py [--users 20] [--messages 10] [--rounds 2] [--think 0]
                                           [--model models/medbot-....tar.gz] [--json FILE]
                                           [--workers 1,2] [--nginx]

Starts one ``medbot run`` (action server + Rasa server with both channels) on
free ports with throw-away WeChat secrets and the fake WeChat API, then, per
round, lets N simulated users each send M messages one after another to the
REST channel and, as signed and AES-encrypted (safe mode) WeChat pushes, to the
WeChat webhook (REST first in odd rounds, WeChat first in even rounds). Each
user is a new conversation that first gives consent (untimed). ``--think S``
paces each user like a person (mean S seconds before each message); 0 sends
back to back (saturation). Uses the model for the
current training inputs, else the newest in models/ (it never trains unless
``--train``).

Scale-out configurations, measured one after the other in the same run, each on a
fresh PostgreSQL schema (``--postgres``) with the Redis lock store (``--redis``):
``--workers 1,2`` starts one real ``medbot run --workers N`` per value; ``--nginx``
adds two ``medbot run`` instances (one worker each) sharing that database and Redis
behind nginx (``scripts/install_nginx.sh``), round-robin, not sticky. Without these
options the bench runs the embedded set-up in this process, as before. Per
configuration: throughput and p50/p99 per channel, CPU per turn (CPU time of every
process of the service, from /proc, over the turns sent, consent included), errors,
duplicates (answers beyond one per WeChat message; user turns in Rasa's tracker
beyond the messages sent) and the slowest webhook answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workers_bench import (  # noqa: E402
    cpu_seconds, drop_schema, fresh_schema, start_run,
)
from bot.cli.service import prepare, start_supervisor  # noqa: E402
from bot.cli.wechat import dev_environment  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from bot.training import current_model, latest_model  # noqa: E402
from channels.wechat.peer import FakeWeChatAPI, WeChatSimulator  # noqa: E402

CONSENT = ["你好", "同意"]  # first contact: privacy notice, then health-data consent (issue 8)
NGINX = "/usr/sbin/nginx"  # Debian's package, scripts/install_nginx.sh
MESSAGES = ["你好", "hello", "你能做什么", "what can you do", "医院在哪里",
            "where is the hospital", "谢谢", "thank you", "再见", "bye"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def delivered(api: FakeWeChatAPI, openid: str, count: int, timeout: float = 60) -> bool:
    """Wait until ``count`` customer-service messages reached ``openid``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for m in list(api.sent) if m.touser == openid) >= count:
            return True
        await asyncio.sleep(0.02)
    return False


async def run_users(kind: str, users: int, messages: int, rest_url: str,
                    sim: WeChatSimulator, api: FakeWeChatAPI, think: float = 0.0) -> dict:
    """Latency = until the patient has the answer (passive reply or customer-service message)."""
    passive: dict[str, int] = defaultdict(int)
    latencies: list[float] = []
    http_latencies: list[float] = []  # WeChat: until the webhook answered (must be < 5 s)
    sent: dict[str, int] = defaultdict(int)
    errors = 0
    deferred = 0
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=users * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        async def send(sender: str, text: str, n: int) -> tuple[bool, float | None]:
            """Send the user's ``n``-th message (1-based); ok and webhook latency."""
            nonlocal deferred
            sent[sender] += 1
            if kind == "rest":
                async with http.post(rest_url, json={"sender": sender, "message": text}) as resp:
                    return resp.status == 200 and bool(await resp.json()), None
            start = time.perf_counter()
            reply = await sim.send(sim.text(sender, text), session=http)
            http_latency = time.perf_counter() - start
            if reply.status != 200:
                return False, http_latency
            if reply.text is None:  # deferred: wait for the customer-service message
                deferred += 1
                return await delivered(api, sender, n - passive[sender]), http_latency
            passive[sender] += 1
            return True, http_latency

        async def user(i: int) -> None:
            nonlocal errors
            sender = f"bench-{kind}-{uuid.uuid4().hex[:10]}"
            rng = random.Random(i)
            n = 0
            for text in CONSENT:  # a new patient reads the notice and agrees (not timed)
                n += 1
                await send(sender, text, n)
            for j in range(messages):
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
                text = MESSAGES[(i + j) % len(MESSAGES)]
                n += 1
                start = time.perf_counter()
                try:
                    ok, http_latency = await send(sender, text, n)
                    if http_latency is not None:
                        http_latencies.append(http_latency)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - started
    duplicates = 0
    if kind == "wechat":  # a late second answer (passive and pushed, or pushed twice)
        await asyncio.sleep(1)
        pushed = defaultdict(int)
        for m in list(api.sent):
            pushed[m.touser] += 1
        duplicates = sum(max(0, passive[s] + pushed[s] - n) for s, n in sent.items())
    return {"channel": kind, "requests": len(latencies), "errors": errors,
            "duplicates": duplicates, "turns_sent": sum(sent.values()),
            "senders": {f"{kind}:{s}": n for s, n in sent.items()},
            "deferred_to_customer_service": deferred if kind == "wechat" else None,
            "seconds": round(elapsed, 2), "throughput_rps": round(len(latencies) / elapsed, 2),
            "p50_ms": round(pct(latencies, 0.5) * 1000), "p99_ms": round(pct(latencies, 0.99) * 1000),
            "mean_ms": round(statistics.mean(latencies) * 1000),
            **({"http_p50_ms": round(pct(http_latencies, 0.5) * 1000),
                "http_p99_ms": round(pct(http_latencies, 0.99) * 1000),
                "http_max_ms": round(max(http_latencies) * 1000)} if http_latencies else {})}


async def bench(args: argparse.Namespace, rest_url: str, sim: WeChatSimulator,
                api: FakeWeChatAPI, cpu=lambda: 0.0) -> tuple[list[dict], float]:
    """The measured rounds, and the CPU seconds ``cpu()`` counted during them."""
    await run_users("rest", 2, 3, rest_url, sim, api)  # warm-up (model, action server, DB)
    await run_users("wechat", 2, 3, rest_url, sim, api)
    cpu_before = cpu()
    results = []
    for round_no in range(1, args.rounds + 1):
        # alternate which channel goes first, so neither always runs on a warmer server
        for kind in ("rest", "wechat") if round_no % 2 else ("wechat", "rest"):
            result = await run_users(kind, args.users, args.messages, rest_url, sim, api,
                                     args.think)
            result["think_s"] = args.think
            result["round"] = round_no
            results.append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "senders"}), flush=True)
    return results, cpu() - cpu_before


def summarize(results: list[dict]) -> dict:
    by = {k: [r for r in results if r["channel"] == k] for k in ("rest", "wechat")}
    total = {k: sum(r["requests"] for r in v) / sum(r["seconds"] for r in v) for k, v in by.items()}
    return {
        "rest_rps": round(total["rest"], 2), "wechat_rps": round(total["wechat"], 2),
        "wechat_over_rest": round(total["wechat"] / total["rest"], 3),
        "wechat_p50_ms": max(r["p50_ms"] for r in by["wechat"]),
        "wechat_p99_ms": max(r["p99_ms"] for r in by["wechat"]),
        "wechat_http_p99_ms": max(r["http_p99_ms"] for r in by["wechat"]),
        "wechat_http_max_ms": max(r["http_max_ms"] for r in by["wechat"]),
        "rest_p50_ms": max(r["p50_ms"] for r in by["rest"]),
        "rest_p99_ms": max(r["p99_ms"] for r in by["rest"]),
        "errors": sum(r["errors"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
    }


def worker_counts(value: str) -> list[int]:
    """``--workers 1,2``: one configuration per positive count."""
    try:
        counts = [int(part) for part in value.split(",")]
    except ValueError:
        counts = []
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(
            f"--workers 需要逗号分隔的正整数 / needs comma-separated positive numbers, "
            f"e.g. 1,2: {value!r}")
    return counts


def configurations(args: argparse.Namespace) -> list[dict]:
    """The scale-out set-ups asked for, in the order they run; [] for the embedded one."""
    found = [{"workers": n, "instances": 1} for n in args.workers or []]
    if args.nginx:
        found.append({"workers": 1, "instances": 2})
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (forked Rasa workers included), from /proc."""
    below: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    below[int(fh.read().rsplit(")", 1)[1].split()[1])].append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        for child in below.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def service_cpu(roots: list[int], include_roots: bool = True):
    """CPU seconds so far of the service's processes: ``roots`` and all below them."""
    def total() -> float:
        seconds = 0.0
        for root in roots:
            for pid in ([root] if include_roots else []) + descendants(root):
                try:
                    seconds += cpu_seconds(pid)
                except (OSError, IndexError, ValueError):
                    pass  # ended meanwhile
        return seconds
    return total


def start_nginx(root: Path, ports: list[int]) -> tuple[subprocess.Popen, str]:
    """Debian's nginx as this user, on 127.0.0.1 only, round-robin over ``ports``."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
    user = "user root;\n" if os.geteuid() == 0 else ""  # else its workers become "nobody"
    temp = "".join(f"  {name}_temp_path {root / name};\n"
                   for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(f"""{user}worker_processes 1;
daemon off;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
{temp}  access_log off;
  upstream medbot {{
{servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://medbot;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 120s;
    }}
  }}
}}
""", encoding="utf-8")
    if not os.access(NGINX, os.X_OK):
        raise SystemExit(f"{NGINX} 未安装 / not installed: run scripts/install_nginx.sh")
    proc = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"),
                             "-e", str(root / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(root / 'error.log').read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, url
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("nginx did not listen")


def tracker_duplicates(database_url: str, schema: str, results: list[dict]) -> int:
    """User turns in Rasa's tracker beyond the messages each bench sender sent (the
    consent turns are answered by the consent gate before Rasa, so they are not there)."""
    expected: dict[str, int] = defaultdict(int)
    for result in results:
        for sender, n in result["senders"].items():
            expected[sender] += n - len(CONSENT)
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'SET search_path TO "{schema}"'))
            rows = conn.execute(text("SELECT sender_id, count(*) FROM events "
                                     "WHERE type_name = 'user' GROUP BY sender_id")).all()
    finally:
        engine.dispose()
    seen = {sender: count for sender, count in rows if sender in expected}
    if sum(seen.values()) < sum(expected.values()):  # sender ids this check does not know
        raise RuntimeError(f"the tracker holds {sum(seen.values())} of the "
                           f"{sum(expected.values())} user turns expected")
    return sum(max(0, count - expected[sender]) for sender, count in seen.items())


def measure_scaled(config: dict, args: argparse.Namespace) -> tuple[list[dict], dict]:
    """One scale-out configuration: ``instances`` x ``medbot run --workers N`` on a fresh
    schema and the Redis lock store (behind nginx when there are two)."""
    schema, database_url = fresh_schema(args.postgres)
    api = FakeWeChatAPI(app_id=f"wx{uuid.uuid4().hex[:16]}").start()  # its own token key
    env = dev_environment(api.base_url, api.app_id, api.app_secret)
    shared = {**env, "MEDBOT_ANCHOR_KEY": secrets.token_hex(32),
              "MEDBOT_ERASURE_KEY": secrets.token_hex(32)}  # the same on every instance
    runs, nginx = [], None
    try:
        for _ in range(config["instances"]):  # one after the other: the first migrates
            runs.append(start_run(config["workers"], database_url, args.redis, shared))
        base = f"http://127.0.0.1:{runs[0].port}"
        if len(runs) > 1:
            nginx, base = start_nginx(Path(tempfile.mkdtemp(prefix="medbot-bench-nginx-")),
                                      [run.port for run in runs])
        print(f"{config['instances']} x medbot run --workers {config['workers']} at {base}",
              flush=True)
        sim = WeChatSimulator(f"{base}/webhooks/wechat/webhook", env["MEDBOT_WECHAT_TOKEN"],
                              env["MEDBOT_WECHAT_APP_ID"], env["MEDBOT_WECHAT_AES_KEY"],
                              mode="safe", attempt_timeout=30, attempts=1)
        results, cpu = asyncio.run(bench(args, f"{base}/webhooks/rest/webhook", sim, api,
                                         service_cpu([run.proc.pid for run in runs])))
        extra = {"tracker_duplicates": tracker_duplicates(args.postgres, schema, results),
                 "cs_messages_sent": len(api.sent)}
        return results, {**extra, "cpu_s": cpu}
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(20)
        for run in reversed(runs):
            run.stop()
        api.stop()
        drop_schema(args.postgres, schema)
        client = redis.Redis.from_url(args.redis)
        try:
            client.delete(f"medbot:wechat:{api.app_id}")
        finally:
            client.close()


def finish(config: dict, results: list[dict], cpu_s: float, args: argparse.Namespace) -> dict:
    """The summary of one configuration (today's keys, plus workers, instances, CPU)."""
    turns = sum(r["turns_sent"] for r in results)
    for result in results:
        result.pop("senders", None)
    summary = summarize(results)
    summary.update(workers=config["workers"], instances=config["instances"],
                   cpu_ms_per_turn=round(1000 * cpu_s / max(turns, 1), 1), turns=turns,
                   users=args.users, messages=args.messages, rounds=args.rounds)
    return summary


TABLE = ("| set-up | REST msg/s | WeChat msg/s (× REST) | REST p50 / p99 | WeChat p50 / p99 | "
         "CPU per turn | errors | duplicates (answers / tracker) | slowest webhook answer |\n"
         "|---|---|---|---|---|---|---|---|---|")


def table_row(s: dict) -> str:
    setup = (f"{s['instances']} instances × 1 worker behind nginx" if s["instances"] > 1
             else f"{s['workers']} worker{'s' if s['workers'] > 1 else ''}")
    return (f"| {setup} | {s['rest_rps']} | {s['wechat_rps']} ({s['wechat_over_rest']}) | "
            f"{s['rest_p50_ms']} / {s['rest_p99_ms']} ms | "
            f"{s['wechat_p50_ms']} / {s['wechat_p99_ms']} ms | {s['cpu_ms_per_turn']} ms | "
            f"{s['errors']} | {s['duplicates']} / {s.get('tracker_duplicates', '–')} | "
            f"{s['wechat_http_max_ms']} ms |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause (s) before each of a user's messages, as a person "
                             "reading and typing (0: each user sends back to back)")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--train", action="store_true", help="train if no model exists")
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--workers", type=worker_counts,
                        help="comma-separated worker counts: one medbot run --workers N each, "
                             "on PostgreSQL + Redis (e.g. 1,2)")
    parser.add_argument("--nginx", action="store_true",
                        help="also two medbot run instances behind nginx, round-robin")
    parser.add_argument("--postgres", default=os.environ.get(
        "MEDBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get(
        "MEDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args(argv)
    scaled = configurations(args)
    if scaled:
        return main_scaled(scaled, args)

    data_dir = Path(tempfile.mkdtemp(prefix="medbot-wechat-bench-"))
    settings = Settings.from_env({"MEDBOT_DATA_DIR": str(data_dir)}).with_overrides(
        rasa_port=free_port(), action_port=free_port())
    model = args.model or current_model(settings) or (None if args.train else
                                                      latest_model(settings))
    if model is None:
        model = prepare(settings)
    else:
        upgrade(Database.from_settings(settings))
    api = FakeWeChatAPI().start()
    env = dev_environment(api.base_url, api.app_id, api.app_secret)
    os.environ.update(env)
    print(f"model {model.name}; data {data_dir}; {args.users} users x {args.messages} messages "
          f"x {args.rounds} rounds per channel", flush=True)
    supervisor = start_supervisor(settings, model, log_dir=data_dir / "logs", handle_signals=False)
    try:
        base = f"http://{settings.host}:{settings.rasa_port}"
        sim = WeChatSimulator(f"{base}/webhooks/wechat/webhook", env["MEDBOT_WECHAT_TOKEN"],
                              env["MEDBOT_WECHAT_APP_ID"], env["MEDBOT_WECHAT_AES_KEY"],
                              mode="safe", attempt_timeout=30, attempts=1)
        # the service's processes are this process's children (this one only sends)
        results, cpu = asyncio.run(bench(args, f"{base}/webhooks/rest/webhook", sim, api,
                                         service_cpu([os.getpid()], include_roots=False)))
    finally:
        supervisor.stop()
        api.stop()
    summary = finish({"workers": 1, "instances": 1}, results, cpu, args)
    summary.update(model=model.name, cs_messages_sent=len(api.sent))
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return 0


def main_scaled(scaled: list[dict], args: argparse.Namespace) -> int:
    """Every configuration in turn; one summary object per configuration."""
    model = current_model(Settings.from_env({}))
    if model is None and not args.train:  # each medbot run would train its own
        raise SystemExit("models/ 中没有当前训练数据的模型 / no model for the current training "
                         "inputs in models/: run `medbot train` first (or pass --train)")
    print(f"model {model.name if model else '(trained by medbot run)'}; "
          f"{args.users} users x {args.messages} messages x {args.rounds} rounds per channel; "
          f"PostgreSQL {args.postgres}, Redis {args.redis}", flush=True)
    out = []
    for config in scaled:
        results, extra = measure_scaled(config, args)
        summary = finish(config, results, extra.pop("cpu_s"), args)
        summary.update(extra)
        print(json.dumps(summary), flush=True)
        out.append({**summary, "model": model.name if model else None, "runs": results})
    print(TABLE)
    for summary in out:
        print(table_row(summary))
    if args.json:
        args.json.write_text(json.dumps({"configurations": out}, indent=2))
    return 0 if all(s["errors"] == 0 and s["duplicates"] == 0 and
                    s["tracker_duplicates"] == 0 for s in out) else 1


if __name__ == "__main__":
    sys.exit(main())
