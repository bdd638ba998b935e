"""``medbot triage --json "TEXT"`` and ``--batch FILE``: triage free text.

Runs exactly what the chat interview runs (``Triage.assess_text``); questions
the text does not answer count as unknown. Nothing is stored unless
``--store`` is given (which needs ``medbot db upgrade`` first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli import command_app
from bot.errors import ValidationError
from bot.triage.pipeline import Assessment, Triage, triage_for

if TYPE_CHECKING:
    from bot.app import App


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("triage", help="triage a free-text symptom description")
    parser.add_argument("text", nargs="?", help="the patient's description (zh or en)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--batch", type=Path, metavar="FILE",
                        help='JSON lines {"id":..., "message":...}; one result line per input')
    parser.add_argument("--lang", choices=("zh", "en"), help="language of the explanations")
    parser.add_argument("--store", action="store_true",
                        help="also store each decision as a TriageRecord (database must be upgraded)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if bool(args.text) == bool(args.batch):
        raise ValidationError("give either TEXT or --batch FILE")
    triage = triage_for(command_app(args).settings)
    service = _service(triage, command_app(args)) if args.store else None
    try:
        if args.batch:
            return _batch(triage, args.batch, args.lang, sys.stdout, service)
        _emit(triage, args.text, args.lang, sys.stdout, service)
        return 0
    finally:
        if service is not None:
            service.db.dispose()


def result_json(assessment: Assessment, lang: str | None) -> dict[str, Any]:
    return assessment.result.to_dict(lang or assessment.case.language)


def _emit(triage: Triage, text: str, lang: str | None, out: TextIO, service: Any,
          item_id: Any = None) -> None:
    if service is not None:
        stored = service.assess_text(text, lang, channel="cli")
        assessment = Assessment(stored.case, stored.result)
    else:
        assessment = triage.assess_text(text, lang)
    data = result_json(assessment, lang)
    if item_id is not None:
        data = {"id": item_id, **data}
    out.write(json.dumps(data, ensure_ascii=False) + "\n")


def _batch(triage: Triage, path: Path, lang: str | None, out: TextIO, service: Any) -> int:
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            message = item["message"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValidationError(f"{path}:{number}: expected {{\"id\", \"message\"}}: {exc}") from exc
        _emit(triage, str(message), lang, out, service, item.get("id", number))
    return 0


def _service(triage: Triage, app: App):
    from bot.triage.service import TriageService

    return TriageService(app.db, triage)
