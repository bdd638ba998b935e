"""The console over HTTP: access bounded by the handoff, the live stream's end,
trusted proxies (client address, Secure cookies), throttled logins, ended sessions."""

from __future__ import annotations

import asyncio
import json
from datetime import timezone

import pytest
from sqlalchemy import select

from bot.consent.rights import DataRightsService
from bot.console import audit as events
from bot.console.accounts import MAX_FAILURES
from bot.console.config import ConsoleConfig
from bot.errors import ConfigError
from bot.handoff.factory import consent_service
from bot.i18n import t
from bot.settings import Settings
from bot.store.audit_models import AuditEvent
from bot.store.models import Message
from bot.store.repositories import LoggedMessage
from channels.console.web import Console
from tests.console.conftest import PASSWORD, serve
from tests.console.test_web import audit, has_id, signed_in

ATTACKER, DOCTOR_PC = "203.0.113.9", "10.20.0.15"


def proxied(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def settings_with(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path / "data"), **env})


async def read_until_end(response, timeout: float = 4.0) -> list[dict]:
    """Events up to and including ``end`` (the stream's own deadline is 5 s)."""
    found: list[dict] = []
    name = "message"

    async def collect() -> None:
        nonlocal name
        while not found or found[-1]["event"] != "end":
            raw = await response.content.readline()
            assert raw, "the stream ended without an end event"  # (no busy loop at EOF)
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                found.append({"event": name, **json.loads(line[len("data: "):])})
                name = "message"

    await asyncio.wait_for(collect(), timeout)
    return found


def stream_url(console, hid: int) -> str:
    return f"{console.base}/console/handoffs/{hid}/events"


def cookie(browser) -> dict[str, str]:
    return {"Cookie": f"medbot_console_session={browser.cookies['medbot_console_session']}"}


