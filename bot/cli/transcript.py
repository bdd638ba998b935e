"""``medbot transcript verify``: detect edited or deleted transcript rows."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from bot.store.chain import verify
from bot.store.db import Database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcript", help="message transcripts")
    t_sub = p.add_subparsers(dest="transcript_command", metavar="ACTION")
    t_sub.required = True
    v = t_sub.add_parser("verify", help="check the hash chain of every conversation")
    v.add_argument("--conversation", help="check only this conversation id")
    v.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    db = Database.from_settings(Settings.from_env())
    try:
        report = verify(db, args.conversation)
    finally:
        db.dispose()
    for problem in report.problems:
        print(f"TAMPERED {problem}")
    status = "OK" if report.ok else f"FAILED ({len(report.problems)} problems)"
    print(f"transcript verify: {status}: {report.messages} messages in "
          f"{report.conversations} conversations")
    return 0 if report.ok else 1
