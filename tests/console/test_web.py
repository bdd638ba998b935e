"""The console over HTTP: sign-in, CSRF, lockout, roles, audit, actions, the live stream.

The blueprint runs on a bare Sanic app (no Rasa model); replies to REST patients
land in the outbox, WeChat deliveries fail on purpose (``BrokenSender``).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone

from sqlalchemy import select

from bot.console import audit as events
from bot.console.accounts import MAX_FAILURES
from bot.console.sessions import token_digest
from bot.i18n import t
from bot.store.audit_models import AuditEvent
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.store.reminder_models import OutboxMessage
from bot.store.repositories import LoggedMessage
from bot.store.staff_models import StaffSession
from tests.console.conftest import PASSWORD


def audit(db, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    with db.begin() as session:
        return list(session.execute(stmt).scalars())


def handoff(db, hid: int) -> Handoff:
    with db.begin() as session:
        return session.get(Handoff, hid)


def outbox(db) -> list[tuple[str, str, str]]:
    with db.begin() as session:
        return [(r.external_id, r.kind, r.text) for r in session.execute(
            select(OutboxMessage).order_by(OutboxMessage.id)).scalars()]


def transcript(db, external_id: str) -> list[tuple[str, str]]:
    """Everything logged for the patient (whatever the conversation id's format)."""
    with db.begin() as session:
        return [(m.role, m.text) for m in session.execute(
            select(Message).join(Patient, Patient.id == Message.patient_id)
            .where(Patient.external_id == external_id).order_by(Message.id)).scalars()]


def has_id(html: str, element_id: str) -> bool:
    return f'id="{element_id}"' in html


async def signed_in(console, username: str):
    browser = console.browser()
    reply = await browser.login(username)
    assert (reply.status, reply.location) == (303, "/console/"), reply.text
    return browser


async def test_login_page_session_cookie_and_headers(console, world, db) -> None:
    browser = console.browser()
    form = await browser.get("/console/login")
    for element in ('<input id="username"', '<input id="password"', '<button type="submit" '
                                                                    'id="login"'):
        assert element in form.text
    assert "default-src 'self'" in form.headers["Content-Security-Policy"]
    assert form.headers["Cache-Control"] == "no-store"
    reply = await browser.login("dr.li")
    assert (reply.status, reply.location) == (303, "/console/")
    cookie = next(c for c in reply.set_cookies if c.startswith("medbot_console_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/console" in cookie and "SameSite=Strict" in cookie
    token = browser.cookies["medbot_console_session"]
    with db.begin() as session:
        stored = session.execute(select(StaffSession.token_sha256)).scalar_one()
    assert stored == token_digest(token) != token
    assert [(e.actor, e.staff_id) for e in audit(db, events.LOGIN)] == [("dr.li", world.cardio.id)]
    queue = await browser.get("/console/")
    assert queue.status == 200 and "李医生" in queue.text


async def test_login_form_needs_its_double_submit_token(console, world, db) -> None:
    browser = console.browser()
    form = await browser.get("/console/login")
    creds = {"username": "dr.li", "password": PASSWORD}
    for token in (None, "forged", form.csrf() + "x"):
        reply = await browser.post("/console/login", creds, csrf=token)
        assert reply.status == 403
        assert t("utter_console_csrf_failed", "zh") in reply.text
    stranger = console.browser()  # the right field value without the cookie
    assert (await stranger.post("/console/login", creds, csrf=form.csrf())).status == 403
    assert "medbot_console_session" not in browser.cookies
    assert audit(db, events.LOGIN) == []


async def test_five_failures_lock_the_account_without_revealing_it_exists(console, world,
                                                                          db) -> None:
    browser = console.browser()
    failed = t("utter_console_login_failed", "zh")
    unknown = await browser.login("nobody", "whatever password")
    assert unknown.status == 401 and failed in unknown.text
    for i in range(MAX_FAILURES):
        reply = await browser.login("dr.li", f"wrong password {i}")
        assert reply.status == 401 and failed in reply.text
    locked = await browser.login("dr.li", PASSWORD)
    assert locked.status == 401 and failed in locked.text
    assert "medbot_console_session" not in browser.cookies
    strip = re.compile(r'value="[^"]*"')  # the per-form token differs, nothing else may
    assert strip.sub("", locked.text) == strip.sub("", unknown.text)
    # locked for this account from this address only (bot/console/throttle.py)
    assert [address for address, _ in world.services.staff.locks("dr.li")] == ["127.0.0.1"]
    details = [e.detail for e in audit(db, events.LOGIN_FAILED)]
    assert details[0] == "outcome=unknown_user"
    assert details[MAX_FAILURES] == "outcome=bad_password locked_now"
    assert details[-1] == "outcome=locked"
    assert audit(db, events.LOGIN)[0:] == []
    assert (await console.browser().login("dr.chen")).status == 303  # others unaffected


async def test_a_doctor_never_sees_another_departments_patient(console, world, db) -> None:
    mine = world.handoff("p-heart", "cardiology", said=("胸闷两天",))
    theirs = world.handoff("p-brain", "neurology", said=("头痛欲裂 secret-neuro",))
    li = await signed_in(console, "dr.li")
    queue = await li.get("/console/")
    assert has_id(queue.text, f"handoff-{mine}") and has_id(queue.text, f"open-{mine}")
    assert has_id(queue.text, f"claim-{mine}")
    assert not has_id(queue.text, f"handoff-{theirs}") and "neurology" not in queue.text
    assert "神经内科" not in queue.text
    page = await li.get(f"/console/handoffs/{theirs}")
    assert page.status == 403 and "secret-neuro" not in page.text
    assert (await li.get(f"/console/handoffs/{theirs}/events")).status == 403
    csrf = await li.csrf_for()
    assert (await li.post(f"/console/handoffs/{theirs}/claim", csrf=csrf)).status == 403
    assert (await li.post(f"/console/handoffs/{theirs}/reply", {"text": "hi"},
                          csrf=csrf)).status == 403
    assert handoff(db, theirs).status == "queued" and outbox(db) == []
    assert transcript(db, "p-brain") == [("patient", "头痛欲裂 secret-neuro")]
    denied = audit(db, events.HANDOFF_DENIED)
    assert {(e.staff_id, e.handoff_id) for e in denied} == {(world.cardio.id, theirs)}
    assert audit(db, events.TRANSCRIPT_VIEW) == []
    wang = await signed_in(console, "dr.wang")  # their department: the summary, then
    assert "secret-neuro" not in (await wang.get(f"/console/handoffs/{theirs}")).text
    await wang.post(f"/console/handoffs/{theirs}/claim", csrf=await wang.csrf_for())
    assert "secret-neuro" in (await wang.get(f"/console/handoffs/{theirs}")).text  # claimed


async def test_every_transcript_view_is_audited_with_actor_and_handoff(console, world,
                                                                       db) -> None:
    hid = world.handoff("p1", "cardiology")
    li = await signed_in(console, "dr.li")
    page = await li.get(f"/console/handoffs/{hid}")  # queued: the summary, audited too
    assert '<span id="status">queued</span>' in page.text
    assert [(e.staff_id, e.handoff_id, e.detail) for e in audit(db, events.SUMMARY_VIEW)] == [
        (world.cardio.id, hid, "via=page")]
    await li.post(f"/console/handoffs/{hid}/claim", csrf=page.csrf())
    for _ in range(2):
        page = await li.get(f"/console/handoffs/{hid}")
        assert page.status == 200
        assert '<span id="status">claimed</span>' in page.text
    views = audit(db, events.TRANSCRIPT_VIEW)
    assert [(e.actor, e.staff_id, e.handoff_id, e.detail) for e in views] == [
        ("dr.li", world.cardio.id, hid, "via=page")] * 2
    with db.begin() as session:
        patient_id = session.execute(select(Patient.id).where(
            Patient.external_id == "p1")).scalar_one()
    assert {e.patient_id for e in views} == {patient_id}
    assert all(e.remote_addr == "127.0.0.1" for e in views)


async def test_posts_without_the_right_csrf_token_change_nothing(console, world, db) -> None:
    hid = world.handoff("p1", "cardiology")
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    for token in (None, "", "not-the-token", csrf[:-1]):
        reply = await li.post(f"/console/handoffs/{hid}/claim", csrf=token)
        assert reply.status == 403, reply.text
        assert t("utter_console_csrf_failed", "zh") in reply.text
    assert handoff(db, hid).status == "queued"
    assert (await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)).status == 303
    before = transcript(db, "p1")
    for path, form in ((f"/console/handoffs/{hid}/reply", {"text": "hello"}),
                       (f"/console/handoffs/{hid}/close", {"note": "done"}),
                       ("/console/logout", {})):
        assert (await li.post(path, form, csrf="forged")).status == 403
    assert transcript(db, "p1") == before and handoff(db, hid).status == "claimed"
    assert len(outbox(db)) == 1  # only the claim's notice
    assert (await li.get("/console/")).status == 200  # still signed in
    assert [e.action for e in audit(db)].count(events.HANDOFF_REPLY) == 0


async def test_admin_reads_the_audit_log_but_no_transcript(console, world, db) -> None:
    hid = world.handoff("p1", "cardiology", said=("private words",))
    li = await signed_in(console, "dr.li")
    assert (await li.get("/console/audit")).status == 403
    await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    await li.get(f"/console/handoffs/{hid}")
    admin = await signed_in(console, "admin")
    home = await admin.get("/console/")
    assert (home.status, home.location) == (303, "/console/audit")
    log = await admin.get("/console/audit")
    assert log.status == 200 and has_id(log.text, "audit")
    assert events.TRANSCRIPT_VIEW in log.text and "dr.li" in log.text
    assert "private words" not in log.text
    page = await admin.get(f"/console/handoffs/{hid}")
    assert page.status == 403 and "private words" not in page.text
    for path in ("/console/revisits", "/console/flags"):
        assert (await admin.get(path)).status == 403
    assert [e.staff_id for e in audit(db, events.AUDIT_VIEW)] == [world.admin.id]


async def test_a_second_claim_is_a_conflict(console, world, db) -> None:
    hid = world.handoff("p1", "cardiology")
    li, chen = await signed_in(console, "dr.li"), await signed_in(console, "dr.chen")
    chen_csrf = await chen.csrf_for()  # chen's queue still shows the handoff
    claimed = await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    assert (claimed.status, claimed.location) == (303, f"/console/handoffs/{hid}")
    late = await chen.post(f"/console/handoffs/{hid}/claim", csrf=chen_csrf)
    assert late.status == 409 and t("utter_console_error_conflict", "zh") in late.text
    assert handoff(db, hid).staff_id == world.cardio.id
    assert [e.staff_id for e in audit(db, events.HANDOFF_CLAIM)] == [world.cardio.id]
    assert not has_id((await chen.get("/console/")).text, f"handoff-{hid}")


async def test_claim_reply_close_reach_a_rest_patient_through_the_outbox(console, world,
                                                                         db) -> None:
    hid = world.handoff("rest-patient", "cardiology")
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)
    page = await li.get(f"/console/handoffs/{hid}")
    for element in ("reply-form", "reply-text", "send-reply", "close-form", "close-note",
                    "close-handoff", "summary", "transcript"):
        assert has_id(page.text, element), element
    assert '<span id="status">claimed</span>' in page.text
    reply = await li.post(f"/console/handoffs/{hid}/reply", {"text": "请今天来门诊 <b>"},
                          csrf=csrf)
    assert (reply.status, reply.location) == (303, f"/console/handoffs/{hid}")
    page = await li.get(f"/console/handoffs/{hid}")
    assert '<div class="msg msg-doctor"' in page.text and "请今天来门诊 &lt;b&gt;" in page.text
    closed = await li.post(f"/console/handoffs/{hid}/close", {"note": "advised visit"},
                           csrf=csrf)
    assert (closed.status, closed.location) == (303, "/console/")
    joined = t("utter_handoff_claimed", "zh", doctor="李医生")
    assert outbox(db) == [("rest-patient", "notice", joined),
                          ("rest-patient", "doctor", "请今天来门诊 <b>"),
                          ("rest-patient", "notice", t("utter_handoff_closed", "zh"))]
    assert transcript(db, "rest-patient")[-3:] == [
        ("system", joined), ("doctor", "请今天来门诊 <b>"),
        ("bot", t("utter_handoff_closed", "zh"))]
    row = handoff(db, hid)
    assert (row.status, row.close_note) == ("closed", "advised visit")
    assert [e.action for e in audit(db) if e.action.startswith("handoff.")] == [
        events.HANDOFF_CLAIM, events.HANDOFF_REPLY, events.HANDOFF_CLOSE]
    assert not has_id((await li.get("/console/")).text, f"handoff-{hid}")


async def test_a_failed_delivery_is_shown_and_the_message_is_kept(console, world, db,
                                                                  broken) -> None:
    hid = world.handoff("wx-openid-123", "cardiology", channel="wechat")
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    claimed = await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)
    assert claimed.location == f"/console/handoffs/{hid}?error=delivery"
    reply = await li.post(f"/console/handoffs/{hid}/reply", {"text": "are you there?"},
                          csrf=csrf)
    assert reply.location == f"/console/handoffs/{hid}?error=delivery"
    page = await li.get(reply.location + "&lang=en")
    assert t("utter_console_delivery_failed", "en") in page.text
    assert [m.kind for m in broken.attempts] == ["notice", "doctor"]
    assert ("doctor", "are you there?") in transcript(db, "wx-openid-123")
    assert outbox(db) == []


