"""The customer-service quota ledger against the fake API over real HTTP: 5 messages
within 48 h of a patient's message, 3 within a minute of a click or follow, shared by
processes; past it, and on 45015/45047, the template fallback on the same outbox row.
Time is an injected clock."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from bot.clock import FakeClock
from bot.store import Base
from bot.store.db import Database
from bot.store.migrate import alembic_config, current_revision, upgrade
from bot.store.wechat_models import WeChatDelivery
from bot.wechat.quota import EVENT, MESSAGE, QuotaLedger
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.token import DatabaseTokenStore, SharedTokenClient
from channels.wechat.testing import FakeWeChatAPI
from tests.channels.wechat.conftest import Served

START = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def _sender(db: Database, api: FakeWeChatAPI, clock: FakeClock, template_id: str = "TPL"
            ) -> WeChatSender:
    client = SharedTokenClient(api.app_id, api.app_secret, api.base_url,
                               DatabaseTokenStore(db, f"wechat:{api.app_id}", clock), clock=clock)
    return WeChatSender(client, db, template_id=template_id, backoff=0.0, clock=clock)


def _wrote(db: Database, clock: FakeClock, openid: str, grant: str | None = None) -> None:
    """The patient's message (or, with ``grant=EVENT``, a click) reached the webhook."""
    WeChatState(db, clock).claim(f"msg:{uuid.uuid4().hex}" if grant is None
                                 else f"evt:{uuid.uuid4().hex}", openid, grant)


def _rows(db: Database) -> list[tuple[str, str | None, str]]:
    with db.begin() as s:
        return [(r.method, r.fallback, r.status) for r in s.execute(
            select(WeChatDelivery).order_by(WeChatDelivery.id)).scalars()]


def test_the_sixth_message_within_48_hours_goes_as_the_fallback(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock) -> None:
    sender = _sender(db, fake_api, clock)
    _wrote(db, clock, "oQuota0001")
    for number in range(6):
        clock.advance(hours=1)
        result = sender.send("oQuota0001", f"reminder {number}", "reminder")
        assert result.status == "sent"
    assert [m.path for m in fake_api.sent] == ["message/custom/send"] * 5 + [
        "message/template/send"]
    assert _rows(db)[-1] == ("template", "quota", "sent")
    _wrote(db, clock, "oQuota0001")  # the patient writes again: 5 more
    assert sender.send("oQuota0001", "after a new message", "reminder").method == "custom"


def test_a_reminder_outside_the_48_hour_window_goes_as_the_fallback(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock) -> None:
    sender = _sender(db, fake_api, clock)
    _wrote(db, clock, "oQuota0002")
    clock.advance(hours=47, minutes=59)
    assert sender.send("oQuota0002", "inside", "reminder").method == "custom"
    clock.advance(minutes=2)
    result = sender.send("oQuota0002", "outside", "reminder")
    assert (result.status, result.method, result.fallback) == ("sent", "template", "window")
    assert fake_api.sent[-1].body["template_id"] == "TPL"
    never = sender.send("oQuota0003", "never wrote", "reminder")  # no ledger row at all
    assert (never.method, never.fallback) == ("template", "window")


def test_three_within_a_minute_of_a_click(db: Database, fake_api: FakeWeChatAPI,
                                          clock: FakeClock) -> None:
    sender = _sender(db, fake_api, clock)
    _wrote(db, clock, "oQuota0004", grant=EVENT)
    methods = [sender.send("oQuota0004", f"after click {n}").method for n in range(4)]
    assert methods == ["custom"] * 3 + ["template"]
    assert _rows(db)[-1] == ("template", "quota", "sent")
    _wrote(db, clock, "oQuota0004", grant=EVENT)
    clock.advance(seconds=61)  # the click's minute is over
    assert sender.send("oQuota0004", "late").fallback == "window"
    # a click while a message grant is open uses the click's 3 first, then the message's
    _wrote(db, clock, "oQuota0004")
    _wrote(db, clock, "oQuota0004", grant=EVENT)
    assert QuotaLedger(db, clock).remaining("oQuota0004") == (5, 3)
    for _ in range(8):
        assert sender.send("oQuota0004", "x").method == "custom"
    assert sender.send("oQuota0004", "ninth").method == "template"


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_wechat_refusing_a_customer_service_message_takes_the_same_fallback(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock, errcode: int) -> None:
    sender = _sender(db, fake_api, clock)
    _wrote(db, clock, "oQuota0005")
    fake_api.fail_next(errcode)  # e.g. another system on the AppID used the quota
    result = sender.send("oQuota0005", "dose reminder", "reminder")
    assert (result.status, result.method, result.fallback) == ("sent", "template",
                                                               str(errcode))
    assert [m.path for m in fake_api.sent] == ["message/template/send"]
    assert fake_api.sent[0].text == "dose reminder"
    with db.begin() as s:  # one row: the attempt and its fallback, never dropped
        [row] = s.execute(select(WeChatDelivery)).scalars().all()
        assert (row.method, row.fallback, row.status, row.attempts) == (
            "template", str(errcode), "sent", 2)
    # the ledger believes WeChat: no customer-service message until the patient writes
    assert sender.send("oQuota0005", "next", "reminder").fallback == "quota"
    _wrote(db, clock, "oQuota0005")
    assert sender.send("oQuota0005", "after writing", "reminder").method == "custom"


