"""Medication reminders and follow-up: thin adapters over ``bot.reminders``.

Flow: set_medication_reminder -> action_start_medication_reminder (reads what
the first message already says) -> medication_reminder_form (asks the rest) ->
action_confirm_medication_reminder (the schedule in plain words) -> affirm ->
action_save_medication_reminder. Database work runs in a thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import FORM_EXIT_SLOT, MedbotAction, MedbotFormValidation
from actions.handoff import offer_handoff
from bot.app import App, current_app
from bot.consent.confirm import SensitiveActions
from bot.errors import ConsentRequiredError, NotFoundError, ValidationError
from bot.handoff.offers import HandoffOffers
from bot.i18n import t
from bot.kb.drugs import default_drugs
from bot.reminders import request, sig
from bot.reminders.readings import ReadingService
from bot.reminders.service import ReminderDraft, ReminderInputError, ReminderService

FORM_SLOTS = ("reminder_drug", "reminder_dose", "reminder_schedule")  # request.FIELDS
DRAFT_SLOTS = ("reminder_drug", "reminder_dose", "reminder_schedule", "reminder_draft",
               "reminder_pending", "followup_plan")
# ``form_exit`` when the reminder was refused before its form asked anything (no
# health-data consent): the form ends at once and nothing more is said
NO_CONSENT_EXIT = "medication_reminder_form:no_consent"
# ``form_exit`` when the message was about existing reminders, not a new one ("pause my
# valsartan reminder", read as set_medication_reminder): answered, the form ends at once
ANSWERED_EXIT = "medication_reminder_form:answered"
_ENDED_AT_START = (NO_CONSENT_EXIT, ANSWERED_EXIT)
# After the yes/no answer to "确认保存吗？" the bot waits for the patient. The rules
# that run save/discard are conditioned on ``reminder_pending``, which these actions
# clear, so no policy was sure of the next action: the core fallback then said
# "抱歉，我没太明白" after "已保存" and reverted the turn, leaving the draft pending
# for the next "yes". The turn ends here, explicitly.
LISTEN = FollowupAction("action_listen")


_READING_DEPARTMENT = {"bp": "cardiology", "glucose": "endocrinology"}


@dataclass(frozen=True)
class Services:
    reminders: ReminderService
    readings: ReadingService
    offers: HandoffOffers | None = None  # None: the handoff feature's (actions.handoff)
    confirmations: SensitiveActions | None = None  # None: the handoff feature's


def services_of(app: App) -> Services:
    """The reminder services of the action server's app."""
    return Services(app.reminders, app.readings, app.offers, app.confirmations)


