"""NLU parse latency on one CPU core: model load time, p50 / p99 over N messages.

    .venv/bin/python bench/nlu_latency.py [--model models/nlu-eval-....tar.gz] [-n 1000]

The process is pinned to one core and TensorFlow to one thread before Rasa is
imported. Messages cycle through the held-out set (zh, en and code-mixed), so
the numbers include the tokenizer, featurizers, DIET, synonym mapping and the
fallback classifier, i.e. everything ``Agent.parse_message`` does. The first
10 parses are warm-up and not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "nlu_data" / "tests" / "nlu_heldout.yml"


def _pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    os.environ["TF_INTRA_OP_PARALLELISM_THREADS"] = "1"
    os.environ["TF_INTER_OP_PARALLELISM_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return core


def _latest_eval_model() -> Path:
    models = sorted((ROOT / "models").glob("nlu-eval-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no models/nlu-eval-*.tar.gz: run `medbot eval nlu` first or pass --model")
    return models[-1]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


async def _bench(model: Path, n: int) -> dict[str, float | int | str]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot.nlp.nludata import read_nlu

    configure_structlog(logging.WARNING)
    texts = [e.text for e in read_nlu([HELDOUT])]
    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - started
    for text in texts[:10]:
        await agent.parse_message(text)
    latencies = []
    for i in range(n):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        await agent.parse_message(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "model": model.name,
        "messages": n,
        "load_seconds": round(load_seconds, 2),
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p99_ms": round(_percentile(latencies, 99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "max_ms": round(max(latencies), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model archive (default: newest nlu-eval model)")
    parser.add_argument("-n", type=int, default=1000, help="messages to parse")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    core = _pin_to_one_core()
    result = asyncio.run(_bench(args.model or _latest_eval_model(), args.n))
    result["core"] = core
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
