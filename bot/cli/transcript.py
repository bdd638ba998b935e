"""``medbot transcript verify|anchor``: detect tampering with the transcripts and audit log.

``verify`` checks the hash chains in the database (edited, missing, relinked rows)
and, when the anchor file exists (``MEDBOT_ANCHOR_FILE``, default
``<data>/anchors/chain.jsonl``), the file itself (every line signed, numbered and
linked) and the chains against its signed heads (recomputed, truncated, deleted,
forged checkpoints). ``anchor`` signs the current heads once (the scheduler worker
does it every ``MEDBOT_ANCHOR_INTERVAL_SECONDS``).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from bot.cli import command_app
from bot.settings import Settings
from bot.store.anchors import AnchorLog
from bot.store.integrity import verify_all


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcript", help="message transcripts and the audit log")
    t_sub = p.add_subparsers(dest="transcript_command", metavar="ACTION")
    t_sub.required = True
    v = t_sub.add_parser("verify", help="check the hash chains, and against the signed anchors")
    v.add_argument("--conversation", help="check only this conversation id")
    v.add_argument("--require-anchors", action="store_true",
                   help="fail when there is no anchor file (it should exist once the "
                        "scheduler worker has run)")
    v.set_defaults(func=_verify)
    a = t_sub.add_parser("anchor", help="sign the heads of the chains into the anchor file now")
    a.set_defaults(func=_anchor)


def _has_key(settings: Settings) -> bool:
    return settings.anchor_key is not None or (
        settings.keys_dir / "anchor.key").exists()


def _verify(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings = app.settings
    path = settings.anchor_path
    present = path.exists()
    if present and not _has_key(settings):
        print(f"FAILED: the anchor file {path} exists but the anchor key does not "
              f"({settings.keys_dir / 'anchor.key'} or MEDBOT_ANCHOR_KEY): restore the key "
              "from its backup")
        return 1
    anchors = AnchorLog.from_settings(settings) if present else None
    db = app.db
    try:
        report = verify_all(db, anchors, args.conversation)
    finally:
        db.dispose()
    for problem in report.problems:
        print(f"TAMPERED {problem}")
    transcripts, audit, state = report.transcripts, report.audit, report.anchors
    print(f"transcripts: {transcripts.messages} messages in {transcripts.conversations} "
          f"conversations, {len(transcripts.problems)} problems")
    print(f"audit log: {audit.events} events, {len(audit.problems)} problems")
    if state is None:
        print(f"anchors: no anchor file at {path}: only the chains in the database were "
              "checked (a cut tail, a deleted conversation or a recomputed chain is not "
              "found); run `medbot transcript anchor` or the scheduler worker")
    else:
        print(f"anchors: {state.lines} lines (last signed {state.last_at or '-'}), "
              f"{len(state.anchored())} conversations anchored, "
              f"{len(state.problems) + len(report.anchored)} problems")
        if state.wrong_key:
            print("anchors: no line matches the anchor key: the key changed or was lost "
                  "(MEDBOT_ANCHOR_KEY or the anchor.key file), or the file was replaced")
    failed = not report.ok or (state is None and args.require_anchors)
    print(f"transcript verify: {'FAILED' if failed else 'OK'}")
    return 1 if failed else 0


def _anchor(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings = app.settings
    anchors = AnchorLog.from_settings(settings)
    db = app.db
    try:
        lines = anchors.anchor(db, datetime.now(timezone.utc))
    finally:
        db.dispose()
    if not lines:
        print(f"anchor: nothing changed since the last line of {anchors.path}")
        return 0
    conversations = sum(len(line["conversations"]) for line in lines)
    audit = lines[-1]["audit"]
    print(f"anchor: wrote line {lines[-1]['n']} of {anchors.path}: {conversations} "
          f"conversation heads, audit log at seq {audit[0] if audit else 0}")
    return 0