class ReminderAction(MedbotAction):
    """Base: services injected for tests."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or services_of(current_app())

    def stated(self, tracker: Tracker) -> request.Stated:
        """The drug, dose and schedule the latest message states (and nothing older)."""
        return request.read_message(self.latest_text(tracker), self.services.reminders.drugs,
                                    self.entity_values(tracker, "drug"))

    def drug_id(self, tracker: Tracker) -> str | None:
        drugs = self.services.reminders.drugs
        for value in self.entity_values(tracker, "drug"):
            if drug := drugs.resolve(str(value)):
                return drug.id
        drug = drugs.find(self.latest_text(tracker))
        return drug.id if drug else None

    def offer_followup(self, dispatcher: CollectingDispatcher, tracker: Tracker
                       ) -> list[EventType] | None:
        """Offer the plan of the condition named, or of the measure named; None if none."""
        kb, lang = self.services.readings.kb, self.language(tracker)
        text = self.latest_text(tracker).lower()
        plans = [kb.plans.get(str(v)) or kb.plan_for_condition(str(v)) for v in
                 [*self.entity_values(tracker, "condition"), tracker.get_slot("followup_plan")]
                 if v]
        plans += [kb.plan_for_measure(m) for m in request.measures(text)]
        plan = next((p for p in plans if p is not None), None)
        if plan is None:
            return None
        dispatcher.utter_message(response="utter_followup_offer",
                                 plan=plan.name.get(lang, plan.id))
        return [SlotSet("followup_plan", plan.id), SlotSet("reminder_pending", "followup")]

    @staticmethod
    def fail(dispatcher: CollectingDispatcher, exc: ValidationError) -> None:
        dispatcher.utter_message(response=exc.message_key, value=exc.params.get("value", ""))


    async def show_list(self, dispatcher: CollectingDispatcher, tracker: Tracker
                        ) -> list[EventType]:
        """The patient's reminders, paused ones marked."""
        service, lang = self.services.reminders, self.language(tracker)
        views = await asyncio.to_thread(service.list, *self.identity(tracker))
        if not views:
            dispatcher.utter_message(response="utter_reminder_list_empty")
            return []
        items = "\n".join(
            t("utter_reminder_list_item", lang, n=i, **service.describe(v, lang),
              paused=t("utter_reminder_list_paused", lang) if v.status == "paused" else "")
            for i, v in enumerate(views, 1))
        dispatcher.utter_message(response="utter_reminder_list", items=items)
        return []

    async def change_status(self, dispatcher: CollectingDispatcher, tracker: Tracker
                            ) -> list[EventType]:
        """Pause ("暂停", "pause"), resume ("恢复", "resume") or cancel the reminder of the
        medicine named (all when none); a cancellation is irreversible, so it is only
        asked, naming what would end (``bot.consent.confirm``)."""
        status = request.status_change(self.latest_text(tracker))
        service, lang = self.services.reminders, self.language(tracker)
        if status == "cancelled":
            confirmations = self.services.confirmations or current_app().confirmations
            question = await asyncio.to_thread(confirmations.request_reminder_cancel,
                                               *self.identity(tracker), self.drug_id(tracker),
                                               lang)
            dispatcher.utter_message(text=question)
            return []
        try:
            views = await asyncio.to_thread(service.set_status, *self.identity(tracker), status,
                                            self.drug_id(tracker))
        except NotFoundError:
            dispatcher.utter_message(response="utter_reminder_none_to_change")
            return []
        sep = "、" if lang == "zh" else ", "
        names = sep.join(dict.fromkeys(service.describe(v, lang)["drug"] for v in views))
        key = "utter_reminder_paused" if status == "paused" else "utter_reminder_resumed"
        dispatcher.utter_message(response=key, drugs=names)
        return []

    async def show_summary(self, dispatcher: CollectingDispatcher, tracker: Tracker
                           ) -> list[EventType]:
        """The patient's recent doses and readings in plain words."""
        text = await asyncio.to_thread(self.services.readings.summary, *self.identity(tracker),
                                       self.language(tracker))
        dispatcher.utter_message(text=text)
        return []


class ActionStartMedicationReminder(ReminderAction):
    def name(self) -> str:
        return "action_start_medication_reminder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = self.latest_text(tracker)
        events = [SlotSet(slot, None) for slot in DRAFT_SLOTS]
        try:  # no consent: say so now, not after the patient answered every question
            await asyncio.to_thread(self.services.reminders.require_consent,
                                    *self.identity(tracker))
        except ConsentRequiredError as exc:
            dispatcher.utter_message(response=exc.message_key)
            return events + [SlotSet(FORM_EXIT_SLOT, NO_CONSENT_EXIT)]
        if request.pauses_a_reminder(text):
            # "pause my valsartan reminder" is about a reminder that exists: pause or
            # resume it (the form would ask for a dose and swallow every answer)
            await self.change_status(dispatcher, tracker)
            return events + [SlotSet(FORM_EXIT_SLOT, ANSWERED_EXIT)]
        if request.lists_reminders(text):
            # "my reminders" the NLU took for a new reminder: the list, not the form
            await self.show_list(dispatcher, tracker)
            return events + [SlotSet(FORM_EXIT_SLOT, ANSWERED_EXIT)]
        drug = self.drug_id(tracker)
        if not drug and request.wants_followup(text):
            # "提醒我每周测血压": a measurement follow-up, not a medicine; the form then
            # has nothing to ask (see required_slots) and the patient answers yes/no.
            offer = self.offer_followup(dispatcher, tracker)
            if offer is not None:
                return events + offer
        stated = self.stated(tracker)
        return events + [SlotSet(slot, value) for slot, value in
                         zip(FORM_SLOTS, (stated.drug, stated.dose, stated.schedule)) if value]