async def test_a_locked_patients_transcript_is_refused(console, world, db) -> None:
    hid = world.handoff("p-gone", "cardiology", said=("delete me later",))
    with db.begin() as session:
        session.execute(select(Patient).where(Patient.external_id == "p-gone")).scalar_one() \
            .access_locked_at = datetime.now(timezone.utc)
    li = await signed_in(console, "dr.li")
    page = await li.get(f"/console/handoffs/{hid}?lang=en")
    assert page.status == 403 and "delete me later" not in page.text
    assert t("utter_console_patient_locked", "en") in page.text
    assert (await li.get(f"/console/handoffs/{hid}/events")).status == 403
    denied = audit(db, events.TRANSCRIPT_DENIED_LOCKED)
    assert [(e.staff_id, e.handoff_id) for e in denied] == [(world.cardio.id, hid)] * 2
    assert audit(db, events.TRANSCRIPT_VIEW) == []


async def read_events(response, count: int, timeout: float = 5.0) -> list[dict]:
    """The next ``count`` events (name and JSON data) of an SSE response."""
    found: list[dict] = []
    name = "message"

    async def collect() -> None:
        nonlocal name
        while len(found) < count:
            raw = await response.content.readline()
            assert raw, "the stream ended"  # (at EOF readline never waits: no busy loop)
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                found.append({"event": name, **json.loads(line[len("data: "):])})
                name = "message"

    await asyncio.wait_for(collect(), timeout)
    return found


