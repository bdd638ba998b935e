"""action_hospital_info: answers the topic asked about, with the service injected."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.info import ActionHospitalInfo
from bot.info import HospitalInfoService, InfoReply


@pytest.fixture(scope="module")
def info() -> HospitalInfoService:
    return HospitalInfoService.load()


def tracker(lang: str, text: str = "x", entities: list[dict] | None = None) -> Tracker:
    return Tracker("rest:u1", {"language": lang},
                   {"text": text, "intent": {"name": "ask_hospital_info"},
                    "entities": entities or []},
                   [], False, None, {}, "action_listen")


async def run(service: HospitalInfoService, lang: str, text: str,
              entities: list[dict] | None = None) -> list[dict]:
    dispatcher = CollectingDispatcher()
    assert await ActionHospitalInfo(service).run(dispatcher, tracker(lang, text, entities), {}) == []
    return dispatcher.messages


@pytest.mark.parametrize("lang,text,title,fact", [
    ("zh", "停车方便吗", "停车", "北门"),
    ("en", "how much is parking", "Parking", "North Gate"),
    ("zh", "挂号费多少钱", "挂号费和缴费", "主任医师50元"),
    ("en", "how much is the registration fee", "Fees and payment", "Chief Physician 50 yuan"),
    ("zh", "能用医保吗", "医保", "医保电子凭证"),
    ("en", "do you accept insurance", "Medical insurance", "e-voucher"),
    ("zh", "门诊几点上班", "门诊时间", "周一至周五"),
    ("en", "what are the opening hours", "Opening hours", "Mon–Fri"),
    ("zh", "儿科急诊在哪", "急诊和儿科急诊", "2楼"),
    ("en", "where is the paediatric emergency", "Emergency and children's emergency", "2nd floor"),
    ("zh", "要带什么", "就诊要带什么", "身份证"),
    ("en", "what should I bring", "What to bring", "ID card"),
    ("zh", "怎么坐地铁过去", "地址和交通", "2号线"),
    ("en", "how do I get there by subway", "Address and getting here", "Line 2"),
])
async def test_each_topic_is_answered_in_the_patients_language(
        info: HospitalInfoService, lang: str, text: str, title: str, fact: str) -> None:
    [message] = await run(info, lang, text)
    assert message["response"] == "utter_hospital_topic"
    assert message["title"] == title
    assert fact in message["answer"]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_unknown_topic_gets_the_card_and_the_topics(info: HospitalInfoService,
                                                          lang: str) -> None:
    card, topics = await run(info, lang, "药房在几楼" if lang == "zh" else "where is the pharmacy")
    assert card["response"] == "utter_hospital_info"
    assert card["hospital_phone"] == info.hospital.phone
    assert card["hospital_address"] == info.hospital.address[lang]
    assert topics["response"] == "utter_hospital_topics"
    assert info.topics.topics["parking"].title[lang] in topics["topics"]


async def test_the_department_entity_picks_the_departments_hours(info: HospitalInfoService) -> None:
    [message] = await run(info, "zh", "[儿科]几点上班",
                          [{"entity": "department", "value": "pediatrics"}])
    assert message["response"] == "utter_hospital_department_hours"
    assert message["department"] == "儿科" and "周六上午" in message["sessions"]


async def test_the_action_only_relays_what_the_service_answers() -> None:
    class Fake(HospitalInfoService):
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def answer(self, text, lang, department=None):
            self.calls.append((text, lang, department))
            return [InfoReply("utter_hospital_topic", {"title": "T", "answer": "A"})]

    fake = Fake()
    messages = await run(fake, "en", "parking?", [{"entity": "department", "value": "ent"}])
    assert fake.calls == [("parking?", "en", "ent")]
    assert messages[0]["response"] == "utter_hospital_topic" and messages[0]["answer"] == "A"
