"""Online re-visit requests (复诊/续方): thin adapters over ``bot.revisits``.

The form asks the cheap exclusion questions first (condition, red flags, new or
worse symptoms), stops as soon as the gate fails and says exactly why, then
offers an in-person appointment. The service checks the whole gate again on
submit. Nothing here drafts a prescription.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotFormValidation
from actions.clinic import ClinicAction
from bot.clinic import Services
from bot.errors import MedbotError
from bot.i18n import t
from bot.revisits.answers import is_none_answer, parse_past_date, parse_symptom_answer
from bot.revisits.catalog import Condition
from bot.revisits.eligibility import Evidence, Reason, RevisitDraft
from bot.revisits.service import NotEligibleError
from bot.text.yesno import read_confirmation

log = logging.getLogger(__name__)

FORM_SLOTS = ("revisit_condition", "revisit_red_flags", "revisit_new_symptoms",
              "revisit_institution", "revisit_diagnosed_on", "revisit_diagnosis",
              "revisit_record_number", "revisit_drugs", "revisit_confirm")
STOP = {"requested_slot": None, "revisit_confirm": False}
NONE = "none"
MAX_TEXT = 200
# an outpatient or record number: letters and digits with at least one digit ("MZ123")
_RECORD_NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,6}[-]?\d[A-Za-z0-9-]{2,31}(?![A-Za-z0-9])")
MAX_RECORD_ANSWER = 60
_DOSE = re.compile(r"\d\s*(?:mg|g|ml|iu|u|毫克|克|毫升|片|粒|单位)(?![a-z])", re.IGNORECASE)


# "where were you diagnosed?" answered "nowhere": no in-person diagnosis to follow up
_NEVER_DIAGNOSED = re.compile(
    r"^(没有|无|没|没去过|不记得|忘了|none|no|nope|nowhere|never)[\s,，。.!！]*$|"
    r"没(?:有)?(?:去|在|上)?(?:医院|线下|门诊)?(?:看过|看|确诊|诊断|检查|就诊)|未(?:确诊|就诊|诊断)|第一次|从来没|"
    r"(?<![a-z])(?:never (?:been )?(?:diagnosed|seen|saw|went|been)|not (?:been )?diagnosed|"
    r"haven'?t (?:been|seen|had)|first time|no diagnosis|not yet)(?![a-z])")


def never_diagnosed(text: str) -> bool:
    """The patient says there was no in-person diagnosis ("没有", "没去医院看过",
    "never been diagnosed"): the online re-visit is refused, not asked again."""
    text = (text or "").strip().lower()
    return bool(text) and len(text) <= MAX_TEXT and bool(_NEVER_DIAGNOSED.search(text))


def say_reasons(dispatcher: CollectingDispatcher, reasons: tuple[Reason, ...], lang: str) -> None:
    """The exact reasons, one message: header then one line per reason."""
    lines = [t("utter_revisit_not_eligible", lang)]
    lines += [f"- {t(r.key, lang, **r.params_in(lang))}" for r in reasons]
    dispatcher.utter_message(text="\n".join(lines))


class RevisitAction(ClinicAction):
    """Re-visit actions share the services and the patient of the booking actions."""

    def condition(self, tracker: Tracker) -> Condition | None:
        entry = self.services.revisits.policy.conditions.get(tracker.get_slot("revisit_condition"))
        return entry if isinstance(entry, Condition) else None


class ActionStartRevisit(RevisitAction):
    def name(self) -> str:
        return "action_start_revisit"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_revisit_intro")
        revisits = self.services.revisits
        text = self.latest_text(tracker)
        events = [SlotSet(slot, None) for slot in (*FORM_SLOTS, "revisit_outcome")]
        mentioned = [*self.entity_values(tracker, "condition"), text]
        condition = next((c for c in map(revisits.policy.conditions.match, mentioned) if c), None)
        if condition is not None:
            events.append(SlotSet("revisit_condition", condition.id))
        drugs = revisits.drugs.match_all(" ".join([*self.entity_values(tracker, "drug"), text]))
        if drugs:
            events.append(SlotSet("revisit_drugs", drugs))
        return events


class ValidateRevisitForm(MedbotFormValidation, RevisitAction):
    def __init__(self, services: Services | None = None) -> None:
        RevisitAction.__init__(self, services)

    exit_updates = {"revisit_confirm": False}  # "算了" (MedbotFormValidation): nothing submitted

    def name(self) -> str:
        return "validate_revisit_form"

    def _refuse(self, dispatcher, tracker, reasons: tuple[Reason, ...]) -> dict[str, Any]:
        say_reasons(dispatcher, reasons, self.language(tracker))
        log.info("revisit.not_eligible reasons=%s", [r.key for r in reasons])
        return {**STOP, "revisit_outcome": "not_eligible"}

    async def validate_revisit_condition(self, value, dispatcher, tracker, domain):
        conditions = self.services.revisits.policy.conditions
        condition = conditions.get(value) or conditions.match(value or "")
        if not isinstance(condition, Condition):
            dispatcher.utter_message(response="utter_revisit_reason_unknown_condition")
            return {"revisit_condition": None}
        if not condition.revisit_eligible:
            return {**self._refuse(dispatcher, tracker, (Reason(
                "utter_revisit_reason_condition_not_eligible",
                {"condition": dict(condition.names)}),)), "revisit_condition": condition.id}
        return {"revisit_condition": condition.id}

    def _yes_no(self, slot: str, value, dispatcher, tracker) -> tuple[bool | None, dict | None]:
        """(answer, early result): a red flag in the words ends the form with advice."""
        if isinstance(value, bool):
            return value, None
        hit = self.services.revisits.screen(value or "")
        if hit is not None:
            dispatcher.utter_message(text=hit.message(self.language(tracker)))
            return None, self._refuse(dispatcher, tracker,
                                      (Reason("utter_revisit_reason_red_flag"),))
        answer = parse_symptom_answer(value or "")
        if answer is None:
            dispatcher.utter_message(response="utter_revisit_unclear_yes_no")
            return None, {slot: None}
        return answer, None

    async def validate_revisit_red_flags(self, value, dispatcher, tracker, domain):
        if value is True:  # already validated: the screen was negative
            return {"revisit_red_flags": True}
        answer, done = self._yes_no("revisit_red_flags", value, dispatcher, tracker)
        if done is not None:
            return done
        if answer:
            return self._refuse(dispatcher, tracker, (Reason("utter_revisit_reason_red_flag"),))
        return {"revisit_red_flags": True}

    async def validate_revisit_new_symptoms(self, value, dispatcher, tracker, domain):
        if value is False:
            return {"revisit_new_symptoms": False}
        answer, done = self._yes_no("revisit_new_symptoms", value, dispatcher, tracker)
        if done is not None:
            return done
        if answer:
            return self._refuse(dispatcher, tracker,
                                (Reason("utter_revisit_reason_new_symptoms"),))
        return {"revisit_new_symptoms": False}

    async def validate_revisit_institution(self, value, dispatcher, tracker, domain):
        text = (value or "").strip()
        if never_diagnosed(text):  # "没有" / "没去医院看过": never a first visit online
            return self._refuse(dispatcher, tracker, (self._no_evidence(tracker),))
        if not 2 <= len(text) <= MAX_TEXT:
            dispatcher.utter_message(response="utter_revisit_invalid_text")
            return {"revisit_institution": None}
        return {"revisit_institution": text}

    def _no_evidence(self, tracker: Tracker) -> Reason:
        condition = self.condition(tracker)
        return Reason("utter_revisit_reason_no_evidence",
                      {"condition": dict(condition.names) if condition else ""})

    async def validate_revisit_diagnosed_on(self, value, dispatcher, tracker, domain):
        revisits = self.services.revisits
        today = revisits.today()
        if never_diagnosed(value or ""):
            return self._refuse(dispatcher, tracker, (self._no_evidence(tracker),))
        day = parse_past_date(value or "", today)
        if day is None:
            dispatcher.utter_message(response="utter_revisit_invalid_date")
            return {"revisit_diagnosed_on": None}
        age = (today - day).days
        if age < 0:
            return self._refuse(dispatcher, tracker,
                                (Reason("utter_revisit_reason_evidence_in_future"),))
        if age > revisits.policy.validity_days:
            return self._refuse(dispatcher, tracker, (Reason(
                "utter_revisit_reason_evidence_too_old",
                {"days": age, "validity_days": revisits.policy.validity_days}),))
        return {"revisit_diagnosed_on": day.isoformat()}

    async def validate_revisit_diagnosis(self, value, dispatcher, tracker, domain):
        text = (value or "").strip()
        condition = self.condition(tracker)
        if condition is None or len(text) > MAX_TEXT \
                or not self.services.revisits.policy.conditions.mentions(text, condition.id):
            lang = self.language(tracker)
            dispatcher.utter_message(response="utter_revisit_diagnosis_retry",
                                     condition=condition.names[lang] if condition else "")
            return {"revisit_diagnosis": None}
        return {"revisit_diagnosis": text}

    async def validate_revisit_record_number(self, value, dispatcher, tracker, domain):
        text = (value or "").strip()
        if is_none_answer(text) or not text:
            return {"revisit_record_number": NONE}
        number = _RECORD_NUMBER.search(text)
        if (number is None or len(text) > MAX_RECORD_ANSWER or _DOSE.search(text)
                or self.services.revisits.drugs.match_all(text)):  # "氨氯地平 5mg" is no number
            dispatcher.utter_message(response="utter_revisit_invalid_record_number")
            return {"revisit_record_number": None}
        return {"revisit_record_number": number[0]}

    async def validate_revisit_drugs(self, value, dispatcher, tracker, domain):
        if isinstance(value, list):
            return {"revisit_drugs": value}
        if is_none_answer(value or ""):
            return {"revisit_drugs": []}
        drugs = self.services.revisits.drugs.match_all(value or "")
        if not drugs:
            dispatcher.utter_message(response="utter_revisit_unknown_drugs")
            return {"revisit_drugs": None}
        return {"revisit_drugs": drugs}

    async def validate_revisit_confirm(self, value, dispatcher, tracker, domain):
        if value is True:
            return {"revisit_confirm": True}
        answer = read_confirmation(value or "")
        if answer is None:
            dispatcher.utter_message(response="utter_revisit_unclear_yes_no")
            return {"revisit_confirm": None}
        return {"revisit_confirm": True} if answer else STOP


class ActionAskRevisitDiagnosis(RevisitAction):
    def name(self) -> str:
        return "action_ask_revisit_diagnosis"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        condition = self.condition(tracker)
        lang = self.language(tracker)
        dispatcher.utter_message(response="utter_ask_revisit_diagnosis",
                                 condition=condition.names[lang] if condition else "")
        return []


def _draft(tracker: Tracker) -> RevisitDraft:
    record = tracker.get_slot("revisit_record_number")
    day = tracker.get_slot("revisit_diagnosed_on")
    return RevisitDraft(
        condition_id=tracker.get_slot("revisit_condition"),
        evidence=Evidence(tracker.get_slot("revisit_institution") or "",
                          date.fromisoformat(day) if day else None,
                          tracker.get_slot("revisit_diagnosis") or "",
                          None if record in (None, NONE) else record),
        red_flags_negative=tracker.get_slot("revisit_red_flags") is True,
        new_or_worse_symptoms=tracker.get_slot("revisit_new_symptoms") is not False,
        drug_ids=tuple(tracker.get_slot("revisit_drugs") or ()))


class ActionAskRevisitConfirm(RevisitAction):
    def name(self) -> str:
        return "action_ask_revisit_confirm"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        lang, revisits = self.language(tracker), self.services.revisits
        draft = _draft(tracker)
        condition = self.condition(tracker)
        drugs = [revisits.drugs.get(d).names[lang] for d in draft.drug_ids if revisits.drugs.get(d)]
        none = t("utter_revisit_none", lang)
        dispatcher.utter_message(
            response="utter_revisit_confirm",
            condition=condition.names[lang] if condition else "",
            institution=draft.evidence.institution, date=tracker.get_slot("revisit_diagnosed_on"),
            diagnosis=draft.evidence.diagnosis, record=draft.evidence.record_number or none,
            drugs=t("utter_appointment_list_separator", lang).join(drugs) or none)
        return []


class ActionSubmitRevisit(RevisitAction):
    """Queues a confirmed request; otherwise explains and offers an in-person visit."""

    def name(self) -> str:
        return "action_submit_revisit"

    def _offer(self, dispatcher, tracker) -> list[dict[str, Any]]:
        lang, schedule = self.language(tracker), self.services.schedule
        condition = self.condition(tracker)
        department = condition.department if condition else None
        if department not in schedule.department_ids():
            department = "general_practice"
        dispatcher.utter_message(response="utter_revisit_offer_appointment",
                                 department=schedule.departments[department].names[lang])
        return [*self._reset(), SlotSet("revisit_outcome", "not_eligible"),
                SlotSet("appt_suggested_department", department)]

    @staticmethod
    def _reset() -> list[dict[str, Any]]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS]

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        if tracker.get_slot("revisit_outcome") == "not_eligible":
            return self._offer(dispatcher, tracker)
        if tracker.get_slot("revisit_confirm") is not True:
            dispatcher.utter_message(response="utter_revisit_stopped")
            return [*self._reset(), SlotSet("revisit_outcome", "stopped")]
        lang, services = self.language(tracker), self.services
        try:
            queued = await asyncio.to_thread(services.revisits.submit, self.patient(tracker),
                                             _draft(tracker), lang)
        except NotEligibleError as exc:
            say_reasons(dispatcher, exc.reasons, lang)
            return self._offer(dispatcher, tracker)
        except MedbotError as exc:
            dispatcher.utter_message(response=exc.message_key, detail="")
            return [*self._reset(), SlotSet("revisit_outcome", "stopped")]
        department = services.schedule.departments.get(queued.department_id or "")
        dispatcher.utter_message(
            response="utter_revisit_queued", code=queued.code,
            hours=services.revisits.expected_response_hours,
            department=department.names[lang] if department else "")
        # the chronic follow-up plan of this condition is offered next (rules/appointments.yml)
        return [*self._reset(), SlotSet("revisit_outcome", "queued"),
                SlotSet("followup_plan", queued.condition_id)]
