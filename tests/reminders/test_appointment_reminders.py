"""Appointment reminders, the day before and on the day, sent by the scheduler once,
through the real WeChat sender against the fake API over real HTTP (outside the
48-hour window: the subscription message); a cancelled visit gets none."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.appointments.interface import PatientRef
from bot.appointments.loader import load_schedule
from bot.appointments.local import LocalScheduling
from bot.appointments.schedule import HospitalSchedule
from bot.appointments.service import AppointmentService
from bot.clock import as_utc
from bot.reminders.planner import APPOINTMENT_REMINDERS
from bot.store.appointment_models import Slot
from bot.store.db import Database
from bot.store.reminder_models import ScheduledJob
from bot.wechat.outbound import WeChatOutboundSender
from bot.wechat.sender import WeChatSender
from bot.wechat.subscribe import SubscribeAnswers, SubscriptionCatalog
from bot.wechat.token import DatabaseTokenStore, SharedTokenClient
from channels.wechat.testing import FakeWeChatAPI
from tests.reminders.conftest import Stack, local, make_stack

CATALOG = """
version: "t"
subscribe_url: "https://hospital.example/sub"
kinds:
  appointment:
    name: {zh: 就诊提醒, en: appointment reminders}
    subscribe:
      template_id: "SUB-APPT"
      fields: {thing1: department, time2: time, character_string3: code, thing4: text}
    template:
      template_id: "TPL-APPT"
      fields: {first: text, keyword1: department, keyword2: time, remark: cancel}
"""
OPENID = "oAppt00001"


@pytest.fixture
def world(db: Database, tmp_path: Path):
    start = local(2026, 11, 22, 10, 0)
    stack = make_stack(db, start)
    schedule = HospitalSchedule.load()
    load_schedule(db, schedule, start)
    service = AppointmentService(LocalScheduling(db, schedule), schedule, stack.clock)
    path = tmp_path / "subs.yml"
    path.write_text(CATALOG, encoding="utf-8")
    with FakeWeChatAPI(clock=stack.clock) as api:
        client = SharedTokenClient(api.app_id, api.app_secret, api.base_url,
                                   DatabaseTokenStore(db, "wechat:appt", stack.clock),
                                   clock=stack.clock)
        sender = WeChatSender(client, db, backoff=0.0, clock=stack.clock,
                              catalog=SubscriptionCatalog.load(path))
        stack.router.register(WeChatOutboundSender(sender))
        yield stack, service, api
    for worker in stack.workers:
        worker.close()


def _slot(db: Database, after: object, nth: int = 0) -> Slot:
    with db.begin() as s:
        slot = s.execute(select(Slot).where(Slot.starts_at > after).order_by(
            Slot.starts_at, Slot.id).offset(nth).limit(1)).scalar_one()
        s.expunge(slot)
        return slot


def _jobs(db: Database) -> list[tuple[str, str]]:
    with db.begin() as s:
        return sorted((j.idempotency_key.split(":")[-1], j.status) for j in s.execute(
            select(ScheduledJob).where(ScheduledJob.kind == "appointment")).scalars())


def test_the_day_before_and_the_same_day_reminders_are_sent_once(world) -> None:
    stack, service, api = world
    SubscribeAnswers(stack.db).record(OPENID, "SUB-APPT", "accept")
    slot = _slot(stack.db, stack.clock.now() + timedelta(days=2))
    booking = service.book(PatientRef("wechat", OPENID), str(slot.id), "王芳", "13800001234",
                           "en")
    starts = as_utc(slot.starts_at)
    day_before = starts - dict(APPOINTMENT_REMINDERS)["day_before"]
    # two workers (two processes) plan and run at once: each reminder exists once
    first, second = stack.worker(), stack.worker()
    stack.run_at(day_before - timedelta(minutes=1), first)
    stack.run_at(day_before - timedelta(minutes=1), second)
    assert _jobs(stack.db) == [("day_before", "pending"), ("same_day", "pending")]
    assert api.sent == []
    stack.clock.set(day_before)
    assert second.tick().sent + first.tick().sent == 1
    for worker in (first, second, first):
        stack.run_at(day_before + timedelta(hours=1), worker)
    [sent] = api.sent
    assert sent.path == "message/subscribe/bizsend"  # never wrote in WeChat: no 48 h window
    data = sent.body["data"]
    tz = HospitalSchedule.load().tz
    assert data["time2"]["value"] == starts.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    assert data["character_string3"]["value"] == booking.code
    assert _jobs(stack.db) == [("day_before", "done"), ("same_day", "pending")]
    same_day = starts - dict(APPOINTMENT_REMINDERS)["same_day"]
    stack.run_at(same_day, second)
    stack.run_at(same_day + timedelta(minutes=5), first)
    assert [m.path for m in api.sent] == ["message/subscribe/bizsend"] * 2
    assert _jobs(stack.db) == [("day_before", "done"), ("same_day", "done")]
    stack.run_at(starts + timedelta(days=1))
    assert len(api.sent) == 2


def test_the_reminder_text_names_time_department_and_how_to_cancel(world) -> None:
    stack, service, api = world
    slot = _slot(stack.db, stack.clock.now() + timedelta(days=2))
    booking = service.book(PatientRef("wechat", OPENID), str(slot.id), "王芳", "13800001234",
                           "zh")
    starts = as_utc(slot.starts_at)
    stack.run_at(starts - timedelta(hours=24))
    [sent] = api.sent  # not subscribed: the kind's template message
    assert sent.path == "message/template/send" and sent.body["template_id"] == "TPL-APPT"
    text = sent.body["data"]["first"]["value"]
    local_time = starts.astimezone(HospitalSchedule.load().tz).strftime("%H:%M")
    assert text.startswith(f"就诊提醒：您明天 {local_time} 在")
    assert f"回复“取消预约 {booking.code}”" in text and "2小时" in text
    assert sent.body["data"]["keyword2"]["value"].endswith(local_time)


def test_a_cancelled_visit_gets_no_reminder(world) -> None:
    stack, service, api = world
    patient = PatientRef("wechat", OPENID)
    slot = _slot(stack.db, stack.clock.now() + timedelta(days=1, hours=6))
    booking = service.book(patient, str(slot.id), "王芳", "13800001234", "zh")
    stack.run_at(stack.clock.now() + timedelta(minutes=1))  # planned
    assert [status for _, status in _jobs(stack.db)] == ["pending", "pending"]
    service.cancel(patient, booking.code)  # what "取消预约" in the chat does
    stack.run_at(as_utc(slot.starts_at) - timedelta(hours=1))
    assert api.sent == []
    assert _jobs(stack.db) == [("day_before", "cancelled"), ("same_day", "cancelled")]


def test_a_reminder_whose_time_passed_at_booking_is_not_planned(world) -> None:
    stack, service, api = world
    slot = _slot(stack.db, stack.clock.now() + timedelta(hours=5))
    assert as_utc(slot.starts_at) - stack.clock.now() < timedelta(hours=24)
    service.book(PatientRef("wechat", OPENID), str(slot.id), "王芳", "13800001234", "zh")
    stack.run_at(stack.clock.now() + timedelta(minutes=1))
    assert [when for when, _ in _jobs(stack.db)] == ["same_day"]


def _die_while_sending(db: Database, when: str, at) -> str:
    """The day's job as a worker left it when killed after recording ``sending``."""
    from sqlalchemy import update

    with db.begin() as s:
        job = s.execute(select(ScheduledJob).where(
            ScheduledJob.idempotency_key.like(f"appt:%:{when}"))).scalar_one()
        s.execute(update(ScheduledJob).where(ScheduledJob.id == job.id).values(
            status="sending", claimed_by="dead-worker", lease_until=at))
        return job.idempotency_key


