"""``medbot train``: train into models/, skipping when nothing changed."""

from __future__ import annotations

import argparse

from bot.cli import command_app
from bot.training import train
from bot.triage.learned import ensure_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="build the triage understanding layer and train the Rasa model (skips what is up to date)")
    p.add_argument("--force", action="store_true", help="train even if up to date")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    settings = command_app(args).settings
    understanding = ensure_model(settings.models_dir, settings.project_root)
    print(f"triage understanding layer: {understanding}")
    result = train(settings, force=args.force)
    if result.trained:
        print(f"trained {result.model_path} in {result.seconds:.0f}s")
    else:
        print(f"model up to date: {result.model_path} (fingerprint {result.fingerprint})")
    return 0
