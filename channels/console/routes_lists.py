"""Re-visit requests and care-team flags (doctors), the audit log (admins)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from bot.console import audit as events
from bot.console.sessions import ActiveSession
from bot.errors import PermissionDeniedError
from channels.console.pages import audit_page, flags_page, revisits_page
from channels.console.web import Console, int_arg, language, page, remote, run, signed_in

AUDIT_PAGE = 100


def register(bp: Blueprint, console: Console) -> None:
    @bp.get("/revisits")
    @signed_in(console)
    async def revisits(request: Request, session: ActiveSession) -> HTTPResponse:
        lang = language(request, console)
        items = await run(console.s.worklists.revisits, session.staff,
                          remote(request, console))
        return page(request, console, revisits_page(lang, session.staff, session.csrf_token,
                                                    items, console.s.worklists,
                                                    console.s.timezone))

    @bp.get("/flags")
    @signed_in(console)
    async def flags(request: Request, session: ActiveSession) -> HTTPResponse:
        lang = language(request, console)
        items = await run(console.s.worklists.flags, session.staff, remote(request, console))
        names = {i.department_id: console.s.cases.handoffs.department_name(i.department_id, lang)
                 for i in items if i.department_id}
        return page(request, console, flags_page(lang, session.staff, session.csrf_token,
                                                 items, names, console.s.timezone))

    @bp.get("/audit")
    @signed_in(console)
    async def audit(request: Request, session: ActiveSession) -> HTTPResponse:
        """The audit log, for admins only (a doctor gets 403)."""
        if not session.staff.is_admin:
            raise PermissionDeniedError(f"staff {session.staff.id} is not an admin")
        lang = language(request, console)
        before = int_arg(request.args.get("before")) or None
        action = (request.args.get("action") or "").strip() or None
        await run(console.s.audit.record, events.AUDIT_VIEW, staff=session.staff,
                  remote_addr=remote(request, console),
                  detail=f"before={before or ''} action={action or ''}")
        items = await run(console.s.audit.entries, AUDIT_PAGE, before, action)
        older = items[-1].id if len(items) == AUDIT_PAGE else None
        return page(request, console, audit_page(lang, session.staff, session.csrf_token,
                                                 items, console.s.timezone, older))