@pytest.mark.parametrize("reached_the_sender", [False, True])
def test_a_job_whose_worker_died_is_sent_only_if_its_send_never_began(
        world, reached_the_sender: bool) -> None:
    stack, service, api = world
    slot = _slot(stack.db, stack.clock.now() + timedelta(days=2))
    service.book(PatientRef("wechat", OPENID), str(slot.id), "王芳", "13800001234", "zh")
    day_before = as_utc(slot.starts_at) - timedelta(hours=24)
    stack.run_at(day_before - timedelta(minutes=5))  # planned
    key = _die_while_sending(stack.db, "day_before", day_before - timedelta(minutes=1))
    if reached_the_sender:  # its outbox row was written: the API may have got it
        from bot.store.wechat_models import WeChatDelivery

        with stack.db.begin() as s:
            s.add(WeChatDelivery(openid=OPENID, kind="appointment", method="template",
                                 text="?", status="pending", attempts=0, idempotency_key=key))
    stack.run_at(day_before)
    with stack.db.begin() as s:
        status = s.execute(select(ScheduledJob.status).where(
            ScheduledJob.idempotency_key == key)).scalar_one()
    if reached_the_sender:
        assert status == "uncertain" and api.sent == []  # never twice
    else:
        assert status == "done" and len(api.sent) == 1  # never lost
        from bot.store.wechat_models import WeChatDelivery

        with stack.db.begin() as s:
            assert s.execute(select(WeChatDelivery.idempotency_key)).scalars().all() == [key]
