"""The Rasa interview actions, driven the way Rasa's form loop drives them.

No model is trained: a small driver plays Rasa's part (activate the form, run
``validate_triage_form``, ask the requested slot, feed the patient's answer).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from sqlalchemy import select

from actions.triage import (
    ActionAskTriageRedFlag,
    ActionStartTriage,
    ActionTriageResult,
    ValidateTriageForm,
)
from bot.handoff.factory import consent_service, handoff_service
from bot.handoff.offers import HandoffOffers
from bot.settings import PROJECT_ROOT
from bot.store.consent_models import ConsentPrompt
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.triage.service import TriageService

DOMAIN = yaml.safe_load((PROJECT_ROOT / "bot" / "domain" / "triage.yml").read_text("utf-8"))


def tracker(slots: dict[str, Any], text: str, events: list[dict] | None = None) -> Tracker:
    return Tracker(
        sender_id="rest:patient-1", slots=dict(slots),
        latest_message={"text": text, "intent": {"name": "report_symptoms"}, "entities": []},
        events=[{"event": "user", "text": text}, *(events or [])], paused=False,
        followup_action=None, active_loop={"name": "triage_form"}, latest_action_name="action_listen",
    )


def apply(slots: dict[str, Any], events: list[dict]) -> None:
    for event in events:
        if event.get("event") == "slot":
            slots[event["name"]] = event["value"]


class Driver:
    """Plays Rasa's form loop against the actions."""

    def __init__(self, triage, lang: str, service: TriageService | None = None) -> None:
        self.triage = triage
        self.slots: dict[str, Any] = {"language": lang, "requested_slot": None}
        self.service = service
        self.asked: list[str] = []
        self.said: list[dict] = []

    def run(self, action, text: str, events: list[dict] | None = None) -> list[dict]:
        dispatcher = CollectingDispatcher()
        out = asyncio.run(action.run(dispatcher, tracker(self.slots, text, events), DOMAIN))
        self.said += dispatcher.messages
        apply(self.slots, out)
        return dispatcher.messages

    def start(self, text: str) -> None:
        self.first = text
        self.run(ActionStartTriage(), text)
        self.validate(text, [{"event": "slot", "name": "triage_text",
                              "value": self.slots["triage_text"]}])

    def validate(self, text: str, events: list[dict]) -> None:
        self.run(ValidateTriageForm(self.triage), text, events)

    def ask(self) -> str | None:
        slot = self.slots.get("requested_slot")
        if slot == "triage_red_flag":
            self.run(ActionAskTriageRedFlag(self.triage), "")
        elif slot:
            self.said.append({"response": f"utter_ask_{slot}"})
        if slot:
            self.asked.append(slot)
        return slot

    def answer(self, text: str) -> None:
        slot = self.slots["requested_slot"]
        self.slots[slot] = text
        self.validate(text, [{"event": "slot", "name": slot, "value": text}])

    def finish(self) -> None:
        offers = None
        if self.service is not None:  # urgent results offer a doctor: same database
            offers = HandoffOffers(consent_service(), handoff_service(self.service.db))
        self.run(ActionTriageResult(self.service, offers), self.first)


@pytest.fixture()
def service(tmp_path, triage):
    db = Database(f"sqlite:///{tmp_path / 'chat.db'}")
    upgrade(db)
    yield TriageService(db, triage)
    db.dispose()


def converse(triage, service, lang, first, answers):
    driver = Driver(triage, lang, service)
    driver.start(first)
    for reply in answers:
        if driver.ask() is None:
            break
        driver.answer(reply)
    assert driver.ask() is None, f"still asking {driver.slots['requested_slot']}"
    driver.finish()
    return driver


def test_emergency_skips_questions(triage, service):
    d = converse(triage, service, "zh", "我想挂下周的心内科，刚才胸口压着疼还一直出汗", [])
    assert d.asked == []
    assert d.slots["triage_level"] == "emergency"
    assert "120" in d.said[1]["text"]  # red-flag advice right after the intro
    result = next(m for m in d.said if m.get("response") == "utter_triage_result")
    assert "急诊科" in result["departments"]
    assert any(m.get("response") == "utter_triage_next_emergency" for m in d.said)
    assert [r.level for r in service.records("rest:patient-1")] == ["emergency"]