async def test_the_live_stream_sends_new_patient_messages(console, world, db) -> None:
    hid = world.handoff("p-live", "cardiology", said=("first", "second"))
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)  # the stream is the claimer's
    first_id = transcript_ids(db, "p-live")[0]
    headers = {"Cookie": f"medbot_console_session={li.cookies['medbot_console_session']}"}
    url = f"{console.base}/console/handoffs/{hid}/events?after={first_id}"
    async with console.http.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert [e["text"] for e in await read_events(response, 2)] == [
            "second", t("utter_handoff_claimed", "zh", doctor="李医生")]
        await asyncio.to_thread(world.transcripts.log, "rest", "p-live",
                                [LoggedMessage(role="patient", text="<i>third</i>")])
        (third,) = await read_events(response, 1)
        assert (third["event"], third["role"], third["text"]) == ("message", "patient",
                                                                  "<i>third</i>")
        await li.post(f"/console/handoffs/{hid}/reply", {"text": "请稍等"}, csrf=csrf)
        (reply,) = await read_events(response, 1)
        assert (reply["role"], reply["text"]) == ("doctor", "请稍等")
    sse = [e for e in audit(db, events.TRANSCRIPT_VIEW) if e.detail == "via=sse"]
    assert [(e.staff_id, e.handoff_id) for e in sse] == [(world.cardio.id, hid)]


