"""Long-term subscription messages (bizsend) against the fake API over real HTTP: the
YAML catalogue per message kind, the patient's answers from WeChat's events through
the real webhook, the offer in chat, a refusal kept and respected, template messages
as the fallback. Time is an injected clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from bot.clock import FakeClock
from bot.errors import KnowledgeBaseError
from bot.store.db import Database
from bot.store.migrate import alembic_config, current_revision, upgrade
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.subscribe import SubscribeAnswers, SubscriptionCatalog
from bot.wechat.token import DatabaseTokenStore, SharedTokenClient
from channels.wechat.testing import FakeWeChatAPI
from tests.channels.wechat.conftest import Served

START = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
CATALOG = """
version: "t"
subscribe_url: "https://hospital.example/sub"
kinds:
  reminder:
    name: {zh: 用药提醒, en: medication reminders}
    subscribe:
      template_id: "SUB-DOSE"
      fields: {thing1: drug, time3: time, thing4: text}
    template:
      template_id: "TPL-DOSE"
      fields: {first: text, keyword1: drug}
  doctor:
    name: {zh: 医生回复通知, en: doctor's replies}
    template:
      template_id: "TPL-DOCTOR"
      fields: {first: text}
"""
DOSE = {"drug": "缬沙坦胶囊（代文）Valsartan capsules", "dose": "80mg", "time": "2026-12-08 07:00"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def catalog(tmp_path: Path) -> SubscriptionCatalog:
    path = tmp_path / "wechat_subscriptions.yml"
    path.write_text(CATALOG, encoding="utf-8")
    return SubscriptionCatalog.load(path)


def _sender(db: Database, api: FakeWeChatAPI, clock: FakeClock,
            catalog: SubscriptionCatalog) -> WeChatSender:
    client = SharedTokenClient(api.app_id, api.app_secret, api.base_url,
                               DatabaseTokenStore(db, f"wechat:{api.app_id}", clock), clock=clock)
    return WeChatSender(client, db, backoff=0.0, clock=clock, catalog=catalog)


def _wrote(db: Database, clock: FakeClock, openid: str) -> None:
    WeChatState(db, clock).claim(f"msg:{uuid.uuid4().hex}", openid)


def test_a_reminder_outside_the_window_goes_as_a_subscription_message(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock,
        catalog: SubscriptionCatalog) -> None:
    sender = _sender(db, fake_api, clock, catalog)
    _wrote(db, clock, "oSub000001")
    SubscribeAnswers(db, clock).record("oSub000001", "SUB-DOSE", "accept")
    clock.advance(hours=49)
    result = sender.send("oSub000001", "Time for valsartan 80mg", "reminder", DOSE, "en")
    assert (result.status, result.method, result.fallback) == ("sent", "subscribe", "window")
    [sent] = fake_api.sent
    assert sent.path == "message/subscribe/bizsend"
    assert sent.body["template_id"] == "SUB-DOSE" and sent.body["touser"] == "oSub000001"
    assert sent.body["page"] == "https://hospital.example/sub"
    data = sent.body["data"]
    assert data["time3"] == {"value": "2026-12-08 07:00"}
    assert data["thing4"] == {"value": "Time for valsartan …"}  # WeChat's 20 characters
    assert len(data["thing1"]["value"]) == 20 and data["thing1"]["value"].startswith("缬沙坦")


def test_the_sixth_message_within_48_hours_goes_as_a_subscription_message(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock,
        catalog: SubscriptionCatalog) -> None:
    sender = _sender(db, fake_api, clock, catalog)
    SubscribeAnswers(db, clock).record("oSub000002", "SUB-DOSE", "accept")
    _wrote(db, clock, "oSub000002")
    for _ in range(6):
        clock.advance(hours=2)
        assert sender.send("oSub000002", "该吃药了", "reminder", DOSE, "zh").status == "sent"
    assert [m.path for m in fake_api.sent] == ["message/custom/send"] * 5 + [
        "message/subscribe/bizsend"]
    fake_api.fail_next(45047)  # a new message, but WeChat says the quota is used up
    _wrote(db, clock, "oSub000002")
    assert sender.send("oSub000002", "x", "reminder", DOSE, "zh").fallback == "45047"
    assert fake_api.sent[-1].path == "message/subscribe/bizsend"


def test_not_subscribed_the_template_goes_and_the_chat_offers_the_subscription(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock,
        catalog: SubscriptionCatalog) -> None:
    sender = _sender(db, fake_api, clock, catalog)
    _wrote(db, clock, "oSub000003")
    sender.send("oSub000003", "Time for valsartan", "reminder", DOSE, "en")
    offered = fake_api.sent[-1].text
    assert offered.startswith("Time for valsartan\n\nTo keep receiving medication reminders")
    assert "https://hospital.example/sub" in offered
    sender.send("oSub000003", "Again", "reminder", DOSE, "en")
    assert fake_api.sent[-1].text == "Again"  # offered once
    sender.send("oSub000003", "你好", "reply")
    assert fake_api.sent[-1].text == "你好"  # replies never carry it
    clock.advance(days=7)  # unanswered a week later: asked again, then the fallback
    _wrote(db, clock, "oSub000003")
    sender.send("oSub000003", "该吃药了", "reminder", DOSE, "zh")
    assert "为了在48小时后也能收到用药提醒" in fake_api.sent[-1].text
    clock.advance(hours=49)
    result = sender.send("oSub000003", "late", "reminder", DOSE, "zh")
    assert (result.method, fake_api.sent[-1].path) == ("template", "message/template/send")
    assert fake_api.sent[-1].body["template_id"] == "TPL-DOSE"
    assert fake_api.sent[-1].body["data"] == {"first": {"value": "late"},
                                             "keyword1": {"value": DOSE["drug"]}}


async def test_answers_arrive_through_the_webhook_and_a_refusal_is_respected(
        served: Served, clock: FakeClock, catalog: SubscriptionCatalog) -> None:
    import asyncio

    sim = served.sim
    reply = await sim.send(sim.subscribe_answers("oSub000004", {"SUB-DOSE": "accept",
                                                                "SUB-OTHER": "reject"}))
    assert reply.body == "success"
    answers = SubscribeAnswers(served.db)
    assert answers.status("oSub000004", "SUB-DOSE") == "accept"
    assert answers.status("oSub000004", "SUB-OTHER") == "reject"
    # later, in WeChat's settings, the patient turns the reminders off
    await sim.send(sim.subscribe_answers("oSub000004", {"SUB-DOSE": "reject"}, change=True))
    assert answers.status("oSub000004", "SUB-DOSE") == "reject"
    sender = _sender(served.db, served.api, clock, catalog)
    await asyncio.to_thread(_wrote, served.db, clock, "oSub000004")
    sent = await asyncio.to_thread(sender.send, "oSub000004", "take it", "reminder", DOSE, "en")
    assert sent.method == "custom" and served.api.sent[-1].text == "take it"  # not offered
    clock.advance(hours=49)
    late = await asyncio.to_thread(sender.send, "oSub000004", "late", "reminder", DOSE, "en")
    assert late.method == "template"  # never the refused subscription
    assert "message/subscribe/bizsend" not in [m.path for m in served.api.sent]


def test_a_subscription_the_platform_refuses_is_recorded_and_the_template_goes(
        db: Database, fake_api: FakeWeChatAPI, clock: FakeClock,
        catalog: SubscriptionCatalog) -> None:
    sender = _sender(db, fake_api, clock, catalog)
    answers = SubscribeAnswers(db, clock)
    answers.record("oSub000005", "SUB-DOSE", "accept")
    fake_api.fail_next(43101)  # turned off in WeChat, and the event never reached us
    result = sender.send("oSub000005", "take it", "reminder", DOSE, "en")
    assert (result.status, result.method, result.fallback) == ("sent", "template", "window")
    assert answers.status("oSub000005", "SUB-DOSE") == "reject"
    assert [m.path for m in fake_api.sent] == ["message/template/send"]


def test_a_kind_without_any_way_fails_and_is_kept(db: Database, fake_api: FakeWeChatAPI,
                                                   clock: FakeClock,
                                                   catalog: SubscriptionCatalog) -> None:
    sender = _sender(db, fake_api, clock, catalog)
    result = sender.send("oSub000006", "follow-up", "followup", {}, "en")
    assert result.status == "failed" and "'followup'" in result.error
    doctor = sender.send("oSub000006", "Dr Wang replied", "doctor", {}, "en")
    assert doctor.method == "template" and fake_api.sent[-1].body["template_id"] == "TPL-DOCTOR"


def test_the_catalogue_is_checked(tmp_path: Path) -> None:
    shipped = SubscriptionCatalog.load()
    assert set(shipped.kinds) == {"reminder", "followup", "appointment", "doctor"}
    assert all(k.subscribe is None and k.template is None for k in shipped.kinds.values())
    bad = tmp_path / "bad.yml"
    bad.write_text("kinds:\n  reminder:\n    name: {zh: 用药提醒}\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="lacks names"):
        SubscriptionCatalog.load(bad)
    bad.write_text("kinds:\n  reminder:\n    name: {zh: a, en: b}\n"
                   "    subscribe: {template_id: X}\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="needs fields"):
        SubscriptionCatalog.load(bad)


def test_migration_0015_and_downgrade(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store import Base

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert [d for d in compare_metadata(context, Base.metadata)
                if "wechat_subscribe_status" in str(d)] == []
    SubscribeAnswers(db).record("oMig", "T", "reject")
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0014")
    assert current_revision(db) == "0014"
    assert "wechat_subscribe_status" not in inspect(db.engine).get_table_names()
    upgrade(db)
    assert SubscribeAnswers(db).status("oMig", "T") is None
