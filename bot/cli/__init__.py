"""The ``medbot`` command line.

Each feature adds its commands in its own module with a ``register(subparsers)``
function, listed in ``COMMAND_MODULES``. ``medbot eval <what>`` is shared: modules
in ``EVAL_MODULES`` add subcommands to it with ``register_eval(subparsers)``.
Commands return an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from typing import TYPE_CHECKING

from bot.errors import MedbotError
from bot.logs import install as redact_logs

if TYPE_CHECKING:
    from bot.app import App

COMMAND_MODULES = (
    "bot.cli.db",
    "bot.cli.train",
    "bot.cli.service",
    "bot.cli.chat",
    "bot.cli.triage",
    "bot.cli.kb",
    "bot.cli.revisits",
    "bot.cli.wechat",
    "bot.cli.worker",
    "bot.cli.transcript",
    "bot.cli.retention",
    "bot.cli.export",
    "bot.cli.doctor",
)
EVAL_MODULES: tuple[str, ...] = ("bot.cli.eval_triage", "bot.cli.eval_nlu")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medbot", description="medbot: bilingual hospital triage and follow-up bot"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    if EVAL_MODULES:
        eval_parser = sub.add_parser("eval", help="evaluate a component against targets")
        eval_sub = eval_parser.add_subparsers(dest="eval_command", metavar="WHAT")
        eval_sub.required = True
        for name in EVAL_MODULES:
            importlib.import_module(name).register_eval(eval_sub)
    return parser


def command_app(args: argparse.Namespace) -> App:
    """The command's app (one database engine), from the ``MEDBOT_*`` environment,
    built on first use; ``main`` disposes it when the command ends."""
    app = getattr(args, "app", None)
    if app is None:
        from bot.app import App
        from bot.settings import Settings

        app = args.app = App.from_settings(Settings.from_env())
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    redact_logs()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except MedbotError as exc:
        print(f"medbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - through logging: the traceback is redacted
        logging.getLogger("bot.cli").exception("medbot %s failed", args.command)
        return 1
    finally:
        if getattr(args, "app", None) is not None:
            args.app.dispose()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
