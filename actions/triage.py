"""Triage interview actions: thin adapters over ``bot.triage.interview``."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import FORM_EXIT_SLOT, MedbotAction, MedbotFormValidation
from bot.nlp.replies import is_exit
from actions.handoff import offer_handoff
from bot.app import current_app
from bot.appointments.bookable import BookableDepartments
from bot.handoff.offers import HandoffOffers
from bot.info import HospitalInfoService
from bot.triage import interview
from bot.triage.pipeline import Triage
from bot.triage.service import TriageService

log = logging.getLogger(__name__)
BOOKING_LEVELS = ("routine", "self_care")  # results whose next step offers a booking
HANDOFF_OFFER = "handoff"  # the interview was left for a doctor; the gate reads the consent
# the words of a request for a person, not only the NLU's intent ("male" was request_human)
_ASKS_FOR_A_PERSON = re.compile(r"医生|大夫|人工|真人|客服|护士|专家|(?<![a-z])(?:doctor|dr|human|"
                                r"person|people|someone|somebody|nurse|real|agent|operator|staff)"
                                r"(?![a-z])", re.IGNORECASE)

FACT_SLOTS = (*interview.FACT_SLOTS, interview.RED_FLAG_SLOT)
# what utter_triage_next_<level> offers (actions/offers.py answers it)
_NEXT_STEP_OFFER = {"emergency": "emergency_info", "routine": "booking", "self_care": "booking"}


def _slots(tracker: Tracker) -> dict[str, Any]:
    return {name: tracker.get_slot(name) for name in (
        *FACT_SLOTS, "triage_flag_answers", "triage_asked_flag", "triage_text")}


class ActionStartTriage(MedbotAction):
    """Starts a fresh interview from the patient's description, first answering a
    hospital question asked with it ("孩子发烧，儿科急诊在哪")."""

    def __init__(self, info: HospitalInfoService | None = None) -> None:
        self._info = info

    def name(self) -> str:
        return "action_start_triage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return self.begin(dispatcher, tracker)

    def begin(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """The interview's introduction and a clean slate for its facts."""
        info = self._info or current_app().info
        for reply in info.asked_alongside(self.latest_text(tracker), self.language(tracker)):
            dispatcher.utter_message(response=reply.response, **reply.params)
        dispatcher.utter_message(response="utter_triage_intro")
        return [SlotSet("triage_text", self.latest_text(tracker)),
                SlotSet("triage_flag_answers", {}), SlotSet("triage_asked_flag", None),
                SlotSet("triage_level", None), SlotSet("triage_department", None),
                SlotSet("offer_pending", None), SlotSet(FORM_EXIT_SLOT, None),
                *[SlotSet(slot, None) for slot in FACT_SLOTS]]


    async def begin_if_symptoms(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                triage: Triage | None = None, *, urgent_only: bool = False
                                ) -> list[dict[str, Any]]:
        """The interview, started, when the latest message describes symptoms (a
        message the NLU took for something else: "my 9 month old has a blocked nose",
        "我爸 stomach 不舒服" read as a skipped dose); otherwise no events.

        Args:
            urgent_only: only symptoms that need a doctor today or 120 (a booking
                request that says in passing "a fever for two days and I'm getting short
                of breath, which is new" must not be booked for next week unasked).
        """
        triage = triage or current_app().triage
        text, lang = self.latest_text(tracker), self.language(tracker)
        if urgent_only:
            assessment = await asyncio.to_thread(triage.assess_text, text, lang)
            if not assessment.case.symptoms or assessment.result.level not in URGENT_LEVELS:
                return []
        else:
            extraction = await asyncio.to_thread(triage.extract, text, lang)
            if not extraction.case.symptoms:
                return []
        log.info("triage.started_from intent=%s urgent_only=%s", self.latest_intent(tracker),
                 urgent_only)
        return [*self.begin(dispatcher, tracker), FollowupAction("triage_form")]


URGENT_LEVELS = ("urgent", "emergency")