def transcript_ids(db, external_id: str) -> list[int]:
    with db.begin() as session:
        return list(session.execute(select(Message.id).join(
            Patient, Patient.id == Message.patient_id).where(
            Patient.external_id == external_id).order_by(Message.id)).scalars())


async def test_the_stream_ends_when_the_session_is_revoked(console, world) -> None:
    hid = world.handoff("p-live", "cardiology")
    li = await signed_in(console, "dr.li")
    await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    headers = {"Cookie": f"medbot_console_session={li.cookies['medbot_console_session']}"}
    url = f"{console.base}/console/handoffs/{hid}/events"
    async with console.http.get(url, headers=headers) as response:
        await read_events(response, 3)  # the two messages so far and the claim notice
        logout = await li.post("/console/logout", csrf=await li.csrf_for())
        assert (logout.status, logout.location) == (303, "/console/login?bye=1")
        (end,) = await read_events(response, 1)
        assert end["event"] == "end"
    assert (await console.http.get(url, headers=headers)).status == 401


async def test_signed_out_requests_go_to_the_login_page(console, world, db) -> None:
    hid = world.handoff("p1", "cardiology")
    browser = console.browser()
    for path in ("/console/", f"/console/handoffs/{hid}", "/console/audit"):
        reply = await browser.get(path)
        assert (reply.status, reply.location) == (303, "/console/login")
    reply = await browser.post(f"/console/handoffs/{hid}/claim", csrf="x")
    assert reply.location == "/console/login" and handoff(db, hid).status == "queued"
    li = await signed_in(console, "dr.li")
    await li.post("/console/logout", csrf=await li.csrf_for())
    assert (await li.get("/console/")).location == "/console/login"
    assert [e.action for e in audit(db)][-1] == events.LOGOUT


async def test_the_language_switch_is_remembered(console, world) -> None:
    browser = console.browser()
    english = await browser.get("/console/login?lang=en")
    assert t("utter_console_login_button", "en") in english.text and 'lang="en"' in english.text
    assert browser.cookies["medbot_console_lang"] == "en"
    li = await browser.login("dr.li")
    assert li.status == 303
    queue = await browser.get("/console/")
    assert t("utter_console_queue_title", "en") in queue.text
    chinese = await browser.get("/console/?lang=zh")
    assert t("utter_console_queue_title", "zh") in chinese.text


async def test_an_empty_reply_is_refused(console, world, db) -> None:
    hid = world.handoff("p1", "cardiology")
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)
    reply = await li.post(f"/console/handoffs/{hid}/reply", {"text": "   "}, csrf=csrf)
    assert reply.status == 400 and t("utter_console_error_invalid", "zh") in reply.text
    assert [role for role, _ in transcript(db, "p1")].count("doctor") == 0
    assert (await li.get("/console/handoffs/999999")).status == 404
