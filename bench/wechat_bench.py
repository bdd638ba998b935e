"""WeChat channel vs Rasa's REST channel: throughput and latency on the same model, same run.

    .venv/bin/python bench/wechat_bench.py [--users 20] [--messages 10] [--rounds 2] [--think 0]
                                           [--model models/medbot-....tar.gz] [--json FILE]

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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.service import prepare, start_supervisor  # noqa: E402
from bot.cli.wechat import dev_environment  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.training import current_model, latest_model  # noqa: E402
from channels.wechat.peer import FakeWeChatAPI, WeChatSimulator  # noqa: E402

CONSENT = ["你好", "同意"]  # first contact: privacy notice, then health-data consent (issue 8)
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
    errors = 0
    deferred = 0
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=users * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        async def send(sender: str, text: str, n: int) -> tuple[bool, float | None]:
            """Send the user's ``n``-th message (1-based); ok and webhook latency."""
            nonlocal deferred
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
    return {"channel": kind, "requests": len(latencies), "errors": errors,
            "deferred_to_customer_service": deferred if kind == "wechat" else None,
            "seconds": round(elapsed, 2), "throughput_rps": round(len(latencies) / elapsed, 2),
            "p50_ms": round(pct(latencies, 0.5) * 1000), "p99_ms": round(pct(latencies, 0.99) * 1000),
            "mean_ms": round(statistics.mean(latencies) * 1000),
            **({"http_p50_ms": round(pct(http_latencies, 0.5) * 1000),
                "http_p99_ms": round(pct(http_latencies, 0.99) * 1000),
                "http_max_ms": round(max(http_latencies) * 1000)} if http_latencies else {})}


async def bench(args: argparse.Namespace, rest_url: str, sim: WeChatSimulator,
                api: FakeWeChatAPI) -> list[dict]:
    await run_users("rest", 2, 3, rest_url, sim, api)  # warm-up (model, action server, DB)
    await run_users("wechat", 2, 3, rest_url, sim, api)
    results = []
    for round_no in range(1, args.rounds + 1):
        # alternate which channel goes first, so neither always runs on a warmer server
        for kind in ("rest", "wechat") if round_no % 2 else ("wechat", "rest"):
            result = await run_users(kind, args.users, args.messages, rest_url, sim, api,
                                     args.think)
            result["think_s"] = args.think
            result["round"] = round_no
            results.append(result)
            print(json.dumps(result), flush=True)
    return results


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
    }


def main() -> int:
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
    args = parser.parse_args()

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
        results = asyncio.run(bench(args, f"{base}/webhooks/rest/webhook", sim, api))
    finally:
        supervisor.stop()
        api.stop()
    summary = summarize(results)
    summary.update(model=model.name, users=args.users, messages=args.messages,
                   rounds=args.rounds, cs_messages_sent=len(api.sent))
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
