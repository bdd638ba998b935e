"""action_triage_result offers only bookable departments (issue 15 item 5):
the nearest bookable one and why when the ideal one cannot be booked."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.triage import FACT_SLOTS, ActionTriageResult
from bot.appointments.bookable import BookableDepartments
from bot.appointments.schedule import HospitalSchedule
from bot.i18n import t
from bot.triage import Triage, default_knowledge, interview
from bot.triage.service import TriageService


class NoStore(TriageService):
    def __init__(self, triage: Triage) -> None:
        super().__init__(db=None, triage=triage)  # type: ignore[arg-type]
        self.recorded: list[Any] = []

    def record(self, assessment, **kwargs):
        self.recorded.append(assessment.result.departments)


@pytest.fixture(scope="module")
def service() -> NoStore:
    return NoStore(Triage(default_knowledge()))  # the rules only: deterministic


@pytest.fixture(scope="module")
def bookable() -> BookableDepartments:
    return BookableDepartments.load()


def tracker(lang: str, text: str, facts: dict[str, Any]) -> Tracker:
    slots = {"language": lang, "triage_text": text, "triage_flag_answers": {},
             "triage_asked_flag": None, **{s: None for s in FACT_SLOTS}, **facts}
    return Tracker("rest:p1", slots, {"text": text, "intent": {"name": "report_symptoms"}},
                   [], False, None, {}, "action_listen")


async def result(service, bookable, lang: str, text: str, facts: dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = await ActionTriageResult(service, bookable=bookable).run(
        dispatcher, tracker(lang, text, facts), {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


FACTS = {"triage_age": "50", "triage_sex": "male", "triage_duration": "14 days",
         "triage_severity": "mild"}


def _facts(service: NoStore, lang: str, text: str) -> dict[str, Any]:
    slots = {s: None for s in FACT_SLOTS}
    slots.update({"triage_flag_answers": {}, "triage_asked_flag": None, "triage_text": text})
    for slot, answer in FACTS.items():
        slots.update(interview.record_answer(service.triage, slots, slot, answer) or {})
    return {k: v for k, v in slots.items() if k in FACT_SLOTS}


@pytest.mark.parametrize("lang,text,ideal,offered,said", [
    ("zh", "看东西模糊两周了", "眼科", "全科医学科", "本院眼科暂不开放线上预约"),
    ("en", "painful urination", "Urology", "Nephrology", "Urology can't be booked online"),
    ("zh", "牙疼", "口腔科", "全科医学科", "本院口腔科暂不开放线上预约"),
])
async def test_an_unbookable_department_is_replaced_by_the_nearest_bookable_one(
        service, bookable, lang, text, ideal, offered, said) -> None:
    messages, slots = await result(service, bookable, lang, text, _facts(service, lang, text))
    responses = [m.get("response") for m in messages]
    assert responses[0] == "utter_triage_result"
    assert ideal in messages[0]["departments"]  # the clinical advice is unchanged
    note = messages[responses.index("utter_triage_department_not_bookable")]
    assert note["department"] == ideal and note["alternative"] == offered and note["reason"]
    assert said in t(note["response"], lang, **{k: v for k, v in note.items()
                                                  if isinstance(v, str)})
    offer = next(m for m in messages if str(m.get("response")).startswith("utter_triage_next_"))
    assert offer["department"] == offered  # the booking offer names a bookable department
    assert bookable.is_bookable(slots["triage_department"])


async def test_a_bookable_department_is_offered_as_before(service, bookable) -> None:
    messages, slots = await result(service, bookable, "en", "I have a headache",
                                   _facts(service, "en", "I have a headache"))
    assert "utter_triage_department_not_bookable" not in [m.get("response") for m in messages]
    assert slots["triage_department"] == "neurology"
    offer = next(m for m in messages if str(m.get("response")).startswith("utter_triage_next_"))
    assert offer["department"] == "Neurology"


async def test_nothing_bookable_explains_and_offers_no_booking(service) -> None:
    schedule = HospitalSchedule.load()
    full = BookableDepartments.load()
    nothing = BookableDepartments(set(), set(schedule.departments), full.alternatives,
                                  full.default)
    text = "看东西模糊两周了"
    messages, slots = await result(service, nothing, "zh", text, _facts(service, "zh", text))
    responses = [m.get("response") for m in messages]
    assert "utter_triage_department_no_booking" in responses
    assert not any(str(r).startswith("utter_triage_next_") for r in responses)
    assert slots["triage_department"] == "ophthalmology"
