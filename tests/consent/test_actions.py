"""Data-rights and reminder actions with injected services: the core decides, nothing
irreversible runs in the action, and a consent refusal is answered in the patient's
language. (Fails on main: action_delete_my_data deleted everything on "删了吧" and
sent the erase signal; a reminder was saved after "不同意".)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.handoff import ActionDeleteMyData, ActionWithdrawConsent
from actions.handoff import Services as HandoffServices
from actions.reminders import ActionRecordReading, ActionSaveMedicationReminder
from actions.reminders import Services as ReminderServices
from bot.consent.confirm import SensitiveActions
from bot.consent.rights import ERASE_SIGNAL, DataRightsService
from bot.handoff.factory import consent_service, handoff_service
from bot.handoff.offers import HandoffOffers
from bot.hospital import HospitalInfo
from bot.store.models import Patient
from bot.store.reminder_models import MedicationReminder, Reading
from tests.consent.helpers import decide
from tests.reminders.conftest import Stack, local, make_stack

SENDER = "o_act_1"


def tracker(text: str, lang: str = "zh", slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        sender_id=f"wechat:{SENDER}", slots={"language": lang, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "delete_my_data"}, "entities": []},
        events=[{"event": "user", "text": text}], paused=False, followup_action=None,
        active_loop={}, latest_action_name="action_listen")


def run(action, t: Tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages


@pytest.fixture
def stack(db):
    s = make_stack(db, local(2026, 11, 22, 9, 0), consent=None)
    yield s
    for worker in s.workers:
        worker.close()


@pytest.fixture
def handoff_services(stack: Stack) -> HandoffServices:
    consent = consent_service()
    rights = DataRightsService(stack.db, consent, HospitalInfo.load())
    return HandoffServices(HandoffOffers(consent, handoff_service(stack.db)), rights,
                           SensitiveActions(stack.db, rights, stack.service,
                                            clock=stack.clock.now))


def _state(stack: Stack) -> tuple[int, int, bool]:
    with stack.db.begin() as s:
        active = s.execute(select(func.count()).select_from(MedicationReminder).where(
            MedicationReminder.status == "active")).scalar_one()
        readings = s.execute(select(func.count()).select_from(Reading)).scalar_one()
        locked = s.execute(select(Patient.access_locked_at)).scalar_one() is not None
    return active, readings, locked


def _reminder_just_set(stack: Stack) -> None:
    decide(stack.db, "wechat", SENDER, "granted")
    stack.readings.record("wechat", SENDER, "血压145/95")
    stack.service.create("wechat", SENDER, stack.service.draft("缬沙坦", "80mg", "每天早上7点"),
                         "zh")


@pytest.mark.parametrize("text,lang", [("删了吧", "zh"), ("actually delete that", "en")])
def test_delete_right_after_a_reminder_asks_about_that_reminder(
        stack: Stack, handoff_services: HandoffServices, text: str, lang: str) -> None:
    _reminder_just_set(stack)
    messages = run(ActionDeleteMyData(handoff_services), tracker(text, lang))
    assert len(messages) == 1 and messages[0].get("custom") != ERASE_SIGNAL
    assert "80mg" in messages[0]["text"]
    assert _state(stack) == (1, 1, False)  # nothing deleted, nothing locked


def test_explicit_delete_all_asks_first(stack: Stack, handoff_services: HandoffServices) -> None:
    _reminder_just_set(stack)
    messages = run(ActionDeleteMyData(handoff_services), tracker("delete all my data", "en"))
    assert "cannot be undone" in messages[0]["text"]
    assert all(m.get("custom") != ERASE_SIGNAL for m in messages)
    assert _state(stack) == (1, 1, False)


def test_withdraw_consent_asks_first(stack: Stack, handoff_services: HandoffServices) -> None:
    _reminder_just_set(stack)
    messages = run(ActionWithdrawConsent(handoff_services), tracker("撤回同意"))
    assert "请确认" in messages[0]["text"]
    assert _state(stack) == (1, 1, False)


def test_a_reminder_is_not_saved_after_no_consent(stack: Stack) -> None:
    decide(stack.db, "wechat", SENDER, "declined")
    draft = stack.service.draft("缬沙坦", "80mg", "每天早上7点")
    services = ReminderServices(stack.service, stack.readings)
    messages = run(ActionSaveMedicationReminder(services),
                   tracker("好的", slots={"reminder_draft": draft.as_slot()}))
    assert messages[0]["response"] == "utter_consent_required_service"
    messages = run(ActionRecordReading(services), tracker("血压145/95", "en"))
    assert messages[0]["response"] == "utter_consent_required_service"
    assert _state(stack) == (0, 0, False)