class ValidateTriageForm(MedbotFormValidation, MedbotAction):
    """Decides which questions remain and reads each answer. Asking for a doctor
    instead of answering ("我想找真人医生") leaves the interview and offers the
    hand-off (consent asked), instead of repeating the question."""

    def __init__(self, triage: Triage | None = None,
                 offers: HandoffOffers | None = None) -> None:
        self._triage = triage
        self._offers = offers

    @property
    def triage(self) -> Triage:
        return self._triage or current_app().triage

    def name(self) -> str:
        return "validate_triage_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        slots = _slots(tracker)
        assessment = interview.assess(self.triage, slots.get("triage_text") or "",
                                      self.language(tracker), slots)
        needed = ["triage_text", *interview.questions(self.triage, assessment, slots)]
        # the slot just answered must stay required, or its validate_ method is skipped
        requested = tracker.get_slot("requested_slot")
        if (requested in FACT_SLOTS and requested not in needed
                and tracker.get_slot(requested) is not None):
            needed.insert(1, requested)
        return needed

    async def get_validation_events(self, dispatcher, tracker, domain):  # type: ignore[override]
        answered = self.answered_slot(tracker)
        if answered is not None and self.latest_intent(tracker) == "request_human":
            text = tracker.slots_to_validate()[answered]
            if (_ASKS_FOR_A_PERSON.search(text) and not is_exit(text)
                    and interview.parse_answer(answered, text, self.triage) is None):
                log.info("triage.handoff_requested slot=%s", answered)
                lang = self.language(tracker)
                slots = _slots(tracker)
                result = interview.assess(self.triage, slots.get("triage_text") or "", lang,
                                          slots).result
                department = next((d for d in result.departments if d != "emergency"), None)
                await offer_handoff(self._offers or current_app().offers, tracker,
                                    dispatcher, "request_human", lang, department)
                return [SlotSet(answered, None), SlotSet("requested_slot", None),
                        SlotSet(FORM_EXIT_SLOT, self.form_name()),
                        SlotSet("offer_pending", HANDOFF_OFFER)]
        return await super().get_validation_events(dispatcher, tracker, domain)

    def _read(self, slot: str, value: Any, dispatcher: CollectingDispatcher,
              tracker: Tracker) -> dict[str, Any]:
        text = value if isinstance(value, str) else self.latest_text(tracker)
        updates = interview.record_answer(self.triage, _slots(tracker), slot, text)
        if updates is None:
            dispatcher.utter_message(response="utter_triage_invalid_answer")
            return {slot: None}
        return updates

    async def validate_triage_text(self, value, dispatcher, tracker, domain):
        return {"triage_text": value}

    async def validate_triage_age(self, value, dispatcher, tracker, domain):
        return self._read("triage_age", value, dispatcher, tracker)

    async def validate_triage_sex(self, value, dispatcher, tracker, domain):
        return self._read("triage_sex", value, dispatcher, tracker)

    async def validate_triage_pregnant(self, value, dispatcher, tracker, domain):
        return self._read("triage_pregnant", value, dispatcher, tracker)

    async def validate_triage_duration(self, value, dispatcher, tracker, domain):
        return self._read("triage_duration", value, dispatcher, tracker)

    async def validate_triage_severity(self, value, dispatcher, tracker, domain):
        return self._read("triage_severity", value, dispatcher, tracker)

    async def validate_triage_red_flag(self, value, dispatcher, tracker, domain):
        """Records the answer to the question just asked, then clears the slot so
        the next pending red-flag question (if any) is asked."""
        return self._read(interview.RED_FLAG_SLOT, value, dispatcher, tracker)


class ActionAskTriageRedFlag(MedbotAction):
    """Asks the most serious pending red-flag question, worded from the KB."""

    def __init__(self, triage: Triage | None = None) -> None:
        self._triage = triage

    def name(self) -> str:
        return "action_ask_triage_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        triage = self._triage or current_app().triage
        slots = _slots(tracker)
        lang = self.language(tracker)
        assessment = interview.assess(triage, slots.get("triage_text") or "", lang, slots)
        pending = interview.pending_red_flags(triage, assessment, slots)
        if not pending:
            return []
        question = interview.red_flag_question(triage, pending[0]).get(lang)
        dispatcher.utter_message(response="utter_ask_triage_red_flag", question=question)
        return [SlotSet("triage_asked_flag", pending[0])]


