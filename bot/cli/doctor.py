"""``medbot doctor add|list``: doctor console accounts.

``medbot doctor add zhang.wei --name 张伟 --department cardiology`` asks for the
password twice (getpass); scripts pipe it with ``--password-stdin``. Department
ids are those of ``knowledge_base/departments.yml``. An ``--role admin`` account
reads the audit log and no patient data.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, timezone
from typing import TextIO

from bot.console import audit as events
from bot.console.accounts import ROLES, StaffService
from bot.console.audit import AuditLog
from bot.errors import ValidationError
from bot.settings import Settings
from bot.store.db import Database


def register(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="doctor console accounts")
    doc_sub = doctor.add_subparsers(dest="doctor_command", metavar="ACTION")
    doc_sub.required = True
    add = doc_sub.add_parser("add", help="create a console account")
    add.add_argument("username", help="login name: 3-64 characters a-z 0-9 _ . -")
    add.add_argument("--name", required=True, help="name shown to colleagues and patients")
    add.add_argument("--department", help="department id (knowledge_base/departments.yml); "
                                           "required for a doctor")
    add.add_argument("--role", choices=ROLES, default="doctor")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.set_defaults(func=_add)
    lst = doc_sub.add_parser("list", help="list console accounts")
    lst.set_defaults(func=_list)


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """The new password: one line of stdin, or typed twice at a prompt."""
    if from_stdin:
        return (stdin or sys.stdin).readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ValidationError("the passwords do not match")
    return first


def _add(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    password = read_password(args.password_stdin)
    db = Database.from_settings(settings)
    try:
        staff = StaffService(db, kb_dir=settings.knowledge_base_dir).create(
            args.username, args.name, password, args.role, args.department)
        AuditLog(db).record(events.STAFF_CREATE, actor="cli", staff_id=staff.id,
                            detail=f"username={staff.username} role={staff.role} "
                                   f"department={staff.department_id or ''}")
    finally:
        db.dispose()
    print(f"created {staff.role} {staff.username} ({staff.display_name}, "
          f"{staff.department_id or '-'})")
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    try:
        accounts = StaffService(db, kb_dir=settings.knowledge_base_dir).accounts()
    finally:
        db.dispose()
    now = datetime.now(timezone.utc)
    for staff in accounts:
        state = "active" if staff.active else "disabled"
        if staff.locked_until is not None and staff.locked_until > now:
            state += f", locked until {staff.locked_until.isoformat(timespec='minutes')}"
        print(f"{staff.username:<20} {staff.role:<6} {staff.department_id or '-':<22} "
              f"{staff.display_name} ({state})")
    print(f"{len(accounts)} account(s)")
    return 0
