"""``medbot doctor add|list|disable|enable|unlock|reset-password``: console accounts.

``medbot doctor add zhang.wei --name 张伟 --department cardiology`` asks for the
password twice (getpass); scripts pipe it with ``--password-stdin``. Department
ids are those of ``knowledge_base/departments.yml``. An ``--role admin`` account
reads the audit log and no patient data.

``disable`` ends the account's sessions and refuses its logins (``enable`` undoes
it); ``reset-password`` reads the new password like ``add`` (never from the
command line, where other users and the shell history would see it) and ends
every session; ``unlock`` lifts the login locks of an account (from every
address) or of a client address (``--address``). Every change is audited.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from bot.cli import command_app
from bot.console import audit as events
from bot.console.accounts import ROLES, StaffService
from bot.console.audit import AuditLog
from bot.console.throttle import build_throttle
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
    for name, func, text in (("disable", _disable, "end the account's sessions and refuse "
                                                   "its logins"),
                             ("enable", _enable, "allow a disabled account to sign in again")):
        cmd = doc_sub.add_parser(name, help=text)
        cmd.add_argument("username")
        cmd.set_defaults(func=func)
    reset = doc_sub.add_parser("reset-password", help="set a new password (typed twice, or "
                                                      "--password-stdin); ends every session")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    reset.set_defaults(func=_reset)
    unlock = doc_sub.add_parser("unlock", help="lift login locks of an account (from every "
                                               "address) or of a client address")
    unlock.add_argument("username", nargs="?")
    unlock.add_argument("--address", help="a client address locked after failed logins")
    unlock.set_defaults(func=_unlock)


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """The new password: one line of stdin, or typed twice at a prompt."""
    if from_stdin:
        return (stdin or sys.stdin).readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ValidationError("the passwords do not match")
    return first


def _service(settings: Settings, db: Database) -> StaffService:
    """Accounts on ``db``, with the throttle store the console uses (Redis or database)."""
    return StaffService(db, kb_dir=settings.knowledge_base_dir,
                        throttle=build_throttle(db, redis_url=settings.redis_url))


def _add(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    app = command_app(args)
    settings, db = app.settings, app.db
    try:
        staff = _service(settings, db).create(
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
    app = command_app(args)
    settings, db = app.settings, app.db
    try:
        service = _service(settings, db)
        accounts = [(staff, service.locks(staff.username)) for staff in service.accounts()]
    finally:
        db.dispose()
    for staff, locks in accounts:
        state = "active" if staff.active else "disabled"
        for address, until in locks:
            state += f", locked from {address} until {until.isoformat(timespec='minutes')}"
        print(f"{staff.username:<20} {staff.role:<6} {staff.department_id or '-':<22} "
              f"{staff.display_name} ({state})")
    print(f"{len(accounts)} account(s)")
    return 0


def _disable(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def _enable(args: argparse.Namespace) -> int:
    return _set_active(args, True)


def _set_active(args: argparse.Namespace, active: bool) -> int:
    app = command_app(args)
    settings, db = app.settings, app.db
    try:
        staff = _service(settings, db).set_active(args.username, active)
        AuditLog(db).record(events.STAFF_ENABLE if active else events.STAFF_DISABLE,
                            actor="cli", staff_id=staff.id, detail=f"username={staff.username}")
    finally:
        db.dispose()
    print(f"{'enabled' if active else 'disabled'} {staff.username}"
          + ("" if active else " (its sessions have ended)"))
    return 0


def _reset(args: argparse.Namespace) -> int:
    app = command_app(args)
    settings, db = app.settings, app.db
    try:
        service = _service(settings, db)
        service.find(args.username)  # an unknown name fails before the password is asked
        staff = service.set_password(args.username, read_password(args.password_stdin))
        AuditLog(db).record(events.STAFF_PASSWORD_RESET, actor="cli", staff_id=staff.id,
                            detail=f"username={staff.username}")
    finally:
        db.dispose()
    print(f"new password set for {staff.username} (its sessions have ended)")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    if not args.username and not args.address:
        raise ValidationError("name an account, an --address, or both")
    app = command_app(args)
    settings, db = app.settings, app.db
    try:
        service = _service(settings, db)
        staff = service.find(args.username) if args.username else None
        removed = service.unlock(args.username, args.address)
        AuditLog(db).record(events.STAFF_UNLOCK, actor="cli",
                            staff_id=staff.id if staff else None,
                            detail=f"username={staff.username if staff else ''} "
                                   f"address={args.address or ''} removed={removed}")
    finally:
        db.dispose()
    print(f"unlocked {' and '.join(x for x in (args.username, args.address) if x)} "
          f"({removed} lock record(s) removed)")
    return 0
