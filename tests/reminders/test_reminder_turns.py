"""Issue 15 (found by tests/conversations/reminders_consent.yml): a reminder is refused
before its form asks anything when there is no health-data consent, and the yes/no
answer to "确认保存吗？" ends the turn (no "抱歉，我没太明白" after "已保存")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.reminders import (
    ANSWERED_EXIT,
    NO_CONSENT_EXIT,
    ActionConfirmMedicationReminder,
    ActionDiscardMedicationReminder,
    ActionRecordDoseSkipped,
    ActionSaveMedicationReminder,
    ActionSnoozeReminder,
    ActionStartMedicationReminder,
    Services,
    ValidateMedicationReminderForm,
)
from bot.errors import ConsentRequiredError
from bot.store.db import Database
from tests.consent.helpers import decide
from tests.reminders.conftest import Stack, local, make_stack
from tests.reminders.test_actions import SENDER, reminders, services, tracker  # noqa: F401



def listens(events: list[dict]) -> bool:
    """The action ends the turn: the next action is action_listen, whatever the policies."""
    last = events[-1] if events else {}
    return last.get("event") == "followup" and last.get("name") == "action_listen"


def events_of(action, t) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def slots_of(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def real(db: Database) -> Iterator[Stack]:
    """The reminder stack with the real consent guard."""
    s = make_stack(db, local(2026, 11, 22, 7, 0), consent=None)
    yield s
    for worker in s.workers:
        worker.close()


@pytest.mark.parametrize("decision", ["declined", "withdrawn", None])
def test_service_requires_consent_before_a_draft(real: Stack, decision: str | None) -> None:
    if decision:
        decide(real.db, "wechat", SENDER, decision)
    with pytest.raises(ConsentRequiredError):
        real.service.require_consent("wechat", SENDER)
    decide(real.db, "wechat", SENDER, "granted")
    real.service.require_consent("wechat", SENDER)  # no exception


def test_reminder_refused_at_once_without_consent(real: Stack) -> None:
    decide(real.db, "wechat", SENDER, "declined")
    services = Services(real.service, real.readings)
    text = "提醒我每天早上8点吃氨氯地平5mg"
    messages, events = events_of(ActionStartMedicationReminder(services), tracker(text))
    assert [m["response"] for m in messages] == ["utter_consent_required_service"]
    slots = slots_of(events)
    assert slots["form_exit"] == NO_CONSENT_EXIT and slots["reminder_drug"] is None

    # the form then has nothing to ask and ends at once ...
    form = ValidateMedicationReminderForm(services)
    t = tracker(text, slots)
    d = CollectingDispatcher()
    fields = ["reminder_drug", "reminder_dose", "reminder_schedule"]
    domain = {"forms": {"medication_reminder_form": {"required_slots": fields}}}
    assert asyncio.run(form.required_slots(fields, d, t, domain)) == []
    nxt = asyncio.run(form.next_requested_slot(d, t, domain))
    assert nxt == {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None}
    # ... and the action after it says nothing more, confirms nothing, saves nothing
    messages, events = events_of(ActionConfirmMedicationReminder(services), t)
    assert messages == [] and slots_of(events)["form_exit"] is None
    assert slots_of(events)["reminder_pending"] is None and listens(events)
    assert reminders(real) == 0


def test_reminder_starts_normally_with_consent(real: Stack) -> None:
    decide(real.db, "wechat", SENDER, "granted")
    services = Services(real.service, real.readings)
    messages, events = events_of(ActionStartMedicationReminder(services),
                                 tracker("提醒我每天早上8点吃氨氯地平5mg"))
    assert messages == []
    slots = slots_of(events)
    assert slots["reminder_drug"] == "amlodipine" and "form_exit" not in slots


def test_save_and_discard_end_the_turn(stack: Stack, services: Services) -> None:  # noqa: F811
    slots = {"reminder_drug": "valsartan", "reminder_dose": "80mg",
             "reminder_schedule": "每天早上7点"}
    _, events = events_of(ActionConfirmMedicationReminder(services), tracker("x", slots))
    confirm = slots_of(events)
    messages, events = events_of(ActionSaveMedicationReminder(services),
                                 tracker("yes please", confirm, lang="en"))
    assert messages[0]["response"] == "utter_reminder_saved" and listens(events)
    assert slots_of(events)["reminder_pending"] is None and reminders(stack) == 1
    messages, events = events_of(ActionDiscardMedicationReminder(services),
                                 tracker("no thanks", confirm, lang="en"))
    assert messages[0]["response"] == "utter_reminder_discarded" and listens(events)


def test_save_refused_when_consent_was_withdrawn_after_the_draft(real: Stack) -> None:
    decide(real.db, "wechat", SENDER, "granted")
    services = Services(real.service, real.readings)
    slots = {"reminder_drug": "valsartan", "reminder_dose": "80mg",
             "reminder_schedule": "每天早上7点"}
    _, events = events_of(ActionConfirmMedicationReminder(services), tracker("x", slots))
    decide(real.db, "wechat", SENDER, "withdrawn")
    messages, events = events_of(ActionSaveMedicationReminder(services),
                                 tracker("是", slots_of(events)))
    assert [m["response"] for m in messages] == ["utter_consent_required_service"]
    assert slots_of(events)["reminder_draft"] is None and listens(events)
    assert reminders(real) == 0


def test_pause_or_resume_read_as_a_new_reminder_changes_the_existing_one(
        stack: Stack, services: Services) -> None:  # noqa: F811
    """"pause my valsartan reminder" (NLU: set_medication_reminder) started the form,
    which asked for a dose and then took "my reminders" for one."""
    stack.service.create("wechat", SENDER, stack.service.draft("缬沙坦", "80mg", "每天早上7点"),
                         "en")
    messages, events = events_of(ActionStartMedicationReminder(services),
                                 tracker("pause my valsartan reminder", lang="en",
                                         entities=[{"entity": "drug", "value": "valsartan"}]))
    assert [m["response"] for m in messages] == ["utter_reminder_paused"]
    assert slots_of(events)["form_exit"] == ANSWERED_EXIT
    assert [v.status for v in stack.service.list("wechat", SENDER)] == ["paused"]
    messages, events = events_of(ActionConfirmMedicationReminder(services),
                                 tracker("x", slots_of(events)))
    assert messages == [] and listens(events)
    messages, _ = events_of(ActionStartMedicationReminder(services), tracker("恢复提醒"))
    assert [m["response"] for m in messages] == ["utter_reminder_resumed"]
    assert [v.status for v in stack.service.list("wechat", SENDER)] == ["active"]


def test_a_new_reminder_naming_a_dose_is_never_taken_for_a_pause(
        stack: Stack, services: Services) -> None:  # noqa: F811
    messages, events = events_of(ActionStartMedicationReminder(services),
                                 tracker("提醒我恢复吃缬沙坦80mg 每天早上7点"))
    assert messages == [] and "form_exit" not in slots_of(events)
    assert slots_of(events)["reminder_dose"]


def test_pause_read_as_a_dose_answer_pauses_the_reminder(stack: Stack,
                                                    services: Services) -> None:  # noqa: F811
    """"先pause一下缬沙坦的reminder" (NLU: snooze_reminder) answered "no reminder waiting"."""
    stack.service.create("wechat", SENDER, stack.service.draft("缬沙坦", "80mg", "每天早上7点"),
                         "zh")
    messages, _ = events_of(ActionSnoozeReminder(services), tracker("先pause一下缬沙坦的reminder"))
    assert [m["response"] for m in messages] == ["utter_reminder_paused"]
    assert [v.status for v in stack.service.list("wechat", SENDER)] == ["paused"]
    messages, _ = events_of(ActionSnoozeReminder(services), tracker("半小时后再提醒我"))
    assert [m["response"] for m in messages] == ["utter_dose_none_outstanding"]
    messages, _ = events_of(ActionRecordDoseSkipped(services), tracker("resume 缬沙坦提醒"))
    assert [m["response"] for m in messages] == ["utter_reminder_resumed"]


def test_resume_the_nlu_was_unsure_of_resumes_the_reminder(stack: Stack,
                                                          services: Services) -> None:  # noqa: F811
    """"resume reminders" fell to nlu_fallback: "I didn't get that" instead of resuming."""
    from actions.handoff import ActionHandleFallback

    stack.service.create("wechat", SENDER, stack.service.draft("缬沙坦", "80mg", "每天早上7点"),
                         "zh")
    fallback = ActionHandleFallback(reminders=services)
    messages, _ = events_of(fallback, tracker("pause my reminders", lang="en"))
    assert [m["response"] for m in messages] == ["utter_reminder_paused"]
    messages, _ = events_of(fallback, tracker("resume reminders", lang="en"))
    assert [m["response"] for m in messages] == ["utter_reminder_resumed"]
    assert [v.status for v in stack.service.list("wechat", SENDER)] == ["active"]


@pytest.mark.parametrize("text", ["my reminders", "show me my reminders", "我的提醒"])
def test_my_reminders_read_as_a_new_reminder_lists_them(stack: Stack, services: Services,  # noqa: F811
                                                       text: str) -> None:
    """"my reminders" (NLU: set_medication_reminder at 0.52) started the form and asked
    which medicine to remind about."""
    stack.service.create("wechat", SENDER, stack.service.draft("缬沙坦", "80mg", "每天早上7点"),
                         "en")
    messages, events = events_of(ActionStartMedicationReminder(services), tracker(text, lang="en"))
    assert [m["response"] for m in messages] == ["utter_reminder_list"]
    assert slots_of(events)["form_exit"] == ANSWERED_EXIT