def test_headache_asks_red_flag_first_then_facts(triage, service):
    d = converse(triage, service, "en", "I have a headache",
                 ["no", "34", "male", "mild"])
    assert d.asked[0] == "triage_red_flag"
    assert "triage_age" in d.asked
    assert d.slots["triage_flag_answers"] == {"thunderclap_headache": False}
    assert d.slots["triage_level"] == "routine"
    assert d.slots["triage_department"] == "neurology"
    question = next(m for m in d.said if m.get("response") == "utter_ask_triage_red_flag")
    assert "suddenly" in question["question"]
    result = next(m for m in d.said if m.get("response") == "utter_triage_result")
    assert result["departments"].startswith("Neurology")


def test_answer_revealing_emergency_ends_the_interview(triage, service):
    d = converse(triage, service, "zh", "我头疼", ["是的，突然剧烈头痛，像要炸开一样"])
    assert d.slots["triage_level"] == "emergency"
    assert d.slots["requested_slot"] is None


def test_child_fever_asks_age_and_gives_paediatrics(triage, service):
    d = converse(triage, service, "zh", "我女儿发烧了", ["5岁", "3天"])
    assert d.asked[0] == "triage_age"
    assert "triage_pregnant" not in d.asked  # a 5-year-old: pregnancy cannot matter
    assert d.slots["triage_department"] == "pediatrics"
    assert d.slots["triage_level"] == "routine"


def test_infant_age_answer_makes_it_an_emergency(triage, service):
    d = converse(triage, service, "zh", "宝宝发烧了", ["2个月"])
    assert d.slots["triage_level"] == "emergency"


def test_unreadable_answer_is_asked_again_and_unknown_is_accepted(rules_triage, service):
    d = Driver(rules_triage, "zh", service)
    d.start("胸口疼")
    assert d.ask() == "triage_red_flag"
    d.answer("蓝色的")
    assert any(m.get("response") == "utter_triage_invalid_answer" for m in d.said)
    assert d.ask() == "triage_red_flag"
    d.answer("不知道")
    assert d.slots["triage_flag_answers"] == {"cardiac_chest_pain": "unknown"}
    assert d.ask() == "triage_age"
    d.answer("28")
    assert d.ask() is None
    d.finish()
    assert d.slots["triage_level"] == "urgent"  # unknown counted conservatively
    # urgent: a doctor is offered, with the handoff consent text, instead of the booking question
    assert not any(m.get("response") == "utter_triage_next_urgent" for m in d.said)
    assert any("执业医生" in (m.get("text") or "") for m in d.said)
    with service.db.begin() as s:
        prompt = s.execute(select(ConsentPrompt)).scalar_one()
    assert (prompt.purpose, prompt.status) == ("handoff", "pending")
    assert json.loads(prompt.context_json)["reason"] == "urgent_triage"


def test_result_still_sent_when_storage_fails(triage):
    class Broken(TriageService):
        def record(self, *args, **kwargs):
            raise RuntimeError("database is down")

    d = Driver(triage, "en", Broken(db=None, triage=triage))  # type: ignore[arg-type]
    d.start("I have a runny nose")
    d.slots["requested_slot"] = None
    d.finish()
    assert any(m.get("response") == "utter_triage_result" for m in d.said)
    assert all("database" not in (m.get("text") or "") for m in d.said)


def test_domain_responses_have_exactly_zh_and_en():
    for key, variations in DOMAIN["responses"].items():
        langs = [c["value"] for v in variations for c in v["condition"] if c["name"] == "language"]
        assert sorted(langs) == ["en", "zh"], key
        assert all("channel" not in v for v in variations), key


def test_start_answers_a_hospital_question_asked_with_the_symptom(triage) -> None:
    driver = Driver(triage, "zh")
    said = driver.run(ActionStartTriage(), "晚上孩子发烧，儿科急诊在哪")
    assert said[0]["response"] == "utter_hospital_topic"
    assert "急诊楼2楼" in said[0]["answer"]
    assert said[-1]["response"] == "utter_triage_intro"
    assert driver.slots["triage_text"] == "晚上孩子发烧，儿科急诊在哪"


