"""The Rasa server's model load without a training step (``components.rasa_server.
install_fast_load``) gives the same model as Rasa's own load: every weight of DIET and
TED, their prepared label embeddings, and the parse of real messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

_COMPARE = r'''
import asyncio, json, sys, time
import numpy as np
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

MESSAGES = ["你好", "我想挂明天上午心内科的号", "remind me to take metformin 500mg twice a day",
            "胸口压着疼还一直出汗", "my son has had a fever since yesterday", "取消预约",
            "算了", "no thanks", "88", "我爸 stomach 不舒服", "what are your opening hours", "同意"]

def state(agent):
    models = {}
    for name, node in agent.processor.graph_runner._instantiated_nodes.items():
        model = getattr(node._component, "model", None)
        if isinstance(model, RasaModel):
            weights = {v.name: v.numpy() for v in model.weights}
            labels = getattr(model, "all_labels_embed", None)
            models[name] = (weights, None if labels is None else np.asarray(labels))
    return models

async def parse(agent):
    out = []
    for text in MESSAGES:
        r = await agent.parse_message(text)
        out.append([r["intent"]["name"], [(i["name"], i["confidence"]) for i in r["intent_ranking"]],
                    [(e["entity"], e["value"]) for e in r.get("entities", [])]])
    return out

def load(path):
    start = time.monotonic()
    agent = Agent.load(path)
    return agent, time.monotonic() - start

import components  # noqa: F401 - medbot's graph components
from components.rasa_server import install_fast_load
path = sys.argv[1]
stock, stock_s = load(path)
stock_state, stock_parse = state(stock), asyncio.run(parse(stock))
install_fast_load()
fast, fast_s = load(path)
fast_state, fast_parse = state(fast), asyncio.run(parse(fast))
problems, counts = [], {}
if set(stock_state) != set(fast_state) or not stock_state:
    problems.append(f"models {sorted(stock_state)} != {sorted(fast_state)}")
for name, (weights, labels) in stock_state.items():
    other, other_labels = fast_state.get(name, ({}, None))
    for var, value in weights.items():
        if var in other and not np.array_equal(value, other[var]):
            problems.append(f"{name}: {var} differs")
    if labels is not None and (other_labels is None or not np.allclose(labels, other_labels, atol=1e-6)):
        problems.append(f"{name}: label embeddings differ")
    # the fast load creates what prediction uses, all of it loaded: no weight of its own
    if not other or set(other) - set(weights):
        problems.append(f"{name}: weights not in Rasa's load {sorted(set(other) - set(weights))}")
    counts[name] = [len(weights), len(other)]
for a, b in zip(stock_parse, fast_parse):
    if a[0] != b[0] or a[2] != b[2] or any(abs(x[1] - y[1]) > 1e-6 for x, y in zip(a[1], b[1])):
        problems.append(f"parse differs: {a} / {b}")
print(json.dumps({"problems": problems, "models": sorted(stock_state), "weights": counts,
                  "stock_seconds": stock_s, "fast_seconds": fast_s}))
'''


def test_fast_load_gives_rasas_model(trained_model: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _COMPARE, str(trained_model)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["models"]) >= 2, result  # DIET and TED
    assert not result["problems"], result
