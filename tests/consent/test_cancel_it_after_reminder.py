"""Issue 15 harmful case 1, found by tests/conversations/reminders_consent.yml: "cancel it"
right after a reminder was set (NLU: cancel_appointment) answered "You have no upcoming
appointments"; like "删了吧", it means the reminder just set, and is confirmed first."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments.changes import ActionStartCancelAppointment
from bot.consent.confirm import SensitiveActions
from tests.consent.test_confirm import CH, WHO, _counts, _patient_with_data, _set_reminder
from tests.consent.test_confirm import actions, stack  # noqa: F401 - fixtures
from tests.reminders.conftest import Stack


def test_recent_reminder_cancel_asks_about_the_reminder_just_set(
        stack: Stack, actions: SensitiveActions) -> None:  # noqa: F811
    _patient_with_data(stack)
    assert actions.request_recent_reminder_cancel(CH, WHO, "en") is None
    _set_reminder(stack)
    question = actions.request_recent_reminder_cancel(CH, WHO, "en")
    assert question and "valsartan" in question and "delete all my data" in question
    assert _counts(stack) == (1, 1, False)  # asked, nothing done
    assert actions.resolve(CH, WHO, "yes") is not None
    assert _counts(stack) == (0, 1, False)  # that reminder only
    stack.clock.advance(hours=1)
    _set_reminder(stack)
    stack.clock.advance(hours=2)  # no longer "just set"
    assert actions.request_recent_reminder_cancel(CH, WHO, "en") is None


def _start(text: str, confirmations: SensitiveActions, lang: str = "en") -> list[dict]:
    action = ActionStartCancelAppointment(SimpleNamespace(  # a patient with no booking
        appointments=SimpleNamespace(bookings=lambda _patient: [])))
    action.confirmations = confirmations
    tracker = Tracker(
        sender_id=f"{CH}:{WHO}", slots={"language": lang},
        latest_message={"text": text, "intent": {"name": "cancel_appointment"}, "entities": []},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages


@pytest.mark.parametrize("text", ["cancel it", "取消吧"])
def test_cancel_it_after_a_reminder_asks_about_that_reminder(
        stack: Stack, actions: SensitiveActions, text: str) -> None:  # noqa: F811
    _patient_with_data(stack)
    _set_reminder(stack)
    messages = _start(text, actions)
    assert len(messages) == 1 and "80mg" in messages[0]["text"]
    assert _counts(stack) == (1, 1, False)


@pytest.mark.parametrize("text", ["cancel my appointment", "取消预约"])
def test_an_appointment_named_still_says_there_is_none(
        stack: Stack, actions: SensitiveActions, text: str) -> None:  # noqa: F811
    _patient_with_data(stack)
    _set_reminder(stack)
    messages = _start(text, actions)
    assert [m["response"] for m in messages] == ["utter_appointment_list_empty"]


def test_cancel_it_with_no_recent_reminder_says_there_is_no_booking(
        stack: Stack, actions: SensitiveActions) -> None:  # noqa: F811
    _patient_with_data(stack)
    messages = _start("cancel it", actions)
    assert [m["response"] for m in messages] == ["utter_appointment_list_empty"]


def test_confirmations_run_on_the_service_clock(db) -> None:
    """Under MEDBOT_CLOCK_OFFSET (CI at 23:50 or 06:00), "just set" is measured on the
    clock the reminder was created with, not the wall clock."""
    from datetime import datetime, timedelta, timezone

    from bot.handoff.factory import sensitive_actions
    from bot.settings import Settings

    settings = Settings.from_env({"MEDBOT_CLOCK_OFFSET": str(-6 * 3600)})
    confirmations = sensitive_actions(db, settings)
    shifted = confirmations.clock() - datetime.now(timezone.utc)
    assert abs(shifted + timedelta(hours=6)) < timedelta(minutes=1)
