"""The persistent scheduler: delivery, nudge, miss, 3 misses, snooze, restarts, grace.

Every test runs on SQLite and PostgreSQL with a controllable clock. The patient
lives in Asia/Shanghai; the clock starts at 2026-11-22 07:00 local (23:00 UTC
the day before), so every schedule here crosses a UTC midnight.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from bot.outbound import OutboundError
from bot.reminders.planner import occurrences
from bot.reminders.service import ReminderDraft
from bot.store.reminder_models import CareTeamFlag, Dose, OutboxMessage, ScheduledJob
from tests.reminders.conftest import Stack, local

OPENID = "o_patient_1"


def create(stack: Stack, text: str = "二甲双胍 500mg 每天两次 吃3天", *, lang: str = "zh",
           channel: str = "wechat", external_id: str = OPENID) -> ReminderDraft:
    draft = stack.service.draft(text, text, text)
    stack.service.create(channel, external_id, draft, lang)
    return draft


def dose_statuses(stack: Stack) -> list[str]:
    with stack.db.begin() as s:
        return list(s.execute(select(Dose.status).order_by(Dose.scheduled_at)).scalars())


def test_reminder_is_delivered_at_local_time_naming_drug_and_dose(stack: Stack) -> None:
    create(stack)
    assert dose_statuses(stack) == ["scheduled"] * 4  # 48 h horizon: 2 days of bid
    assert stack.run_at(local(2026, 11, 22, 7, 59)) == 0
    assert stack.run_at(local(2026, 11, 22, 8, 0)) == 1
    message = stack.sender.sent[0]
    assert message.kind == "reminder" and message.channel == "wechat"
    assert message.external_id == OPENID
    assert "二甲双胍" in message.text and "500mg" in message.text and "08:00" in message.text
    assert message.template_data["drug"] == "二甲双胍"
    assert dose_statuses(stack)[0] == "sent"
    assert stack.run_at(local(2026, 11, 22, 8, 1)) == 0  # never twice


def test_no_reply_gets_one_nudge_then_missed(stack: Stack) -> None:
    create(stack)
    stack.run_at(local(2026, 11, 22, 8, 0))
    assert stack.run_at(local(2026, 11, 22, 8, 59)) == 0
    assert stack.run_at(local(2026, 11, 22, 9, 0)) == 1
    assert "您服用了吗" in stack.sender.sent[-1].text
    assert stack.run_at(local(2026, 11, 22, 10, 0)) == 0  # the miss itself sends nothing
    assert dose_statuses(stack)[0] == "missed"
    assert len(stack.sender.sent) == 2


def test_taken_stops_the_nudge(stack: Stack) -> None:
    create(stack)
    stack.run_at(local(2026, 11, 22, 8, 0))
    stack.clock.set(local(2026, 11, 22, 8, 10))
    outcome = stack.service.respond("wechat", OPENID, "taken")
    assert outcome.status == "taken" and outcome.local_time == "08:00"
    assert stack.run_at(local(2026, 11, 22, 10, 30)) == 0
    assert dose_statuses(stack)[0] == "taken"


def test_snooze_resends_later_and_moves_the_nudge(stack: Stack) -> None:
    create(stack)
    stack.run_at(local(2026, 11, 22, 8, 0))
    stack.clock.set(local(2026, 11, 22, 8, 5))
    outcome = stack.service.respond("wechat", OPENID, "snoozed", snooze=timedelta(minutes=20))
    assert (outcome.status, outcome.minutes, outcome.local_time) == ("snoozed", 20, "08:25")
    assert stack.run_at(local(2026, 11, 22, 8, 24)) == 0
    assert stack.run_at(local(2026, 11, 22, 8, 25)) == 1
    assert "二甲双胍" in stack.sender.sent[-1].text
    assert stack.run_at(local(2026, 11, 22, 9, 0)) == 0  # the old nudge is void
    assert stack.run_at(local(2026, 11, 22, 9, 25)) == 1  # the new one
    assert len(stack.sender.sent) == 3


def test_three_missed_doses_in_a_row_flag_the_care_team_and_tell_the_patient(
        stack: Stack) -> None:
    create(stack)
    for moment in (local(2026, 11, 22, 8, 0), local(2026, 11, 22, 20, 0),
                   local(2026, 11, 23, 8, 0)):
        stack.run_at(moment)
        stack.run_at(moment + timedelta(hours=1))
        stack.run_at(moment + timedelta(hours=2))
    with stack.db.begin() as s:
        flags = s.execute(select(CareTeamFlag)).scalars().all()
    assert [(f.reason, f.status) for f in flags] == [("missed_doses", "open")]
    assert "医护团队" in stack.sender.sent[-1].text
    assert stack.sender.sent[-1].kind == "notice"
    assert dose_statuses(stack)[:3] == ["missed"] * 3


def test_a_taken_dose_breaks_the_streak(stack: Stack) -> None:
    create(stack)
    for i, moment in enumerate((local(2026, 11, 22, 8, 0), local(2026, 11, 22, 20, 0),
                                local(2026, 11, 23, 8, 0))):
        stack.run_at(moment)
        if i == 1:
            stack.service.respond("wechat", OPENID, "taken")
        stack.run_at(moment + timedelta(hours=2))
    with stack.db.begin() as s:
        assert s.execute(select(func.count()).select_from(CareTeamFlag)).scalar() == 0


def test_after_downtime_recent_items_are_sent_and_old_ones_marked_missed(stack: Stack) -> None:
    create(stack)
    # worker down from 07:00 to 20:20: 08:00 is 12 h late, 20:00 is within the 30-min grace
    assert stack.run_at(local(2026, 11, 22, 20, 20)) == 1
    assert "20:00" in stack.sender.sent[0].text
    statuses = dose_statuses(stack)
    assert statuses[:2] == ["missed", "sent"]
    with stack.db.begin() as s:
        first = s.execute(select(Dose).order_by(Dose.scheduled_at)).scalars().first()
        assert first.delivered_at is None  # expired, not counted towards the streak


def test_crash_after_claim_on_non_idempotent_channel_is_not_sent_twice(stack: Stack) -> None:
    create(stack)
    crashing = stack.worker()

    def crash(_ids: list[int]) -> None:
        raise SystemExit("killed between recording the send and sending")

    crashing.after_claim = crash
    stack.clock.set(local(2026, 11, 22, 8, 0))
    with pytest.raises(SystemExit):
        crashing.tick()
    survivor = stack.worker()
    assert stack.run_at(local(2026, 11, 22, 8, 1), survivor) == 0  # lease still held
    assert stack.run_at(local(2026, 11, 22, 8, 3), survivor) == 0  # expired: uncertain
    with stack.db.begin() as s:
        job = s.execute(select(ScheduledJob).where(ScheduledJob.kind == "dose")
                        .order_by(ScheduledJob.due_at)).scalars().first()
        assert job.status == "uncertain"
    assert stack.sender.sent == []
    # treated as delivered: the nudge still follows
    assert stack.run_at(local(2026, 11, 22, 9, 3), survivor) == 1


def test_crash_on_idempotent_channel_is_resent_exactly_once(stack: Stack) -> None:
    create(stack, channel="rest", external_id="cli-abc")
    crashing = stack.worker()
    sent_before_crash: list[int] = []

    def crash_after_send(ids: list[int]) -> None:
        # the message did reach the outbox, then the worker died before marking
        with stack.db.begin() as s:
            for job in s.execute(select(ScheduledJob).where(ScheduledJob.id.in_(ids))).scalars():
                sent_before_crash.append(job.id)
        stack.outbox.send(_message_for(stack, ids[0]))
        raise SystemExit

    crashing.after_claim = crash_after_send
    stack.clock.set(local(2026, 11, 22, 8, 0))
    with pytest.raises(SystemExit):
        crashing.tick()
    survivor = stack.worker()
    stack.run_at(local(2026, 11, 22, 8, 5), survivor)
    with stack.db.begin() as s:
        rows = s.execute(select(OutboxMessage)).scalars().all()
    assert len(rows) == 1 and "二甲双胍" in rows[0].text
    assert stack.outbox.poll("cli-abc") == [
        {"id": rows[0].id, "kind": "reminder", "language": "zh", "text": rows[0].text}]


def _message_for(stack: Stack, job_id: int):
    from bot.store.models import Patient

    with stack.db.begin() as s:
        job = s.get(ScheduledJob, job_id)
        patient = s.get(Patient, job.patient_id)
        _, message = stack.jobs.prepare(s, job, patient, stack.clock.now())
        s.rollback()
    return message


def test_restart_mid_schedule_loses_nothing(stack: Stack) -> None:
    create(stack)
    first = stack.worker()
    assert stack.run_at(local(2026, 11, 22, 8, 0), first) == 1
    first.close()
    stack.workers.remove(first)
    second = stack.worker()  # a new process: state comes only from the database
    assert stack.run_at(local(2026, 11, 22, 9, 0), second) == 1  # nudge
    assert stack.run_at(local(2026, 11, 22, 20, 0), second) == 1  # next dose
    assert len(stack.sender.sent) == 3


def test_retryable_failure_is_retried_and_not_lost(stack: Stack) -> None:
    create(stack)
    stack.sender.fail_next = OutboundError("api busy", retryable=True)
    assert stack.run_at(local(2026, 11, 22, 8, 0)) == 0
    assert stack.run_at(local(2026, 11, 22, 8, 0, 4)) == 0  # backing off
    assert stack.run_at(local(2026, 11, 22, 8, 0, 6)) == 1
    assert len(stack.sender.sent) == 1


def test_pause_and_cancel_stop_future_reminders(stack: Stack) -> None:
    create(stack)
    stack.service.set_status("wechat", OPENID, "paused")
    assert stack.run_at(local(2026, 11, 22, 20, 0)) == 0
    stack.service.set_status("wechat", OPENID, "active")
    assert stack.run_at(local(2026, 11, 23, 8, 0)) == 1
    stack.service.set_status("wechat", OPENID, "cancelled", drug_id="metformin")
    assert stack.service.list("wechat", OPENID) == []
    assert stack.run_at(local(2026, 11, 23, 20, 0)) == 0


def test_planning_rolls_forward_and_the_course_ends(stack: Stack) -> None:
    create(stack)  # 3 days: 22, 23, 24 Nov
    for day in (22, 23, 24, 25, 26):
        for hour in (8, 20):
            stack.run_at(local(2026, 11, day, hour, 0))
            stack.service.respond("wechat", OPENID, "taken") if day <= 24 else None
    assert len(stack.sender.sent) == 6
    with stack.db.begin() as s:
        assert s.execute(select(func.count()).select_from(Dose)).scalar() == 6


def test_every_8_hours_crosses_local_midnight() -> None:
    times = [time(8), time(16), time(0)]
    start = local(2026, 11, 22, 7, 0)
    got = occurrences(times, "Asia/Shanghai", start.date(), None, start,
                      start + timedelta(hours=24))
    assert got == [local(2026, 11, 22, 8), local(2026, 11, 22, 16), local(2026, 11, 23, 0)]


def test_pausing_after_delivery_neither_nudges_nor_counts_a_miss(stack: Stack) -> None:
    create(stack)
    stack.run_at(local(2026, 11, 22, 8, 0))
    stack.service.set_status("wechat", OPENID, "paused")
    assert stack.run_at(local(2026, 11, 22, 10, 0)) == 0
    assert dose_statuses(stack)[0] == "sent"


def test_a_crashing_sender_fails_the_job_without_stopping_the_worker(stack: Stack) -> None:
    create(stack)
    stack.sender.fail_next = RuntimeError("bug in a sender")  # type: ignore[assignment]
    assert stack.run_at(local(2026, 11, 22, 8, 0)) == 0
    with stack.db.begin() as s:
        job = s.execute(select(ScheduledJob).where(ScheduledJob.kind == "dose")
                        .order_by(ScheduledJob.due_at)).scalars().first()
        assert job.status == "failed" and "bug in a sender" in job.last_error
    assert stack.run_at(local(2026, 11, 22, 20, 0)) == 1  # the next dose still goes out
