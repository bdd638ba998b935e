"""Sign-in, sign-out and the static assets."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text

from bot.console import audit as events
from channels.console import assets
from channels.console.pages import login_page
from channels.console.web import (
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Console,
    check_login_token,
    clear_cookie,
    current,
    language,
    login_token,
    page,
    remote,
    run,
    see_other,
    set_cookie,
    signed_in,
)

LOGIN_FORM_SECONDS = 3600


def register(bp: Blueprint, console: Console) -> None:
    @bp.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        if await current(request, console) is not None:
            return see_other(f"{PREFIX}/")
        token = login_token(request)
        lang = language(request, console)
        response = page(request, console, login_page(lang, token,
                                                     signed_out="bye" in request.args))
        set_cookie(response, request, console, LOGIN_COOKIE, token, LOGIN_FORM_SECONDS)
        return response

    @bp.post("/login")
    async def login(request: Request) -> HTTPResponse:
        check_login_token(request)
        s = console.s
        username = request.form.get("username") or ""
        address = remote(request, console)
        result = await run(s.staff.authenticate, username, request.form.get("password") or "",
                           address)
        if not result.ok:
            # the typed name is kept only when it is an account (it may be a password)
            await run(s.audit.record, events.LOGIN_FAILED,
                      actor=username.strip().lower() if result.staff_id else "-",
                      staff_id=result.staff_id, remote_addr=address,
                      detail=f"outcome={result.outcome}"
                             + (" locked_now" if result.locked_now else ""))
            lang = language(request, console)
            return page(request, console,
                        login_page(lang, request.cookies.get(LOGIN_COOKIE, ""), failed=True),
                        status=401)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:
            await run(s.sessions.revoke, previous)
        new = await run(s.sessions.create, result.staff.id, result.staff.auth_version)
        await run(s.audit.record, events.LOGIN, staff=result.staff, remote_addr=address)
        response = see_other(f"{PREFIX}/")
        set_cookie(response, request, console, SESSION_COOKIE, new.token,
                   int(s.sessions.ttl.total_seconds()))
        clear_cookie(response, request, console, LOGIN_COOKIE)
        return response

    @bp.post("/logout")
    @signed_in(console)
    async def logout(request: Request, session) -> HTTPResponse:
        s = console.s
        await run(s.sessions.revoke, request.cookies.get(SESSION_COOKIE))
        await run(s.audit.record, events.LOGOUT, staff=session.staff,
                  remote_addr=remote(request, console))
        response = see_other(f"{PREFIX}/login?bye=1")
        clear_cookie(response, request, console, SESSION_COOKIE)
        return response

    @bp.get("/assets/console.css")
    async def stylesheet(request: Request) -> HTTPResponse:
        return text(assets.CSS, content_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "max-age=3600"})

    @bp.get("/assets/live.js")
    async def live_script(request: Request) -> HTTPResponse:
        return text(assets.LIVE_JS, content_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "max-age=3600"})
