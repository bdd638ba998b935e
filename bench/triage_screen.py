"""Speed of the red-flag screen (rules + learned understanding layer), issue 14.

Measures, in a fresh process:

* start-up: importing the screen and loading the knowledge base and the model
  (what the first message of a new process pays);
* per-message latency of ``screen()`` (what runs on every inbound message,
  before the bot) over every message of the checkout's triage sets, several
  passes, reporting p50 / p99 / max; best of three runs, with the load average,
  because the machine is shared.

Run: ``.venv/bin/python bench/triage_screen.py`` (builds the model first if missing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_STARTUP = """
import time
t = time.perf_counter()
from bot.triage.red_flags import default_screen
screen = default_screen()
assert screen.model is not None, "no understanding model: run medbot train"
screen.screen("warm up")
print(time.perf_counter() - t)
"""


def _messages() -> list[str]:
    out = []
    for path in sorted((ROOT / "tests" / "data").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if "message" in row:
                    out.append(str(row["message"]))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    from bot.settings import Settings
    from bot.triage.learned import ensure_model

    ensure_model(Settings.from_env().models_dir)
    startups = []
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", _STARTUP], cwd=ROOT, capture_output=True,
                              text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        startups.append(float(proc.stdout.strip().splitlines()[-1]))

    from bot.triage.red_flags import default_screen, screen

    default_screen()
    messages = _messages()
    runs = []
    for _ in range(3):
        timings = []
        for _ in range(3):
            for text in messages:
                started = time.perf_counter()
                screen(text)
                timings.append((time.perf_counter() - started) * 1000)
        runs.append((_percentile(timings, 0.99), _percentile(timings, 0.5), max(timings),
                     len(timings)))
    p99, p50, worst, n = min(runs)
    print(f"messages: {len(messages)} x 3 passes = {n} screens per run, best of 3 runs")
    print(f"start-up (import + KB + model, fresh process): best {min(startups):.2f} s, "
          f"worst {max(startups):.2f} s")
    print(f"per message: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
