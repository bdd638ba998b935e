"""``medbot train``: train into models/, skipping when nothing changed."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from bot.training import train


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the Rasa model (skips if nothing changed)")
    p.add_argument("--force", action="store_true", help="train even if up to date")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    result = train(Settings.from_env(), force=args.force)
    if result.trained:
        print(f"trained {result.model_path} in {result.seconds:.0f}s")
    else:
        print(f"model up to date: {result.model_path} (fingerprint {result.fingerprint})")
    return 0
