"""Irreversible actions are decided in the core and confirmed first (issue 15, harmful
case 1: "删了吧" / "actually delete that" right after setting a reminder ran
delete-my-data at once). Fails on main: ``bot.consent.confirm`` does not exist and
``action_delete_my_data`` deleted everything on the message that asked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.consent.confirm import SensitiveActions, is_explicit_erasure
from bot.consent.rights import DataRightsService
from bot.handoff.factory import consent_service
from bot.hospital import HospitalInfo
from bot.store.consent_models import ConsentPrompt, ConsentRecord
from bot.store.models import Patient
from bot.store.reminder_models import MedicationReminder, Reading
from tests.consent.helpers import decide
from tests.reminders.conftest import Stack, local, make_stack

CH, WHO = "rest", "p-confirm"


@pytest.mark.parametrize("text", [
    "删除我的所有数据", "请删除我的全部个人信息", "清空我的所有记录", "我要注销", "删除我的数据",
    "delete all my data", "Please delete my data", "erase all of my personal data",
    "delete everything about me", "close my account"])
def test_explicit_erasure_phrases(text: str) -> None:
    assert is_explicit_erasure(text)


@pytest.mark.parametrize("text", [
    "删了吧", "删掉", "删除", "删掉那个提醒", "取消吧", "actually delete that", "delete it",
    "delete the reminder", "remove that", "不要删除我的所有数据", "don't delete all my data",
    "你喜欢什么", "好的"])
def test_short_or_ambiguous_messages_are_never_erasure(text: str) -> None:
    assert not is_explicit_erasure(text)


@pytest.fixture
def stack(db):
    s = make_stack(db, local(2026, 11, 22, 9, 0), consent=None)
    yield s
    for worker in s.workers:
        worker.close()


@pytest.fixture
def actions(stack: Stack) -> SensitiveActions:
    rights = DataRightsService(stack.db, consent_service(), HospitalInfo.load())
    return SensitiveActions(stack.db, rights, stack.service, clock=stack.clock.now)


def _patient_with_data(stack: Stack, who: str = WHO) -> None:
    decide(stack.db, CH, who, "granted")
    stack.readings.record(CH, who, "血压145/95")


def _set_reminder(stack: Stack, who: str = WHO, drug: str = "缬沙坦", dose: str = "80mg"):
    view, _ = stack.service.create(CH, who, stack.service.draft(drug, dose, "每天早上7点"), "zh")
    return view


def _counts(stack: Stack) -> tuple[int, int, bool]:
    """(active reminders, readings, access locked)"""
    with stack.db.begin() as s:
        active = s.execute(select(func.count()).select_from(MedicationReminder).where(
            MedicationReminder.status == "active")).scalar_one()
        readings = s.execute(select(func.count()).select_from(Reading)).scalar_one()
        locked = s.execute(select(Patient.access_locked_at)).scalar_one() is not None
    return active, readings, locked


@pytest.mark.parametrize("text,lang,answer", [("删了吧", "zh", "是"),
                                              ("actually delete that", "en", "yes")])
def test_delete_right_after_a_reminder_means_that_reminder(stack: Stack,
                                                           actions: SensitiveActions,
                                                           text: str, lang: str,
                                                           answer: str) -> None:
    _patient_with_data(stack)
    _set_reminder(stack, drug="氨氯地平", dose="5mg")
    stack.clock.advance(hours=2)
    _set_reminder(stack)  # the one just set
    stack.clock.advance(minutes=1)
    question = actions.request_erasure(CH, WHO, text, lang)
    assert ("缬沙坦" in question or "valsartan" in question) and "80mg" in question
    assert ("删除我的所有数据" in question) if lang == "zh" else ("delete all my data" in question)
    assert _counts(stack) == (2, 1, False)  # nothing happened yet
    resolution = actions.resolve(CH, WHO, answer)
    assert resolution is not None and not resolution.erase
    assert _counts(stack) == (1, 1, False)  # that reminder only; readings kept, not locked
    with stack.db.begin() as s:
        assert s.execute(select(MedicationReminder.drug_id).where(
            MedicationReminder.status == "active")).scalar_one() == "amlodipine"


def test_ambiguous_delete_without_a_recent_reminder_asks_what_to_delete(
        stack: Stack, actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    _set_reminder(stack)
    stack.clock.advance(hours=3)
    reply = actions.request_erasure(CH, WHO, "删了吧", "zh")
    assert "您想删除什么" in reply and "删除我的所有数据" in reply
    assert actions.resolve(CH, WHO, "好的") is None  # no question was pending
    assert _counts(stack) == (1, 1, False)


def test_explicit_erasure_names_what_happens_and_runs_only_on_yes(
        stack: Stack, actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    _set_reminder(stack)
    question = actions.request_erasure(CH, WHO, "删除我的所有数据", "zh")
    for named in ("全部个人数据", "用药提醒", "测量记录", "无法撤销", "锁定", "确认"):
        assert named in question
    assert _counts(stack) == (1, 1, False)
    resolution = actions.resolve(CH, WHO, "确认")
    assert resolution is not None and resolution.erase
    assert "已删除" in resolution.replies[0]
    assert _counts(stack) == (0, 0, True)


def test_no_keeps_everything(stack: Stack, actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    actions.request_erasure(CH, WHO, "delete all my data", "en")
    resolution = actions.resolve(CH, WHO, "no")
    assert resolution is not None and "nothing was deleted" in resolution.replies[0]
    assert _counts(stack) == (0, 1, False)


def test_a_later_unrelated_yes_does_not_confirm_a_stale_question(
        stack: Stack, actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    actions.request_erasure(CH, WHO, "删除我的所有数据", "zh")
    assert actions.resolve(CH, WHO, "明天心内科有号吗") is None  # moved on: question dropped
    assert actions.resolve(CH, WHO, "好的") is None
    assert _counts(stack) == (0, 1, False)
    with stack.db.begin() as s:
        assert s.execute(select(ConsentPrompt.status).where(
            ConsentPrompt.purpose == "confirm")).scalar_one() == "dropped"


def test_an_old_question_expires(stack: Stack, actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    actions.request_erasure(CH, WHO, "删除我的所有数据", "zh")
    stack.clock.advance(minutes=11)
    assert actions.resolve(CH, WHO, "确认") is None
    assert _counts(stack) == (0, 1, False)


def test_withdrawal_is_confirmed_and_names_what_stops(stack: Stack,
                                                     actions: SensitiveActions) -> None:
    _patient_with_data(stack)
    _set_reminder(stack)
    question = actions.request_withdrawal(CH, WHO, "zh")
    assert "撤回" in question and "用药提醒" in question and "随访" in question
    with stack.db.begin() as s:
        assert s.execute(select(ConsentRecord.decision).order_by(ConsentRecord.id.desc())
                         .limit(1)).scalar_one() == "granted"
    resolution = actions.resolve(CH, WHO, "确认")
    assert resolution is not None and "已撤回" in resolution.replies[0]
    assert _counts(stack) == (0, 1, False)  # reminders stopped, readings kept
    with stack.db.begin() as s:
        assert s.execute(select(ConsentRecord.decision).order_by(ConsentRecord.id.desc())
                         .limit(1)).scalar_one() == "withdrawn"


def test_withdrawal_with_nothing_granted_asks_nothing(stack: Stack,
                                                      actions: SensitiveActions) -> None:
    decide(stack.db, CH, WHO, "declined")
    assert "无需撤回" in actions.request_withdrawal(CH, WHO, "zh")
    assert actions.resolve(CH, WHO, "好的") is None


def test_cancel_all_reminders_names_each_and_is_confirmed(stack: Stack,
                                                          actions: SensitiveActions) -> None:
    decide(stack.db, CH, WHO, "granted")
    _set_reminder(stack)
    _set_reminder(stack, drug="二甲双胍", dose="500mg")
    question = actions.request_reminder_cancel(CH, WHO, None, "en")
    assert "all 2" in question and "valsartan" in question and "metformin" in question.lower()
    assert _counts(stack)[0] == 2
    resolution = actions.resolve(CH, WHO, "confirm")
    assert resolution is not None and "cancelled" in resolution.replies[0]
    assert _counts(stack)[0] == 0


def test_cancelling_one_drug_keeps_the_others(stack: Stack, actions: SensitiveActions) -> None:
    decide(stack.db, CH, WHO, "granted")
    _set_reminder(stack)
    _set_reminder(stack, drug="二甲双胍", dose="500mg")
    question = actions.request_reminder_cancel(CH, WHO, "valsartan", "zh")
    assert "缬沙坦" in question and "二甲双胍" not in question
    actions.resolve(CH, WHO, "确认")
    assert _counts(stack)[0] == 1

