"""``medbot export --patient ID [--out FILE]``: one patient's data as a FHIR R5 Bundle.

The bundle is built, checked (``bot.fhir_export.check_bundle``) and audited
(``audit_events``: actor ``cli``, action ``export``) in one transaction; the file
is written to a temporary name next to ``FILE`` and renamed, so a failure never
leaves a partial file. Without ``--out`` the JSON goes to stdout. A patient whose
data is access-locked (``delete_my_data``) is refused unless ``--allow-locked``
(e.g. a request from a court), which the audit event records.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bot.cli import command_app
from bot.errors import NotFoundError, PermissionDeniedError
from bot.fhir_export import FhirExporter, resource_counts
from bot.i18n import t
from bot.store.audit_models import AuditEvent
from bot.store.db import Database
from bot.store.models import Patient


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a patient's data as a FHIR R5 Bundle (JSON)")
    p.add_argument("--patient", type=int, required=True, help="patient id (patients.id)")
    p.add_argument("--out", type=Path, help="output file (default: stdout)")
    p.add_argument("--allow-locked", action="store_true",
                   help="also export a patient who asked to delete their data (audited)")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    db = command_app(args).db
    try:
        text = export_patient(db, args.patient, args.out, allow_locked=args.allow_locked)
    except NotFoundError:
        _error("utter_error_not_found", f"patient id={args.patient}")
        return 1
    except PermissionDeniedError:
        _error("utter_error_forbidden", f"patient id={args.patient} is access-locked "
                                        "(delete_my_data); --allow-locked overrides")
        return 1
    finally:
        db.dispose()
    if args.out is None:
        sys.stdout.write(text + "\n")
    else:
        print(f"medbot export: wrote {args.out}", file=sys.stderr)
    return 0


def _error(key: str, detail: str) -> None:
    print(f"medbot export: {t(key, 'zh')} / {t(key, 'en')} ({detail})", file=sys.stderr)


def export_patient(db: Database, patient_id: int, out: Path | None, *,
                   allow_locked: bool = False, now: datetime | None = None) -> str:
    """Build, audit and (with ``out``) atomically write the bundle; returns its JSON."""
    now = now or datetime.now(timezone.utc)
    written: Path | None = None
    try:
        with db.begin() as session:
            patient = session.get(Patient, patient_id)
            if patient is None:
                raise NotFoundError(f"patient {patient_id} not found")
            if patient.access_locked_at is not None and not allow_locked:
                raise PermissionDeniedError(f"patient {patient_id} is access-locked")
            bundle = FhirExporter().bundle(session, patient_id, now)
            text = bundle.json(indent=2, ensure_ascii=False)
            session.add(AuditEvent(actor="cli", action="export", patient_id=patient_id,
                                   created_at=now, detail=json.dumps({
                                       "format": "fhir-r5-bundle",
                                       "resources": resource_counts(bundle),
                                       "out": str(out) if out else "stdout",
                                       "locked": patient.access_locked_at is not None})))
            if out is not None:
                _write_atomically(out, text)
                written = out
    except BaseException:
        if written is not None:  # the audit did not commit: take the file back
            written.unlink(missing_ok=True)
        raise
    return text


def _write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