def end_at_last_message(world, clock, hid: int) -> None:
    """The handoff's clock at the time of its conversation's last message (in production
    both are the system clock)."""
    with world.services.db.begin() as session:
        moment = session.execute(select(Message.created_at).where(
            Message.conversation_id == world.conversation(hid))
            .order_by(Message.id.desc()).limit(1)).scalar_one()
    clock.set(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


# -- access bounded by the handoff -------------------------------------------------------

async def test_a_colleague_sees_the_summary_of_a_queued_handoff_not_the_chat(console, world,
                                                                           db) -> None:
    hid = world.handoff("p-queued", "cardiology", said=("胸口疼 secret-chat",))
    chen = await signed_in(console, "dr.chen")
    page = await chen.get(f"/console/handoffs/{hid}")
    assert page.status == 200 and "secret-chat" not in page.text
    assert has_id(page.text, "summary") and has_id(page.text, f"claim-{hid}")
    assert has_id(page.text, "summary-only") and not has_id(page.text, "transcript")
    assert "live.js" not in page.text
    async with console.http.get(stream_url(console, hid), headers=cookie(chen)) as response:
        assert response.status == 403
    assert [(e.action, e.detail) for e in audit(db) if e.staff_id == world.cardio2.id
            and e.action != events.LOGIN] == [
        (events.SUMMARY_VIEW, "via=page"), (events.HANDOFF_DENIED, "via=sse reason=summary_only")]
    await chen.post(f"/console/handoffs/{hid}/claim", csrf=page.csrf())
    assert "secret-chat" in (await chen.get(f"/console/handoffs/{hid}")).text


async def test_the_stream_ends_when_the_handoff_closes(console, world, db, clock) -> None:
    hid = world.handoff("p-close", "cardiology", said=("first",))
    li = await signed_in(console, "dr.li")
    csrf = await li.csrf_for()
    await li.post(f"/console/handoffs/{hid}/claim", csrf=csrf)
    async with console.http.get(stream_url(console, hid), headers=cookie(li)) as response:
        end_at_last_message(world, clock, hid)
        closed = await li.post(f"/console/handoffs/{hid}/close", {"note": "ok"}, csrf=csrf)
        assert closed.status == 303
        received = await read_until_end(response)
    assert received[-1] == {"event": "end", "status": "closed"}
    assert [e["text"] for e in received if e["event"] == "message"][0] == "first"
    await asyncio.to_thread(world.transcripts.log, "rest", "p-close",
                            [LoggedMessage(role="patient", text="secret-after")])
    page = await li.get(f"/console/handoffs/{hid}")  # the doctor still has the case file
    assert page.status == 200 and "first" in page.text and "secret-after" not in page.text
    async with console.http.get(stream_url(console, hid), headers=cookie(li)) as response:
        again = await read_until_end(response)  # a reconnect ends at once, at the end
    assert "secret-after" not in [e.get("text") for e in again]
    assert again[-1]["event"] == "end"


async def test_withdrawing_consent_ends_the_page_and_the_stream(console, world, db) -> None:
    hid = world.handoff("p-withdraw", "cardiology", said=("胸口疼 secret-chat",), consent=True)
    li = await signed_in(console, "dr.li")
    await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    rights = DataRightsService(db, consent_service())
    async with console.http.get(stream_url(console, hid), headers=cookie(li)) as response:
        await asyncio.to_thread(rights.withdraw, "rest", "p-withdraw", "zh")
        received = await read_until_end(response)
    assert received[-1]["event"] == "end"
    page = await li.get(f"/console/handoffs/{hid}?lang=en")
    assert page.status == 403 and "secret-chat" not in page.text
    assert t("utter_console_consent_withdrawn", "en") in page.text
    async with console.http.get(stream_url(console, hid), headers=cookie(li)) as response:
        assert response.status == 403
    assert not has_id((await li.get("/console/")).text, f"handoff-{hid}")
    assert [e.detail for e in audit(db, events.HANDOFF_DENIED)] == [
        "via=page reason=consent_withdrawn", "via=sse reason=consent_withdrawn"]


# -- trusted proxies: the client address and Secure cookies ---------------------------------

async def test_forwarded_addresses_count_only_from_a_trusted_proxy(services, world, db,
                                                                   tmp_path) -> None:
    async with serve(services, settings_with(tmp_path)) as direct:
        spoofed = await direct.browser().login("dr.li", headers=proxied("198.51.100.7"))
        assert spoofed.status == 303
    trusted = settings_with(tmp_path, MEDBOT_TRUSTED_PROXIES="10.9.9.9, 127.0.0.0/8")
    async with serve(services, trusted) as behind_proxy:
        chain = await behind_proxy.browser().login(
            "dr.chen", headers=proxied(f"198.51.100.7, {DOCTOR_PC}, 10.9.9.9"))
        real_ip = await behind_proxy.browser().login("dr.wang",
                                                     headers={"X-Real-IP": DOCTOR_PC})
        assert chain.status == real_ip.status == 303
    assert [e.remote_addr for e in audit(db, events.LOGIN)] == ["127.0.0.1", DOCTOR_PC,
                                                                DOCTOR_PC]


async def test_the_login_throttle_counts_the_real_client(services, world, db,
                                                         tmp_path) -> None:
    trusted = settings_with(tmp_path, MEDBOT_TRUSTED_PROXIES="127.0.0.1")
    async with serve(services, trusted) as console:
        attacker = console.browser()
        for i in range(MAX_FAILURES):
            assert (await attacker.login("dr.li", f"guess {i}",
                                         headers=proxied(ATTACKER))).status == 401
        locked = await attacker.login("dr.li", PASSWORD, headers=proxied(ATTACKER))
        assert locked.status == 401
        # the doctor, at their own computer, is not locked out
        doctor = await console.browser().login("dr.li", headers=proxied(DOCTOR_PC))
        assert (doctor.status, doctor.location) == (303, "/console/")
    async with serve(services, settings_with(tmp_path)) as direct:
        # without a trusted proxy a client cannot rotate its address with a header
        client = direct.browser()
        for i in range(MAX_FAILURES):
            await client.login("dr.chen", f"guess {i}", headers=proxied(f"192.0.2.{i}"))
        rotated = await client.login("dr.chen", PASSWORD, headers=proxied("192.0.2.200"))
        assert rotated.status == 401
    failed = audit(db, events.LOGIN_FAILED)
    assert {e.remote_addr for e in failed[:MAX_FAILURES + 1]} == {ATTACKER}
    assert failed[MAX_FAILURES].detail == "outcome=locked"
    assert failed[-1].detail == "outcome=locked" and failed[-1].remote_addr == "127.0.0.1"


def secure(reply, name: str = "medbot_console_login") -> bool:
    header = next(c for c in reply.set_cookies if c.startswith(f"{name}="))
    return "secure" in {part.strip().split("=")[0].lower() for part in header.split(";")}


async def test_cookies_are_secure_behind_a_tls_proxy(services, world, tmp_path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with serve(services, settings_with(tmp_path)) as direct:
        assert not secure(await direct.browser().get("/console/login", headers=https))
    trusted = settings_with(tmp_path, MEDBOT_TRUSTED_PROXIES="127.0.0.1")
    async with serve(services, trusted) as behind_proxy:
        browser = behind_proxy.browser()
        assert secure(await browser.get("/console/login", headers=https))
        login = await browser.login("dr.li", headers=https)
        assert secure(login, "medbot_console_session")
        assert not secure(await behind_proxy.browser().get("/console/login"))
    flagged = settings_with(tmp_path, MEDBOT_CONSOLE_SECURE_COOKIES="true")
    async with serve(services, flagged) as configured:
        assert secure(await configured.browser().get("/console/login"))


@pytest.mark.parametrize("env", [{"MEDBOT_CONSOLE_SECURE_COOKIES": "sometimes"},
                                 {"MEDBOT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}])
def test_a_bad_proxy_setting_stops_the_console(tmp_path, env) -> None:
    with pytest.raises(ConfigError) as error:
        Console(settings_with(tmp_path, **env))
    assert next(iter(env)) in str(error.value)


@pytest.mark.parametrize("peer,headers,expected", [
    ("10.0.0.2", {"x-forwarded-for": "1.1.1.1, 2.2.2.2"}, "2.2.2.2"),
    ("10.0.0.2", {"x-forwarded-for": "1.1.1.1, 10.0.0.7"}, "1.1.1.1"),
    ("10.0.0.2", {"x-forwarded-for": "not-an-ip, 10.0.0.7"}, "10.0.0.2"),
    ("10.0.0.2", {"x-forwarded-for": "[2001:db8::1]:443"}, "2001:db8::1"),
    ("10.0.0.2", {"x-real-ip": "3.3.3.3"}, "3.3.3.3"),
    ("10.0.0.2", {}, "10.0.0.2"),
    ("192.0.2.1", {"x-forwarded-for": "1.1.1.1", "x-real-ip": "3.3.3.3"}, "192.0.2.1"),
    ("::ffff:10.0.0.2", {"x-forwarded-for": "4.4.4.4"}, "4.4.4.4"),
])
def test_client_address(tmp_path, peer, headers, expected) -> None:
    config = ConsoleConfig.from_settings(settings_with(tmp_path,
                                                       MEDBOT_TRUSTED_PROXIES="10.0.0.0/8"))
    assert config.client_address(peer, headers) == expected


# -- sessions end with a password reset or a disable ---------------------------------------

async def test_reset_and_disable_end_the_web_session_and_the_stream(console, world, db,
                                                                    services) -> None:
    hid = world.handoff("p-reset", "cardiology")
    li = await signed_in(console, "dr.li")
    await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    async with console.http.get(stream_url(console, hid), headers=cookie(li)) as response:
        await asyncio.to_thread(services.staff.set_password, "dr.li", "a brand new passphrase")
        assert (await read_until_end(response))[-1]["event"] == "end"
    assert (await li.get("/console/")).location == "/console/login"
    assert (await console.browser().login("dr.li")).status == 401  # the old password
    li = console.browser()
    assert (await li.login("dr.li", "a brand new passphrase")).status == 303
    await asyncio.to_thread(services.staff.set_active, "dr.li", False)
    assert (await li.get("/console/")).location == "/console/login"
    refused = await console.browser().login("dr.li", "a brand new passphrase")
    assert refused.status == 401 and t("utter_console_login_failed", "zh") in refused.text
    with db.begin() as session:
        details = [e.detail for e in session.execute(select(AuditEvent).where(
            AuditEvent.action == events.LOGIN_FAILED)).scalars()]
    assert details == ["outcome=bad_password", "outcome=inactive"]