@pytest.mark.parametrize(("text", "starts"), [
    ("my 9 month old has a blocked nose and a bit of clear snot, feeding fine", True),
    ("宝宝九个月 鼻子塞 有点清鼻涕", True),
    ("tell me a joke", False),
    ("what are the symptoms of a stroke", False),
])
def test_symptoms_the_nlu_missed_start_the_interview(triage, text, starts):
    """"my 9 month old has a blocked nose…" fell to nlu_fallback and got "Sorry, I didn't
    quite get that": a message that describes symptoms starts the interview instead."""
    from actions.handoff import ActionHandleFallback

    fallback_tracker = Tracker(
        sender_id="rest:patient-1", slots={"language": "en"},
        latest_message={"text": text, "intent": {"name": "nlu_fallback"}, "entities": []},
        events=[{"event": "user", "text": text}], paused=False, followup_action=None,
        active_loop={}, latest_action_name="action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionHandleFallback(triage=triage).run(dispatcher, fallback_tracker, {}))
    responses = [m.get("response") for m in dispatcher.messages]
    if starts:
        assert "utter_triage_intro" in responses
        assert {"event": "followup", "name": "triage_form"} in [
            {k: e.get(k) for k in ("event", "name")} for e in events]
        assert {"event": "slot", "name": "triage_text", "value": text} in [
            {k: e.get(k) for k in ("event", "name", "value")} for e in events]
    else:
        assert responses == ["utter_default"] and events == []


def _after_result(text: str, slots: dict[str, Any], events: list[dict]) -> Tracker:
    """The tracker when ``text`` arrives right after the events (oldest first)."""
    return Tracker(
        sender_id="rest:patient-1", slots={"language": "zh", **slots},
        latest_message={"text": text, "intent": {"name": "nlu_fallback"}, "entities": []},
        events=[*events, {"event": "user", "text": text,
                          "parse_data": {"intent": {"name": "nlu_fallback"}}}],
        paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen")


_RESULT_WITHOUT_AGE = [
    {"event": "user", "text": "不知道", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    {"event": "action", "name": "triage_form"},
    {"event": "action", "name": "action_triage_result"},
    {"event": "action", "name": "action_listen"},
]


@pytest.mark.parametrize("text, redone", [("65", True), ("65岁", True), ("he's 65", True),
                                          ("停车多少钱", False), ("hello?", False)])
def test_an_age_given_after_the_result_redoes_the_assessment(triage, text, redone):
    """"不知道" to the age, the result, then "65": the age was given late and the
    assessment is redone with it (it got "didn't get that" and a doctor offer)."""
    from actions.handoff import ActionHandleFallback

    slots = {"triage_text": "我爸发烧39度两天了 咳嗽", "triage_age": "unknown",
             "triage_level": "routine"}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionHandleFallback(triage=triage).run(
        dispatcher, _after_result(text, slots, _RESULT_WITHOUT_AGE), {}))
    names = [(e.get("event"), e.get("name")) for e in events]
    if redone:
        assert ("followup", "action_triage_result") in names
        assert {"event": "slot", "name": "triage_age", "value": 65} in [
            {k: e.get(k) for k in ("event", "name", "value")} for e in events]
    else:
        assert ("followup", "action_triage_result") not in names


def test_a_form_answer_the_nlu_could_not_classify_is_no_misunderstanding():
    """"不知道" answered the form; only the messages answered by the fallback count, so
    one unclear message afterwards is the first, not the second (no doctor offer yet)."""
    from actions.handoff import consecutive_fallbacks

    tracker_now = _after_result("嗯嗯", {}, _RESULT_WITHOUT_AGE)
    assert consecutive_fallbacks(tracker_now) == 1
    twice = _after_result("嗯嗯", {}, [
        {"event": "user", "text": "啊?", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_handle_fallback"},
        {"event": "action", "name": "action_listen"}])
    assert consecutive_fallbacks(twice) == 2