class ValidateMedicationReminderForm(MedbotFormValidation, ReminderAction):
    def __init__(self, services: Services | None = None) -> None:
        ReminderAction.__init__(self, services)

    def name(self) -> str:
        return "validate_medication_reminder_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        if (tracker.get_slot("reminder_pending") == "followup"
                or tracker.get_slot(FORM_EXIT_SLOT) in _ENDED_AT_START):
            return []  # nothing to ask: the form ends at once
        return domain_slots

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> list[EventType]:
        """Every value the current message states, whichever question it answers.

        The form's own mapping fills only the slot it asked for; a message that also
        names a dose or a time ("valsartan 80mg every morning at 7") sets those too,
        and one naming another drug than the draft's starts the draft over, so no
        value of an earlier, abandoned request is carried into this one.
        """
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        if (tracker.get_slot("reminder_pending") == "followup" or not self.latest_text(tracker)
                or tracker.get_slot(FORM_EXIT_SLOT) in _ENDED_AT_START):
            return events
        asked = tracker.get_slot("requested_slot")
        # the asked slot holds this message's own answer (validated as such); the
        # draft had no value there
        draft = {name: None if slot == asked else tracker.get_slot(slot)
                 for name, slot in zip(request.FIELDS, FORM_SLOTS)}
        after = request.apply(draft, self.stated(tracker))
        return events + [SlotSet(slot, after[name])
                         for name, slot in zip(request.FIELDS, FORM_SLOTS)
                         if after[name] != draft[name] and (slot != asked or after[name])]

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> list[EventType]:
        """The validated answers, and the draft values this message cleared (a new
        request), which the base class leaves out because a cleared slot is no answer."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in events if event.get("event") == "slot"}
        return events + [SlotSet(slot, None) for slot, value in tracker.slots_to_validate().items()
                         if slot in FORM_SLOTS and value is None and slot not in validated]

    def _check(self, parse, slot: str, value: Any, dispatcher: CollectingDispatcher
               ) -> dict[str, Any]:
        try:
            parse(str(value or ""))
        except ReminderInputError as exc:
            self.fail(dispatcher, exc)
            return {slot: None}
        return {slot: value}

    def validate_reminder_drug(self, value, dispatcher, tracker, domain):
        try:
            return {"reminder_drug": self.services.reminders.parse_drug(str(value or ""))}
        except ReminderInputError as exc:
            self.fail(dispatcher, exc)
            return {"reminder_drug": None}

    def validate_reminder_dose(self, value, dispatcher, tracker, domain):
        return self._check(self.services.reminders.parse_dose, "reminder_dose", value, dispatcher)

    def validate_reminder_schedule(self, value, dispatcher, tracker, domain):
        return self._check(self.services.reminders.parse_schedule, "reminder_schedule", value,
                           dispatcher)


class ActionConfirmMedicationReminder(ReminderAction):
    def name(self) -> str:
        return "action_confirm_medication_reminder"

    async def run(self, dispatcher, tracker, domain):
        if tracker.get_slot(FORM_EXIT_SLOT) in _ENDED_AT_START:  # already answered
            return [SlotSet(FORM_EXIT_SLOT, None), *(SlotSet(slot, None) for slot in DRAFT_SLOTS),
                    LISTEN]
        if tracker.get_slot(FORM_EXIT_SLOT) == "medication_reminder_form":  # "算了"
            dispatcher.utter_message(response="utter_reminder_discarded")
            return [SlotSet(FORM_EXIT_SLOT, None), *(SlotSet(slot, None) for slot in DRAFT_SLOTS)]
        if tracker.get_slot("reminder_pending") == "followup":
            return []  # a follow-up plan was offered instead; its yes/no rule takes over
        service, lang = self.services.reminders, self.language(tracker)
        schedule = tracker.get_slot("reminder_schedule") or ""
        try:
            draft = service.draft(tracker.get_slot("reminder_drug") or "",
                                  tracker.get_slot("reminder_dose") or "", schedule)
        except ReminderInputError as exc:
            self.fail(dispatcher, exc)
            return [SlotSet(slot, None) for slot in DRAFT_SLOTS]
        dispatcher.utter_message(response="utter_reminder_confirm",
                                 **service.describe(draft, lang))
        return [SlotSet("reminder_draft", draft.as_slot()), SlotSet("reminder_pending", "reminder")]


class ActionSaveMedicationReminder(ReminderAction):
    def name(self) -> str:
        return "action_save_medication_reminder"

    async def run(self, dispatcher, tracker, domain):
        service, lang = self.services.reminders, self.language(tracker)
        reset = [SlotSet(slot, None) for slot in DRAFT_SLOTS]
        try:
            draft = ReminderDraft.from_slot(tracker.get_slot("reminder_draft") or {})
            view, first = await asyncio.to_thread(service.create, *self.identity(tracker),
                                                  draft, lang)
        except ReminderInputError as exc:
            self.fail(dispatcher, exc)
            return [*reset, LISTEN]
        except ConsentRequiredError as exc:  # withdrawn since the draft: nothing saved
            dispatcher.utter_message(response=exc.message_key)
            return [*reset, LISTEN]
        zone = ZoneInfo(service.config.timezone)
        first_text = first.astimezone(zone).strftime("%m-%d %H:%M") if first else "-"
        dispatcher.utter_message(response="utter_reminder_saved", first=first_text,
                                 drug=service.describe(view, lang)["drug"])
        return [*reset, LISTEN]


class ActionDiscardMedicationReminder(ReminderAction):
    def name(self) -> str:
        return "action_discard_medication_reminder"

    async def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("reminder_pending") == "reminder":
            dispatcher.utter_message(response="utter_reminder_discarded")
        else:
            dispatcher.utter_message(response="utter_ok")
        return [*(SlotSet(slot, None) for slot in DRAFT_SLOTS), LISTEN]


class ActionListMedicationReminders(ReminderAction):
    def name(self) -> str:
        return "action_list_medication_reminders"

    async def run(self, dispatcher, tracker, domain):
        text = self.latest_text(tracker)
        if request.pauses_a_reminder(text):
            # "pause my valsartan reminder" read as a list request: pause it, as asked
            return await self.change_status(dispatcher, tracker)
        if request.wants_summary(text):
            return await self.show_summary(dispatcher, tracker)
        return await self.show_list(dispatcher, tracker)


class ActionCancelMedicationReminder(ReminderAction):
    """Cancel, pause ("暂停", "pause") or resume ("恢复", "resume")."""

    def name(self) -> str:
        return "action_cancel_medication_reminder"

    async def run(self, dispatcher, tracker, domain):
        return await self.change_status(dispatcher, tracker)


class _DoseAnswer(ReminderAction):
    answer = ""

    async def run(self, dispatcher, tracker, domain):
        service, lang = self.services.reminders, self.language(tracker)
        if request.pauses_a_reminder(self.latest_text(tracker)):
            # "先pause一下缬沙坦的reminder" (read as a snooze or a skip) answers no dose:
            # it pauses the reminder
            return await self.change_status(dispatcher, tracker)
        snooze = None
        try:
            if self.answer == "snoozed":
                snooze = sig.parse_snooze(self.latest_text(tracker))
            outcome = await asyncio.to_thread(service.respond, *self.identity(tracker),
                                              self.answer, drug_id=self.drug_id(tracker),
                                              snooze=snooze)
        except NotFoundError:
            from actions.triage import ActionStartTriage

            # no dose waits for an answer: a message about symptoms the NLU took for a
            # dose answer ("我爸 stomach 不舒服" as a skipped dose) starts the interview
            started = await ActionStartTriage().begin_if_symptoms(dispatcher, tracker)
            if not started:
                dispatcher.utter_message(response="utter_dose_none_outstanding")
            return started
        except ValidationError:
            dispatcher.utter_message(response="utter_reminder_error_snooze")
            return []
        drug = service.drugs.get(outcome.drug_id)
        name = drug.name(lang) if drug else outcome.drug_id
        key = {"taken": "utter_dose_taken", "skipped": "utter_dose_skipped",
               "snoozed": "utter_dose_snoozed"}[outcome.status]
        dispatcher.utter_message(response=key, drug=name, time=outcome.local_time,
                                 minutes=outcome.minutes or "")
        return []


class ActionRecordDoseTaken(_DoseAnswer):
    answer = "taken"

    def name(self) -> str:
        return "action_record_dose_taken"


class ActionRecordDoseSkipped(_DoseAnswer):
    answer = "skipped"

    def name(self) -> str:
        return "action_record_dose_skipped"


class ActionSnoozeReminder(_DoseAnswer):
    answer = "snoozed"

    def name(self) -> str:
        return "action_snooze_reminder"


class ActionRecordReading(ReminderAction):
    """Store a reading; abnormal -> the KB's response, a care-team flag, a doctor offer."""

    def name(self) -> str:
        return "action_record_reading"

    async def run(self, dispatcher, tracker, domain):
        text, lang = self.latest_text(tracker), self.language(tracker)
        readings = self.services.readings
        try:
            outcome = await asyncio.to_thread(readings.record, *self.identity(tracker), text)
        except ReminderInputError as exc:
            if request.wants_summary(text):
                return await self.show_summary(dispatcher, tracker)
            self.fail(dispatcher, exc)
            return []
        dispatcher.utter_message(response=outcome.response,
                                 reading=outcome.reading.display(lang))
        if outcome.offer_doctor:  # the care team is flagged; a doctor now, if the patient agrees
            department = _READING_DEPARTMENT.get(outcome.reading.kind)
            offers = self.services.offers or current_app().offers
            await offer_handoff(offers, tracker, dispatcher, "abnormal_reading",
                                lang, department, {"reading": outcome.reading.display(lang),
                                                   "level": outcome.level})
        return []


