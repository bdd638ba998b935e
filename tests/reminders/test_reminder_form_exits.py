"""Issue 15: the medication reminder form can be left, and says nothing was saved."""

from __future__ import annotations

import pytest

from actions.reminders import ActionConfirmMedicationReminder, Services, \
    ValidateMedicationReminderForm
from tests.forms import answer
from tests.reminders.conftest import Stack
from tests.reminders.test_actions import reminders, run, services, tracker  # noqa: F401


@pytest.mark.parametrize(("slot", "text", "lang"), [
    ("reminder_drug", "算了", "zh"), ("reminder_dose", "不用了", "zh"),
    ("reminder_schedule", "never mind", "en"), ("reminder_dose", "stop", "en")])
def test_the_reminder_form_can_be_left(stack: Stack, services: Services, slot, text, lang):
    said, slots = answer(ValidateMedicationReminderForm(services), slot, text,
                         {"reminder_drug": "amlodipine"}, lang=lang, sender="wechat:o_wx_1")
    assert said == [] and slots["requested_slot"] is None
    assert slots["form_exit"] == "medication_reminder_form" and slots[slot] is None
    messages, after = run(ActionConfirmMedicationReminder(services),
                          tracker(text, {**slots, "reminder_drug": "amlodipine"}, lang=lang))
    assert [m["response"] for m in messages] == ["utter_reminder_discarded"]
    assert after["form_exit"] is None and after["reminder_pending"] is None
    assert reminders(stack) == 0


def test_a_question_inside_the_reminder_form_is_not_the_dose(stack: Stack, services: Services):
    said, slots = answer(ValidateMedicationReminderForm(services), "reminder_dose",
                         "医院几点开门？", {"reminder_drug": "amlodipine"})
    kinds = [m["response"] for m in said]
    assert kinds[0].startswith("utter_hospital_") and kinds[-1] == "utter_form_resume"
    assert slots == {"reminder_dose": None}
