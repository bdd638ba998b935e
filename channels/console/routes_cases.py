"""The queue, the handoff page and its actions, and the live transcript (SSE).

Replies, the "doctor has joined" notice and the bot's resume message reach the
patient through their own channel (``OutboundRouter``); they are in the
transcript before delivery is tried, so a failed delivery is shown to the
doctor and nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sqlalchemy.exc import SQLAlchemyError

from bot.console.cases import STREAM_BATCH, CaseUpdate
from bot.console.sessions import ActiveSession
from bot.errors import MedbotError
from bot.handoff.service import ACTIVE
from bot.i18n import t
from bot.masking import mask_id
from bot.outbound import OutboundError, OutboundMessage
from bot.store.feed import Subscription
from channels.console.case_page import handoff_page
from channels.console.pages import queue_page, tx, when
from channels.console.web import (
    PREFIX,
    SESSION_COOKIE,
    Console,
    current,
    int_arg,
    language,
    page,
    remote,
    run,
    see_other,
    signed_in,
)
from channels.pause import set_paused

log = logging.getLogger(__name__)
ERRORS = {"delivery": "utter_console_delivery_failed"}


def register(bp: Blueprint, console: Console) -> None:
    def department(lang: str):
        return lambda dep_id: console.s.cases.handoffs.department_name(dep_id, lang)

    def notice(request: Request, lang: str) -> str:
        key = ERRORS.get(request.args.get("error") or "")
        return tx(key, lang) if key else ""

    @bp.get("/")
    @signed_in(console)
    async def queue(request: Request, session: ActiveSession) -> HTTPResponse:
        if session.staff.is_admin:
            return see_other(f"{PREFIX}/audit")
        lang = language(request, console)
        items = await run(console.s.cases.queue, session.staff)
        names = {i.department_id: console.s.cases.handoffs.department_name(i.department_id, lang)
                 for i in items}
        return page(request, console, queue_page(lang, session.staff, session.csrf_token, items,
                                                 names, console.s.timezone,
                                                 notice(request, lang)))

    @bp.get("/handoffs/<handoff_id:int>")
    @signed_in(console)
    async def handoff(request: Request, session: ActiveSession, handoff_id: int) -> HTTPResponse:
        lang = language(request, console)
        case = await run(console.s.cases.open, session.staff, handoff_id, via="page",
                         remote_addr=remote(request, console))
        return page(request, console, handoff_page(
            case, session.staff, session.csrf_token, lang, console.s.timezone,
            department(lang), console.s.worklists, notice(request, lang)))

    @bp.post("/handoffs/<handoff_id:int>/claim")
    @signed_in(console)
    async def claim(request: Request, session: ActiveSession, handoff_id: int) -> HTTPResponse:
        message = await run(console.s.cases.claim, session.staff, handoff_id,
                            remote(request, console))
        delivered = await deliver(message)
        return see_other(f"{PREFIX}/handoffs/{handoff_id}"
                         + ("" if delivered else "?error=delivery"))

    @bp.post("/handoffs/<handoff_id:int>/reply")
    @signed_in(console)
    async def reply(request: Request, session: ActiveSession, handoff_id: int) -> HTTPResponse:
        message = await run(console.s.cases.reply, session.staff, handoff_id,
                            request.form.get("text") or "", remote(request, console))
        delivered = await deliver(message)
        return see_other(f"{PREFIX}/handoffs/{handoff_id}"
                         + ("" if delivered else "?error=delivery"))

    @bp.post("/handoffs/<handoff_id:int>/close")
    @signed_in(console)
    async def close(request: Request, session: ActiveSession, handoff_id: int) -> HTTPResponse:
        message, conversation_id = await run(console.s.cases.close, session.staff, handoff_id,
                                             request.form.get("note") or "",
                                             remote(request, console))
        delivered = await deliver(message)
        await resume(request, conversation_id)
        return see_other(f"{PREFIX}/" + ("" if delivered else "?error=delivery"))

    @bp.get("/handoffs/<handoff_id:int>/events")
    async def events(request: Request, handoff_id: int) -> HTTPResponse | None:
        session = await current(request, console)
        if session is None:
            return text(t("utter_console_sign_in_required", language(request, console)),
                        status=401)
        after = max(int_arg(request.args.get("after")),
                    int_arg(request.headers.get("last-event-id")))
        case = await run(console.s.cases.open, session.staff, handoff_id, via="sse",
                         remote_addr=remote(request, console), after_id=after, transcript=True)
        response = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await response.send("retry: 2000\n\n")
        first = CaseUpdate(case.handoff.status, case.lines,
                           ended=case.handoff.status not in ACTIVE)
        # Woken by every new row of the conversation, written by this process or, on
        # PostgreSQL, by any other (bot.store.feed); it starts woken, so a row written
        # since ``open`` read the transcript is polled at once.
        feed = console.s.db.feed
        subscription = await run(feed.subscribe, case.handoff.conversation_id,
                                 asyncio.get_running_loop())
        try:
            await stream(response, request.cookies.get(SESSION_COOKIE), session, handoff_id,
                         first, after, subscription)
        finally:
            subscription.close()
        await response.eof()
        return None

    async def stream(response: Any, token: str | None, session: ActiveSession, handoff_id: int,
                     update: CaseUpdate, after: int, subscription: Subscription) -> None:
        """Send new messages until the handoff ends (then ``end``), the session ends or
        access is lost (``end``: logout, password reset, consent withdrawn, patient
        locked), or the stream's time is up (the browser reconnects with Last-Event-ID).

        It reads the database when the conversation announces a new row, and at the
        latest every ``poll_seconds`` (a logout, a lost announcement)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + console.stream_seconds
        quiet_since = loop.time()
        last_poll = loop.time()
        status = update.status
        while True:
            for line in update.lines:
                await response.send(event(None, {
                    "id": line.id, "role": line.role, "text": line.text,
                    "time": when(line.created_at, console.s.timezone)}, line.id))
                after = line.id
                quiet_since = loop.time()
            if update.ended:  # everything up to the handoff's end was sent
                await response.send(event("end", {"status": status}))
                return
            more = len(update.lines) >= STREAM_BATCH  # a full batch: read on at once
            while not more:
                if loop.time() >= deadline:
                    return
                if loop.time() - quiet_since >= console.keepalive_seconds:
                    await response.send(": keepalive\n\n")
                    quiet_since = loop.time()
                more = await subscription.wait(min(
                    last_poll + console.poll_seconds, quiet_since + console.keepalive_seconds,
                    deadline) - loop.time()) or loop.time() >= last_poll + console.poll_seconds
            last_poll = loop.time()
            try:
                polled = await run(poll, token, session, handoff_id, after)
            except MedbotError as exc:  # no longer visible, consent withdrawn, now locked
                log.info("console.stream.ended handoff=%s reason=%s", handoff_id,
                         type(exc).__name__)
                polled = None
            except SQLAlchemyError:  # the response has started: end it, the browser retries
                log.exception("console.stream.failed handoff=%s", handoff_id)
                return
            if polled is None:
                await response.send(event("end", {"status": status}))
                return
            if polled.status != status:
                status = polled.status
                await response.send(event("status", {"status": status}))
            update = polled

    def poll(token: str | None, session: ActiveSession, handoff_id: int,
             after: int) -> CaseUpdate | None:
        if console.s.sessions.lookup(token) is None:
            return None
        return console.s.cases.updates(session.staff, handoff_id, after)

    async def deliver(message: OutboundMessage) -> bool:
        try:
            await run(console.s.router.send, message)
        except OutboundError as exc:
            log.warning("console.delivery_failed channel=%s to=%s kind=%s retryable=%s: %s",
                        message.channel, mask_id(message.external_id), message.kind,
                        exc.retryable, exc)
            return False
        return True

    async def resume(request: Request, conversation_id: str) -> None:
        """Let Rasa answer the patient again (absent outside a Rasa server, e.g. tests)."""
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None:
            return
        try:
            await set_paused(agent, conversation_id, False)
        except Exception:  # noqa: BLE001 - the gate resumes on the patient's next message
            log.exception("console.resume_failed to=%s", mask_id(conversation_id))


def event(name: str | None, data: dict[str, Any], event_id: int | None = None) -> str:
    """One Server-Sent Event (the JSON data has no raw newlines)."""
    head = (f"id: {event_id}\n" if event_id is not None else "") + (
        f"event: {name}\n" if name else "")
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"
