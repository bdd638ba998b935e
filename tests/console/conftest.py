"""Console fixtures: services on the test database, accounts, handoffs, a served console."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher

from bot.clock import FakeClock, SystemClock
from bot.console.accounts import Staff, StaffService
from bot.console.audit import AuditLog
from bot.console.cases import CaseService
from bot.console.factory import ConsoleServices
from bot.console.sessions import SessionService
from bot.console.worklists import WorklistService
from bot.handoff.config import HandoffConfig
from bot.handoff.factory import consent_service
from bot.handoff.service import HandoffService
from bot.kb.drugs import load_drugs
from bot.outbound import OutboundError, OutboundMessage, OutboundRouter, SendResult
from bot.reminders.outbox import OutboxSender
from bot.revisits.catalog import load_conditions
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message
from bot.store.repositories import LoggedMessage, PatientRepository, TranscriptService

PASSWORD = "correct horse battery"


class BrokenSender:
    """A channel whose deliveries always fail (like WeChat outside its reply window)."""

    channel = "wechat"

    def __init__(self) -> None:
        self.attempts: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.attempts.append(message)
        raise OutboundError("48 h window closed", retryable=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc))


@pytest.fixture
def broken() -> BrokenSender:
    return BrokenSender()


@pytest.fixture
def services(db: Database, clock: FakeClock, broken: BrokenSender) -> ConsoleServices:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    audit = AuditLog(db, clock)
    handoffs = HandoffService(db, HandoffConfig.load(), clock)
    return ConsoleServices(
        db=db, staff=StaffService(db, clock, hasher=fast), sessions=SessionService(db, clock),
        audit=audit, cases=CaseService(db, handoffs, audit),
        worklists=WorklistService(db, audit, load_conditions(), load_drugs()),
        # the outbox's ad-hoc idempotency key is id(message) + the time: a frozen clock
        # would let a reused id() drop a message as a duplicate
        router=OutboundRouter({"rest": OutboxSender(db, SystemClock()), "wechat": broken}))


@dataclass
class World:
    """Two departments, a doctor in each, a second cardiologist and an admin."""

    services: ConsoleServices
    cardio: Staff
    cardio2: Staff
    neuro: Staff
    admin: Staff
    transcripts: TranscriptService = field(init=False)

    def __post_init__(self) -> None:
        self.transcripts = TranscriptService(self.services.db)

    def handoff(self, external_id: str, department: str, channel: str = "rest",
                said: tuple[str, ...] = ("胸口疼", "I feel dizzy"), consent: bool = False) -> int:
        """A queued handoff of a new patient who said ``said`` first (in the conversation
        the transcript service logs them in, whatever its id format); with ``consent``
        the patient agreed to health-data processing and to this handoff, as through
        the conversation gate."""
        [first, *_] = self.transcripts.log(
            channel, external_id, [LoggedMessage(role="patient", text=text) for text in said])
        handoffs = self.services.cases.handoffs
        with self.services.db.begin() as session:
            conversation = session.get(Message, first).conversation_id
            patient = PatientRepository().get_or_create(session, channel, external_id)
            grants = []
            if consent:
                consents = consent_service()
                for purpose in ("health_data", "handoff"):
                    consents.ask(session, patient, conversation, purpose, "zh")
                    grants.append(consents.pending(session, patient.id, purpose))
            row = handoffs.start(session, patient, conversation, channel,
                                 {"department": department, "reason": "request_human"}, "zh")
            for prompt in grants:
                consents.answer(session, prompt, "granted", first,
                                row.id if prompt.purpose == "handoff" else None)
            return row.id

    def conversation(self, handoff_id: int) -> str:
        with self.services.db.begin() as session:
            return session.get(Handoff, handoff_id).conversation_id


@pytest.fixture
def world(services: ConsoleServices) -> World:
    staff = services.staff
    return World(
        services,
        staff.create("dr.li", "李医生", PASSWORD, "doctor", "cardiology"),
        staff.create("dr.chen", "陈医生", PASSWORD, "doctor", "cardiology"),
        staff.create("dr.wang", "王医生", PASSWORD, "doctor", "neurology"),
        staff.create("admin", "管理员", PASSWORD, "admin", None),
    )


# -- a served console and a cookie-keeping client ---------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    text: str
    headers: Any
    set_cookies: list[str]

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def csrf(self) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        assert found, "no CSRF field on the page"
        return found.group(1)


class Browser:
    """Keeps cookies by hand (aiohttp's jar ignores 127.0.0.1) and never follows redirects."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.cookies: dict[str, str] = {}

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self._call("GET", path, **kwargs)

    async def post(self, path: str, data: dict[str, str] | None = None,
                   csrf: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        form = dict(data or {})
        if csrf is not None:
            form["csrf_token"] = csrf
        return await self._call("POST", path, data=form, headers=headers or {})

    async def _call(self, method: str, path: str, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        async with self.http.request(method, self.base + path, headers=headers,
                                     allow_redirects=False, **kwargs) as resp:
            body = await resp.text()
            raw = resp.headers.getall("Set-Cookie", [])
            for header in raw:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Reply(resp.status, body, resp.headers, raw)

    async def login(self, username: str, password: str = PASSWORD,
                    headers: dict[str, str] | None = None) -> Reply:
        form = await self.get("/console/login", headers=headers or {})
        return await self.post("/console/login", {"username": username, "password": password},
                               csrf=form.csrf(), headers=headers)

    async def csrf_for(self, path: str = "/console/") -> str:
        page = await self.get(path)
        assert page.status == 200, page.text
        return page.csrf()


@dataclass
class Served:
    base: str
    http: aiohttp.ClientSession

    def browser(self) -> Browser:
        return Browser(self.http, self.base)


@asynccontextmanager
async def serve(services: ConsoleServices, settings: Any, **options: float
                ) -> AsyncIterator[Served]:
    """The console blueprint on a bare Sanic app over real HTTP (no Rasa); ``options``
    replace the live stream's timings (``poll_seconds``, ...)."""
    from sanic import Sanic

    from channels.console import console_blueprint

    Sanic.test_mode = True
    app = Sanic(f"console_{uuid.uuid4().hex[:8]}")
    timings = {"poll_seconds": 0.05, "stream_seconds": 5.0, "keepalive_seconds": 1.0,
               **options}
    app.blueprint(console_blueprint(settings, services, **timings))
    port = _free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    await server.start_serving()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            yield Served(f"http://127.0.0.1:{port}", http)
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def console(services: ConsoleServices, settings: Any) -> AsyncIterator[Served]:
    async with serve(services, settings) as served:
        yield served
