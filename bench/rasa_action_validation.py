"""Rasa 3.6's action-response validation: stock ``jsonschema.validate`` vs the
validator ``components/rasa_server.py`` builds once.

    .venv/bin/python bench/rasa_action_validation.py [-n 200]

Prints milliseconds per validation of a typical action-server response (two
``slot`` events, one response) for both, in this process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESPONSE = {"events": [{"event": "slot", "name": "language", "value": "zh", "timestamp": None},
                       {"event": "slot", "name": "language_locked", "value": False,
                        "timestamp": None}],
            "responses": [{"text": "您好", "buttons": []}]}


def per_call_ms(fn, n: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()

    from jsonschema import validate
    from rasa.core.actions.action import RemoteAction

    from components import rasa_server

    schema = RemoteAction.action_response_format_spec()
    stock = per_call_ms(lambda: validate(RESPONSE, schema), args.n)
    rasa_server.install()
    action = RemoteAction("action_detect_language", None)
    cached = per_call_ms(lambda: action._validate_action_result(RESPONSE), args.n)
    print(f"jsonschema.validate (Rasa 3.6): {stock:.2f} ms per call")
    print(f"validator built once (components.rasa_server): {cached:.2f} ms per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