class ActionOfferFollowup(ReminderAction):
    """Offer the follow-up plan of the condition named (or of a given ``followup_plan``);
    meant to run after a re-visit request or when the patient asks for follow-up."""

    def name(self) -> str:
        return "action_offer_followup"

    async def run(self, dispatcher, tracker, domain):
        events = self.offer_followup(dispatcher, tracker)
        if events is None:
            after_revisit = tracker.latest_action_name == "action_submit_revisit"
            if not after_revisit:  # asked for in chat: say which plans exist
                dispatcher.utter_message(response="utter_followup_no_plan")
            return [SlotSet("followup_plan", None)]
        return events


class ActionEnrolFollowup(ReminderAction):
    def name(self) -> str:
        return "action_enrol_followup"

    async def run(self, dispatcher, tracker, domain):
        lang = self.language(tracker)
        reset = [SlotSet("followup_plan", None), SlotSet("reminder_pending", None)]
        try:
            plan, first = await asyncio.to_thread(
                self.services.readings.enrol, *self.identity(tracker),
                tracker.get_slot("followup_plan") or "", lang)
        except NotFoundError:
            dispatcher.utter_message(response="utter_followup_no_plan")
            return [*reset, LISTEN]
        dispatcher.utter_message(response="utter_followup_enrolled",
                                 plan=plan.name.get(lang, plan.id),
                                 first=first.strftime("%m-%d %H:%M") if first else "-")
        return [*reset, LISTEN]


class ActionShowHealthSummary(ReminderAction):
    def name(self) -> str:
        return "action_show_health_summary"

    async def run(self, dispatcher, tracker, domain):
        return await self.show_summary(dispatcher, tracker)
