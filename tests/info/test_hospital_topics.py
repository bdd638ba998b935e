"""Hospital questions answered by topic from knowledge_base/hospital.yml (issue 15 item 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.errors import KnowledgeBaseError
from bot.info import HospitalInfoService, HospitalTopics
from bot.kb import DEFAULT_KB_DIR


@pytest.fixture(scope="module")
def info() -> HospitalInfoService:
    return HospitalInfoService.load()


# (message, topics asked about): what patients typed in the simulated conversations
# and in nlu_data/nlu/info_*.yml
QUESTIONS = [
    ("zh", "停车方便吗", ["parking"]),
    ("zh", "有停车场吗", ["parking"]),
    ("zh", "停车多少钱", ["parking"]),
    ("en", "how much is parking", ["parking"]),
    ("en", "where do I park", ["parking"]),
    ("zh", "挂号费多少钱", ["fees"]),
    ("zh", "专家号多少钱一个", ["fees"]),
    ("zh", "可以用微信支付吗", ["fees"]),
    ("en", "how much is the registration fee", ["fees"]),
    ("en", "how much does a specialist visit cost", ["fees"]),
    ("zh", "能用医保吗", ["insurance"]),
    ("zh", "医保卡可以直接刷吗", ["insurance"]),
    ("zh", "异地医保能报销吗", ["insurance"]),
    ("en", "do you accept insurance", ["insurance"]),
    ("en", "can I use my medical insurance card", ["insurance"]),
    ("zh", "门诊几点上班", ["hours"]),
    ("zh", "周末看门诊吗", ["hours"]),
    ("zh", "春节放假吗", ["hours"]),
    ("en", "what are the opening hours", ["hours"]),
    ("en", "are you open on weekends", ["hours"]),
    ("en", "what time do you close", ["hours"]),
    ("zh", "急诊入口在哪", ["emergency"]),
    ("zh", "儿科急诊在哪", ["emergency"]),
    ("zh", "晚上有急诊吗", ["emergency"]),
    ("zh", "急诊几点开", ["emergency"]),
    ("en", "where is the paediatric emergency", ["emergency"]),
    ("en", "where's the children's ER", ["emergency"]),
    ("en", "is the emergency room open at night", ["emergency"]),
    ("zh", "要带什么", ["bring"]),
    ("zh", "看病需要带身份证吗", ["bring"]),
    ("en", "what should I bring to my appointment", ["bring"]),
    ("en", "do I need my passport", ["bring"]),
    ("zh", "医院地址在哪", ["address"]),
    ("zh", "你们医院在哪里", ["address"]),
    ("zh", "怎么坐地铁过去", ["address"]),
    ("zh", "请问公交几路能到", ["address"]),
    ("en", "where is the hospital", ["address"]),
    ("en", "how do I get there by subway", ["address"]),
    ("en", "what's your address", ["address"]),
    ("zh", "医院电话多少", ["contact"]),
    ("en", "what's the hospital phone number", ["contact"]),
    # two questions in one message: both answered
    ("zh", "停车和医保怎么弄", ["parking", "insurance"]),
    ("en", "is there parking, and do you take insurance?", ["parking", "insurance"]),
]


@pytest.mark.parametrize("lang,text,topics", QUESTIONS)
def test_each_question_gets_its_topic(info: HospitalInfoService, lang: str, text: str,
                                      topics: list[str]) -> None:
    assert info.topics_of(text) == topics
    replies = info.answer(text, lang)
    assert [r.response for r in replies] == ["utter_hospital_topic"] * len(topics)
    assert "utter_hospital_info" not in [r.response for r in replies]


# one fact per topic that only that topic's answer gives, in each language
FACTS = {
    "parking": {"zh": ["北门", "每小时5元"], "en": ["North Gate", "5 yuan an hour"]},
    "fees": {"zh": ["主任医师50元", "微信"], "en": ["Chief Physician 50 yuan", "WeChat Pay"]},
    "insurance": {"zh": ["医保电子凭证", "异地就医备案"], "en": ["e-voucher", "out-of-area"]},
    "hours": {"zh": ["周一至周五 8:00–17:00", "急诊24小时开放"],
              "en": ["Mon–Fri 8:00–17:00", "open 24 hours"]},
    "emergency": {"zh": ["东门", "儿科急诊", "2楼", "120"],
                  "en": ["East Gate", "children's emergency", "2nd floor", "120"]},
    "bring": {"zh": ["身份证", "医保卡", "提前30分钟"], "en": ["ID card", "insurance card", "30 minutes early"]},
    "address": {"zh": ["示例市健康路1号", "2号线"], "en": ["1 Health Road", "Line 2"]},
    "contact": {"zh": ["010-12345678"], "en": ["010-12345678"]},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("topic", sorted(FACTS))
def test_each_topic_is_answered_specifically(info: HospitalInfoService, topic: str,
                                             lang: str) -> None:
    reply = info.topic_reply(topic, lang)
    text = reply.text(lang)
    assert reply.params["title"] == info.topics.topics[topic].title[lang]
    for fact in FACTS[topic][lang]:
        assert fact in text, (topic, fact)
    assert "{" not in text  # every placeholder filled
    others = [t for t in FACTS if t != topic]
    for other in others:  # and not another topic's answer
        assert info.topic_reply(other, lang).params["answer"] != reply.params["answer"]


@pytest.mark.parametrize("lang,text", [("zh", "药房在几楼"), ("en", "where is the pharmacy"),
                                       ("en", "tell me about the hospital"),
                                       ("zh", "医院"), ("en", "")])
def test_unknown_topic_gets_the_general_card_and_the_list_of_topics(
        info: HospitalInfoService, lang: str, text: str) -> None:
    card, topics = info.answer(text, lang)
    assert card.response == "utter_hospital_info"
    assert card.params["hospital_address"] == info.hospital.address[lang]
    assert topics.response == "utter_hospital_topics"
    listed = topics.text(lang)
    for topic in info.topics.topics.values():
        assert topic.title[lang] in listed


@pytest.mark.parametrize("lang,text,department,expected", [
    ("zh", "儿科周六上班吗", None, ["周一上午", "周六上午"]),
    ("zh", "皮肤科几点下班", None, ["周二下午", "周四上午"]),
    ("en", "when is cardiology open", None, ["Mon morning", "Mon afternoon", "Sat morning"]),
    ("en", "what are the opening hours", "pediatrics", ["Sat morning"]),  # NLU entity
])
def test_opening_hours_of_a_named_department_come_from_the_timetable(
        info: HospitalInfoService, lang: str, text: str, department: str | None,
        expected: list[str]) -> None:
    [reply] = info.answer(text, lang, department)
    assert reply.response == "utter_hospital_department_hours"
    text_out = reply.text(lang)
    for session in expected:
        assert session in text_out
    assert "8:00–12:00" in text_out and "13:30–17:00" in text_out


def test_a_department_without_online_booking_says_so_with_the_phone(
        info: HospitalInfoService) -> None:
    [reply] = info.answer("眼科周日上班吗", "zh")
    assert reply.response == "utter_hospital_department_not_bookable"
    assert "眼科" in reply.text("zh") and info.hospital.phone in reply.text("zh")
    [reply] = info.answer("what are the eye clinic's opening hours", "en")
    assert "Ophthalmology" in reply.text("en")


def test_hours_of_the_emergency_department_are_the_emergency_answer(
        info: HospitalInfoService) -> None:
    assert info.topics_of("急诊几点上班") == ["emergency"]
    assert info.topics_of("what time does the ER close") == ["emergency"]
    # the NLU tags 儿科 as a department: still the (children's) emergency, open 24 hours
    assert info.topics_of("儿科急诊几点开门", "pediatrics") == ["emergency"]


def test_english_words_match_whole_words_only() -> None:
    topics = HospitalTopics.load()
    assert topics.classify("is there a park nearby") == ["parking"]
    assert topics.classify("my spark plug") == []  # not "park"
    assert topics.classify("the hospital server") == []  # not "er"


def _kb_with(tmp_path: Path, change) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(DEFAULT_KB_DIR, kb)
    data = yaml.safe_load((kb / "hospital.yml").read_text("utf-8"))
    change(data)
    (kb / "hospital.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return kb


@pytest.mark.parametrize("change,message", [
    (lambda d: d["topics"]["parking"]["answer"].pop("en"), "lacks"),
    (lambda d: d["topics"]["parking"]["title"].update(zh=""), "lacks"),
    (lambda d: d["topics"]["fees"]["answer"].update(zh="{fee_table}"), "unknown placeholders"),
    (lambda d: d["topics"]["bring"].pop("keywords"), "no keywords"),
    (lambda d: d.pop("topics"), "no topics"),
])
def test_a_broken_topic_stops_loading(tmp_path: Path, change, message: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=message):
        HospitalTopics.load(_kb_with(tmp_path, change))


def test_topics_have_a_version() -> None:
    assert HospitalTopics.load().version


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("晚上孩子发烧，儿科急诊在哪", "zh", "急诊楼2楼"),
    ("my son has a fever, where is the children's emergency?", "en", "2nd floor"),
    ("头疼好几天了，挂号费多少钱", "zh", "挂号费"),
])
def test_a_hospital_question_asked_with_symptoms_is_answered(
        info: HospitalInfoService, text: str, lang: str, expected: str) -> None:
    replies = info.asked_alongside(text, lang)
    assert replies and expected in replies[0].text(lang)


@pytest.mark.parametrize("text", [
    "孩子发烧了", "I have had a headache for three days", "胸口疼，出汗",
    "头疼好几天了，怎么办",  # a question, but about no hospital topic
])
def test_symptoms_alone_get_no_hospital_answer(info: HospitalInfoService, text: str) -> None:
    assert info.asked_alongside(text, "zh") == []