def test_a_fallback_without_a_template_is_failed_and_kept(db: Database, fake_api: FakeWeChatAPI,
                                                         clock: FakeClock) -> None:
    sender = _sender(db, fake_api, clock, template_id="")
    _wrote(db, clock, "oQuota0006")
    fake_api.fail_next(45047)
    result = sender.send("oQuota0006", "hi", "reminder")
    assert result.status == "failed" and "45047" in result.error
    assert _rows(db) == [("template", "45047", "failed")] and fake_api.sent == []
    sender.template_id = "TPL"  # configured later: the retry sends it
    assert [r.status for r in sender.retry_failed()] == ["sent"]
    assert fake_api.sent[-1].path == "message/template/send"


def test_a_failed_customer_service_send_gives_its_message_back(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock) -> None:
    sender = _sender(db, fake_api, clock)
    _wrote(db, clock, "oQuota0007")
    fake_api.fail_next(-1, times=3)  # busy: not delivered, not counted by WeChat
    assert sender.send("oQuota0007", "busy").status == "failed"
    assert QuotaLedger(db, clock).remaining("oQuota0007") == (5, 0)
    assert [r.method for r in sender.retry_failed()] == ["custom"]
    assert QuotaLedger(db, clock).remaining("oQuota0007") == (4, 0)


def test_processes_sending_at_once_never_pass_the_quota(db: Database, db_url: str,
                                                        fake_api: FakeWeChatAPI,
                                                        clock: FakeClock) -> None:
    """Four processes (own engines on one database) send 12 messages to one patient at
    once: exactly 5 customer-service messages between them, the rest by the fallback."""
    engines = [Database(db_url) for _ in range(4)]
    senders = [_sender(own, fake_api, clock) for own in engines]
    _wrote(db, clock, "oQuota0008")
    start = threading.Barrier(12)
    results: list[str] = []

    def send(sender: WeChatSender, number: int) -> None:
        start.wait()
        results.append(sender.send("oQuota0008", f"m{number}", "reminder").method)

    threads = [threading.Thread(target=send, args=(senders[n % 4], n)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["custom"] * 5 + ["template"] * 7
    assert sum(m.path == "message/custom/send" for m in fake_api.sent) == 5
    assert len({m.text for m in fake_api.sent}) == 12  # none lost, none twice
    for own in engines:
        own.dispose()


async def test_the_webhook_opens_the_grants(served: Served) -> None:
    """Through the real webhook: a message opens 5/48 h, a click 3/min, a VIEW nothing."""
    ledger = served.channel.state.quota
    await served.sim.send(served.sim.event("oQuota0009", "VIEW", key="https://x"))
    assert ledger.remaining("oQuota0009") == (0, 0)
    await served.sim.send(served.sim.event("oQuota0009", "CLICK", key="MENU_BOOK"))
    assert ledger.remaining("oQuota0009") == (0, 3)
    await served.sim.send(served.sim.text("oQuota0009", "hello"))
    assert ledger.remaining("oQuota0009") == (5, 3)
    await served.sim.send(served.sim.event("oQuota0010", "subscribe"))
    assert ledger.remaining("oQuota0010") == (0, 3)


def test_migration_0014_creates_the_ledger_and_downgrades(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata)
                 if "wechat_quota" in str(d) or "wechat_outbox" in str(d)]
    assert diffs == []
    QuotaLedger(db).open("oMigrate01", MESSAGE)
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0013")
    assert current_revision(db) == "0013"
    assert "wechat_quota" not in inspect(db.engine).get_table_names()
    assert "fallback" not in {c["name"] for c in inspect(db.engine).get_columns("wechat_outbox")}
    upgrade(db)
    assert QuotaLedger(db).remaining("oMigrate01") == (0, 0)
