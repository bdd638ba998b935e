"""``medbot revisits list``: read the re-visit queue until the doctor console lands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from bot.cli import command_app
from bot.kb.catalog import TermCatalog
from bot.masking import mask_patient
from bot.revisits.service import QueuedRevisit

STATUSES = ("queued", "in_review", "completed", "rejected", "all")


def register(sub: argparse._SubParsersAction) -> None:
    revisits = sub.add_parser("revisits", help="online re-visit (复诊/续方) requests")
    rv_sub = revisits.add_subparsers(dest="revisits_command", metavar="ACTION")
    rv_sub.required = True
    lst = rv_sub.add_parser("list", help="list queued re-visit requests, oldest first")
    lst.add_argument("--status", choices=STATUSES, default="queued")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.add_argument("--lang", choices=("zh", "en"), default="zh")
    lst.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    services = command_app(args).bookings
    try:
        items = services.revisits.queue(None if args.status == "all" else args.status, args.limit)
        print_queue(items, services.revisits.policy.conditions, services.revisits.drugs,
                    args.lang, args.json, sys.stdout)
    finally:
        services.db.dispose()
    return 0


def print_queue(items: list[QueuedRevisit], conditions: TermCatalog, drugs: TermCatalog, lang: str,
                as_json: bool, out: TextIO) -> None:
    def name(catalog: TermCatalog, entry_id: str) -> str:
        entry = catalog.get(entry_id)
        return entry.names[lang] if entry else entry_id

    for item in items:
        row = {
            "code": item.code, "status": item.status, "created_at": item.created_at.isoformat(),
            "patient": mask_patient(item.patient.channel, item.patient.external_id),
            "condition": item.condition_id, "condition_name": name(conditions, item.condition_id),
            "department": item.department_id, "institution": item.institution,
            "diagnosis": item.diagnosis, "diagnosed_on": item.diagnosed_on.isoformat(),
            "record_number": item.record_number, "renewal_requested": list(item.drug_ids),
            "language": item.language,
        }
        if as_json:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            continue
        drugs_text = ", ".join(name(drugs, d) for d in item.drug_ids) or "-"
        out.write(f"{item.code}  {item.status:<9} {row['created_at'][:16]}  {row['patient']}\n"
                  f"    {row['condition_name']} ({item.department_id}); "
                  f"{item.institution}, {row['diagnosed_on']}: {item.diagnosis}"
                  f"{' #' + item.record_number if item.record_number else ''}\n"
                  f"    renewal requested: {drugs_text}\n")
    if not as_json:
        out.write(f"{len(items)} request(s)\n")
