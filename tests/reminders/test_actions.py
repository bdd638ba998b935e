"""The reminder actions, called the way rasa_sdk calls them (no trained model)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.reminders import (
    ActionCancelMedicationReminder,
    ActionConfirmMedicationReminder,
    ActionEnrolFollowup,
    ActionListMedicationReminders,
    ActionOfferFollowup,
    ActionRecordDoseTaken,
    ActionRecordReading,
    ActionSaveMedicationReminder,
    ActionSnoozeReminder,
    ActionStartMedicationReminder,
    Services,
    ValidateMedicationReminderForm,
)
from bot.consent.confirm import SensitiveActions
from bot.consent.rights import DataRightsService
from bot.handoff.factory import consent_service, handoff_service
from bot.hospital import HospitalInfo
from bot.handoff.offers import HandoffOffers
from bot.store.reminder_models import CareTeamFlag, MedicationReminder
from tests.reminders.conftest import Stack, local

SENDER = "o_wx_1"


def tracker(text: str, slots: dict[str, Any] | None = None, lang: str = "zh",
            entities: list[dict] | None = None) -> Tracker:
    return Tracker(
        sender_id=f"wechat:{SENDER}", slots={"language": lang, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "x"}, "entities": entities or []},
        events=[{"event": "user", "text": text, "input_channel": "wechat"}], paused=False,
        followup_action=None, active_loop={}, latest_action_name="action_listen")


def run(action, t: Tracker) -> tuple[list[dict], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


@pytest.fixture
def services(stack: Stack) -> Services:
    offers = HandoffOffers(consent_service(), handoff_service(stack.db))
    rights = DataRightsService(stack.db, consent_service(), HospitalInfo.load())
    return Services(stack.service, stack.readings, offers,
                    SensitiveActions(stack.db, rights, stack.service, clock=stack.clock.now))


def reminders_with_status(stack: Stack, status: str) -> int:
    with stack.db.begin() as s:
        return s.execute(select(func.count()).select_from(MedicationReminder).where(
            MedicationReminder.status == status)).scalar()


def reminders(stack: Stack) -> int:
    with stack.db.begin() as s:
        return s.execute(select(func.count()).select_from(MedicationReminder)).scalar()


def test_zh_sentence_to_saved_reminder(stack: Stack, services: Services) -> None:
    text = "提醒我吃二甲双胍，每次500mg，每天三次饭后，吃14天"
    _, slots = run(ActionStartMedicationReminder(services), tracker(text))
    assert slots["reminder_drug"] == "metformin"
    assert slots["reminder_dose"] and slots["reminder_schedule"]
    messages, confirm = run(ActionConfirmMedicationReminder(services), tracker(text, slots))
    assert messages[0]["response"] == "utter_reminder_confirm"
    assert messages[0]["times"] == "08:30、12:30、18:30" and messages[0]["drug"] == "二甲双胍"
    assert reminders(stack) == 0  # nothing saved before the patient says yes
    assert confirm["reminder_pending"] == "reminder"
    messages, after = run(ActionSaveMedicationReminder(services), tracker("是的", confirm))
    assert messages[0]["response"] == "utter_reminder_saved"
    assert messages[0]["first"] == "11-22 08:30"
    assert reminders(stack) == 1 and after["reminder_draft"] is None


def test_en_answers_through_the_form(stack: Stack, services: Services) -> None:
    _, slots = run(ActionStartMedicationReminder(services),
                   tracker("set a medication reminder", lang="en"))
    assert slots["reminder_drug"] is None and slots["reminder_schedule"] is None
    form = ValidateMedicationReminderForm(services)
    d = CollectingDispatcher()
    t = tracker("x", lang="en")
    assert form.validate_reminder_drug("Norvasc", d, t, {}) == {"reminder_drug": "amlodipine"}
    assert form.validate_reminder_dose("5 mg", d, t, {}) == {"reminder_dose": "5 mg"}
    schedule = "every night before bed"
    assert form.validate_reminder_schedule(schedule, d, t, {}) == {"reminder_schedule": schedule}
    slots = {"reminder_drug": "amlodipine", "reminder_dose": "5 mg", "reminder_schedule": schedule}
    messages, confirm = run(ActionConfirmMedicationReminder(services),
                            tracker("x", slots, lang="en"))
    assert messages[0]["times"] == "22:00" and messages[0]["meal"] == " (at bedtime)"
    run(ActionSaveMedicationReminder(services), tracker("yes", confirm, lang="en"))
    messages, _ = run(ActionListMedicationReminders(services), tracker("my reminders", lang="en"))
    assert messages[0]["response"] == "utter_reminder_list"
    assert "amlodipine 5 mg, every day at 22:00" in messages[0]["items"]

    # a pause or a resume that the NLU read as a list request still pauses or resumes
    messages, _ = run(ActionListMedicationReminders(services),
                      tracker("pause my amlodipine reminder", lang="en"))
    assert messages[0]["response"] == "utter_reminder_paused"
    messages, _ = run(ActionListMedicationReminders(services), tracker("my reminders", lang="en"))
    assert "amlodipine" in messages[0]["items"] and messages[0]["items"].count("paused") == 1
    messages, _ = run(ActionListMedicationReminders(services),
                      tracker("resume my reminders", lang="en"))
    assert messages[0]["response"] == "utter_reminder_resumed"


def test_bad_answers_get_a_bilingual_error_and_write_nothing(stack: Stack,
                                                             services: Services) -> None:
    form = ValidateMedicationReminderForm(services)
    d = CollectingDispatcher()
    t = tracker("x")
    assert form.validate_reminder_drug("神仙水", d, t, {}) == {"reminder_drug": None}
    assert form.validate_reminder_schedule("有空就吃", d, t, {}) == {"reminder_schedule": None}
    assert [m["response"] for m in d.messages] == ["utter_reminder_error_drug",
                                                   "utter_reminder_error_schedule"]
    assert d.messages[0]["value"] == "神仙水"
    assert reminders(stack) == 0


def test_taken_and_snooze_answers(stack: Stack, services: Services) -> None:
    draft = stack.service.draft("二甲双胍", "500mg", "每天两次")
    stack.service.create("wechat", SENDER, draft, "zh")
    stack.run_at(local(2026, 11, 22, 8, 0))
    stack.clock.set(local(2026, 11, 22, 8, 3))
    messages, _ = run(ActionSnoozeReminder(services), tracker("半小时后再提醒我"))
    assert (messages[0]["response"], messages[0]["minutes"], messages[0]["time"]) == (
        "utter_dose_snoozed", 30, "08:33")
    stack.run_at(local(2026, 11, 22, 8, 33))
    messages, _ = run(ActionRecordDoseTaken(services), tracker("吃过了"))
    assert messages[0]["response"] == "utter_dose_taken" and messages[0]["drug"] == "二甲双胍"
    messages, _ = run(ActionRecordDoseTaken(services), tracker("吃过了"))
    assert messages[0]["response"] == "utter_dose_none_outstanding"


def test_pause_and_cancel(stack: Stack, services: Services) -> None:
    stack.service.create("wechat", SENDER, stack.service.draft("aspirin", "100mg", "qd"), "zh")
    messages, _ = run(ActionCancelMedicationReminder(services), tracker("暂停阿司匹林的提醒"))
    assert messages[0]["response"] == "utter_reminder_paused"
    # cancelling is irreversible: named and confirmed first (issue 15; on main it ran at once)
    messages, _ = run(ActionCancelMedicationReminder(services), tracker("取消提醒"))
    assert "请确认" in messages[0]["text"] and "阿司匹林" in messages[0]["text"]
    assert reminders_with_status(stack, "paused") == 1
    resolution = services.confirmations.resolve("wechat", SENDER, "确认")
    assert resolution is not None and "已取消" in resolution.replies[0]
    assert reminders_with_status(stack, "paused") == 0
    messages, _ = run(ActionCancelMedicationReminder(services), tracker("取消提醒"))
    assert "没有" in messages[0]["text"]


def test_abnormal_bp_escalates_and_offers_a_doctor(stack: Stack, services: Services) -> None:
    messages, _ = run(ActionRecordReading(services), tracker("BP 185 over 115", lang="en"))
    assert messages[0]["response"] == "utter_reading_bp_urgent"
    # then the doctor offer: lead-in and the versioned handoff consent text
    assert "care team" in messages[1]["text"] and "licensed doctor" in messages[2]["text"]
    assert messages[0]["reading"] == "BP 185/115 mmHg"
    with stack.db.begin() as s:
        assert s.execute(select(func.count()).select_from(CareTeamFlag)).scalar() == 1
    messages, _ = run(ActionRecordReading(services), tracker("最近的血压记录"))
    assert "最近 7 天" in messages[0]["text"]


def test_followup_offer_and_enrolment(stack: Stack, services: Services) -> None:
    messages, slots = run(ActionOfferFollowup(services),
                          tracker("我有高血压", entities=[{"entity": "condition",
                                                          "value": "hypertension"}]))
    assert messages[0]["response"] == "utter_followup_offer"
    assert slots == {"followup_plan": "hypertension_bp_weekly", "reminder_pending": "followup"}
    messages, _ = run(ActionEnrolFollowup(services), tracker("好的", slots))
    assert messages[0]["response"] == "utter_followup_enrolled"
    assert messages[0]["first"] == "11-23 08:00"


def test_asking_for_bp_follow_up_in_chat_offers_the_plan(stack: Stack,
                                                         services: Services) -> None:
    messages, slots = run(ActionStartMedicationReminder(services), tracker("提醒我每周测血压"))
    assert messages[0]["response"] == "utter_followup_offer"
    assert slots["followup_plan"] == "hypertension_bp_weekly"
    assert slots["reminder_pending"] == "followup"
    form = ValidateMedicationReminderForm(services)
    required = asyncio.run(form.required_slots(
        ["reminder_drug", "reminder_dose", "reminder_schedule"], CollectingDispatcher(),
        tracker("x", slots), {}))
    assert required == []
    messages, _ = run(ActionConfirmMedicationReminder(services), tracker("x", slots))
    assert messages == []
    messages, _ = run(ActionOfferFollowup(services), tracker("check my sugar", lang="en"))
    assert messages[0]["plan"] == "fasting glucose on Mon, Wed and Fri"


def test_every_reminder_domain_action_is_registered() -> None:
    import yaml
    from rasa_sdk.executor import ActionExecutor

    from bot.settings import PROJECT_ROOT

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((PROJECT_ROOT / "bot/domain/reminders.yml").read_text("utf-8"))
    assert set(domain["actions"]) <= set(executor.actions)


# ---- issue 15 item 4: values come only from the message that states them

def form_turn(services: Services, text: str, slots: dict[str, Any], asked: str | None,
              lang: str = "en") -> dict[str, Any]:
    """One form turn as Rasa runs it: the asked slot's ``from_text`` candidate is the
    message, then ``validate_medication_reminder_form``; returns the slots after it."""
    import yaml

    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "bot/domain/reminders.yml").read_text("utf-8"))
    candidate = [{"event": "slot", "name": asked, "value": text}] if asked else []
    state = {**slots, "requested_slot": asked, **({asked: text} if asked else {})}
    t = Tracker(
        sender_id=f"wechat:{SENDER}", slots={"language": lang, **state},
        latest_message={"text": text, "intent": {"name": "set_medication_reminder"},
                        "entities": []},
        events=[{"event": "user", "text": text}, *candidate], paused=False,
        followup_action=None, active_loop={"name": "medication_reminder_form"},
        latest_action_name="action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateMedicationReminderForm(services).run(dispatcher, t, domain))
    return {**state, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}


def confirmed(services: Services, slots: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    messages, _ = run(ActionConfirmMedicationReminder(services), tracker("x", slots, lang=lang))
    assert messages[0]["response"] == "utter_reminder_confirm", messages
    return messages[0]


@pytest.mark.parametrize(("lang", "first", "rejected", "new", "drug", "dose", "times"), [
    ("en", "remind me to take amlodipine 5mg", "every week",
     "remind me to take valsartan 80mg every morning at 7", "valsartan", "80mg", "07:00"),
    ("zh", "提醒我吃氨氯地平 5mg", "每周一次",
     "提醒我每天早上7点吃缬沙坦80mg", "缬沙坦", "80mg", "07:00"),
])
def test_a_new_request_inside_the_form_carries_nothing_from_the_abandoned_one(
        stack: Stack, services: Services, lang: str, first: str, rejected: str,
        new: str, drug: str, dose: str, times: str) -> None:
    """The issue's case: 5 mg of an earlier request (whose schedule was refused) was
    confirmed for "valsartan 80mg every morning at 7", at 08:00."""
    _, slots = run(ActionStartMedicationReminder(services), tracker(first, lang=lang))
    assert slots["reminder_drug"] == "amlodipine" and slots["reminder_dose"]
    slots = form_turn(services, rejected, slots, "reminder_schedule", lang)
    assert slots["reminder_schedule"] is None  # refused: only daily schedules
    slots = form_turn(services, new, slots, "reminder_schedule", lang)
    shown = confirmed(services, slots, lang)
    assert (shown["drug"], shown["dose"], shown["times"]) == (drug, dose, times)


def test_a_new_drug_without_a_dose_is_asked_for_its_dose(stack: Stack,
                                                         services: Services) -> None:
    _, slots = run(ActionStartMedicationReminder(services),
                   tracker("remind me to take amlodipine 5mg", lang="en"))
    slots = form_turn(services, "actually make it valsartan", slots, "reminder_schedule")
    assert slots["reminder_drug"] == "valsartan"
    assert slots["reminder_dose"] is None  # 5 mg was amlodipine's: asked again


def test_answers_keep_the_draft_and_a_stated_value_corrects_it(stack: Stack,
                                                                services: Services) -> None:
    _, slots = run(ActionStartMedicationReminder(services), tracker("提醒我吃药，80mg，每天早上7点"))
    assert slots["reminder_drug"] is None
    slots = form_turn(services, "缬沙坦", slots, "reminder_drug", "zh")
    shown = confirmed(services, slots, "zh")
    assert (shown["drug"], shown["dose"], shown["times"]) == ("缬沙坦", "80mg", "07:00")
    # the same drug with another dose: the newest word wins, nothing else changes
    slots = form_turn(services, "缬沙坦160mg 每天晚上9点", {**slots, "reminder_schedule": None},
                      "reminder_schedule", "zh")
    shown = confirmed(services, slots, "zh")
    assert (shown["drug"], shown["dose"], shown["times"]) == ("缬沙坦", "160mg", "21:00")


@pytest.mark.parametrize(("lang", "text", "times"), [
    ("en", "remind me to take valsartan 80mg at 7", "07:00"),
    ("en", "remind me to take valsartan 80mg every morning at 7", "07:00"),
    ("en", "remind me to take valsartan 80mg at 7:30pm", "19:30"),
    ("en", "remind me to take valsartan 80mg every evening at 7", "19:00"),
    ("zh", "提醒我早上7点吃缬沙坦80mg", "07:00"),
    ("zh", "提醒我晚上八点半吃缬沙坦80mg", "20:30"),
])
def test_times_are_kept_as_said_from_the_first_message(stack: Stack, services: Services,
                                                       lang: str, text: str, times: str) -> None:
    _, slots = run(ActionStartMedicationReminder(services), tracker(text, lang=lang))
    shown = confirmed(services, slots, lang)
    assert (shown["dose"], shown["times"]) == ("80mg", times)


def test_symptoms_taken_for_a_dose_answer_start_the_interview(stack: Stack,
                                                              services: Services) -> None:
    """"我爸 stomach 不舒服" read as a skipped dose, with no dose waiting: the patient
    describes symptoms, so the triage interview starts instead of "no reminder waiting"."""
    messages, slots = run(ActionRecordDoseTaken(services), tracker("我爸 stomach 不舒服"))
    assert [m["response"] for m in messages][-1] == "utter_triage_intro"
    assert slots["triage_text"] == "我爸 stomach 不舒服"
    messages, _ = run(ActionRecordDoseTaken(services), tracker("吃了"))
    assert [m["response"] for m in messages] == ["utter_dose_none_outstanding"]