class ActionTriageResult(MedbotAction):
    """Gives level, departments, reasons and safety net, stores the decision,
    and offers the next step."""

    def __init__(self, service: TriageService | None = None,
                 offers: HandoffOffers | None = None,
                 bookable: BookableDepartments | None = None) -> None:
        self._service = service
        self._offers = offers
        self._bookable = bookable

    def name(self) -> str:
        return "action_triage_result"

    def service(self) -> TriageService:
        if self._service is None:
            self._service = current_app().triage_records
        return self._service

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if tracker.get_slot(FORM_EXIT_SLOT) == "triage_form":  # "算了": nothing assessed or kept
            if tracker.get_slot("offer_pending") != HANDOFF_OFFER:  # else: consent asked last
                dispatcher.utter_message(response="utter_triage_stopped")
            return [SlotSet(FORM_EXIT_SLOT, None), SlotSet("triage_text", None),
                    SlotSet("offer_pending", None), *[SlotSet(slot, None) for slot in FACT_SLOTS]]
        lang = self.language(tracker)
        slots = _slots(tracker)
        text = slots.get("triage_text") or self.latest_text(tracker)
        service = self.service()
        assessment = interview.assess(service.triage, text, lang, slots)
        try:
            await asyncio.to_thread(service.record, assessment, text=text, channel="chat",
                                    conversation_id=tracker.sender_id)
        except Exception:  # noqa: BLE001 - storing failed; the advice must still go out
            log.exception("triage.record_failed")
        result = assessment.result
        for hit in result.red_flags[:1]:
            dispatcher.utter_message(text=hit.message(lang))
        params = interview.render(service.triage, result, lang)
        dispatcher.utter_message(response="utter_triage_result", **params)
        department = result.departments[0] if result.departments else None
        offer = None
        if result.level == "urgent":  # a doctor now, if the patient agrees
            offers = self._offers or current_app().offers
            await offer_handoff(offers, tracker, dispatcher, "urgent_triage", lang,
                                department, {"level": result.level})
        elif result.level in BOOKING_LEVELS and department is not None:
            department, offered = self._offer_booking(dispatcher, service, result.level,
                                                      department, lang, params)
            offer = "booking" if offered else None  # answered yes/no by action_answer_offer
        else:  # the next step offered, answered yes/no by action_answer_offer
            dispatcher.utter_message(response=f"utter_triage_next_{result.level}", **params)
            offer = _NEXT_STEP_OFFER.get(result.level)
        return [SlotSet("triage_level", result.level), SlotSet("triage_department", department),
                SlotSet("offer_pending", offer)]

    def _offer_booking(self, dispatcher: CollectingDispatcher, service: TriageService,
                       level: str, department: str, lang: str, params: dict[str, str]
                       ) -> tuple[str, bool]:
        """Offers to book ``department``, or the nearest bookable one and why; returns
        the department the offer is about (the ``triage_department`` slot) and
        whether a booking was offered."""
        choice = (self._bookable or current_app().bookable).bookable_alternative(department)
        if not choice.substituted:
            dispatcher.utter_message(response=f"utter_triage_next_{level}", **params)
            return department, True
        names = service.triage.knowledge.departments
        name = names[department].name.get(lang)
        reason = (choice.reason or {}).get(lang, "")
        if choice.department is None:
            dispatcher.utter_message(response="utter_triage_department_no_booking",
                                     department=name, reason=reason)
            return department, False
        alternative = names[choice.department].name.get(lang)
        dispatcher.utter_message(response="utter_triage_department_not_bookable",
                                 department=name, alternative=alternative, reason=reason)
        dispatcher.utter_message(response=f"utter_triage_next_{level}",
                                 **{**params, "department": alternative})
        return choice.department, True
