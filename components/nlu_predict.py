"""Parse the held-out messages with a trained model; write predictions as JSON.

Run as a child process by ``medbot eval nlu`` (``bot`` never imports rasa)::

    python -m components.nlu_predict --model models/nlu-eval.tar.gz \
        --data nlu_data/tests/nlu_heldout.yml --out reports/nlu/predictions.json

The output holds, per message, the gold intent/entities (entity values
resolved to knowledge-base ids) and the model's intent, confidence and
entities after synonym mapping; plus the model load time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from bot.kb.lexicon import build_lexicon
from bot.nlp.nludata import Example, read_nlu


def _gold_entities(example: Example, resolve: Any) -> list[dict[str, Any]]:
    return [
        {"entity": e.entity, "start": e.start, "end": e.end,
         "value": e.value or resolve(e.entity, e.text) or e.text}
        for e in example.entities
    ]


def _pred_entities(result: dict[str, Any], resolve: Any) -> list[dict[str, Any]]:
    entities = []
    for e in result.get("entities") or []:
        value = str(e.get("value", ""))
        entities.append({"entity": e["entity"], "start": e["start"], "end": e["end"],
                         "value": resolve(e["entity"], value) or value})
    return entities


async def predict(model: Path, examples: list[Example]) -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no per-message debug lines
    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - started
    resolve = build_lexicon().resolve
    rows = []
    for example in examples:
        result = await agent.parse_message(example.text)
        intent = result.get("intent") or {}
        rows.append({
            "text": example.text, "lang": example.lang, "gold_intent": example.intent,
            "pred_intent": intent.get("name"), "confidence": intent.get("confidence", 0.0),
            # With a fallback, Rasa puts nlu_fallback first and DIET's ranking after it.
            "ranking": [(r["name"], round(r["confidence"], 4))
                        for r in (result.get("intent_ranking") or [])[:4]],
            "gold_entities": _gold_entities(example, resolve),
            "pred_entities": _pred_entities(result, resolve),
        })
    return {"model": str(model), "load_seconds": round(load_seconds, 3), "predictions": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    output = asyncio.run(predict(args.model, read_nlu([args.data])))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
