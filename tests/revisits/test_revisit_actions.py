"""The re-visit form actions: the gate in conversation, in zh and en."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import revisits as act
from tests.appointments.conftest import make_tracker, patient, texts
from tests.forms import answer

USER = patient(7)
GOOD = {"revisit_condition": "hypertension", "revisit_red_flags": True,
        "revisit_new_symptoms": False, "revisit_institution": "示例市第一人民医院",
        "revisit_diagnosed_on": "2026-09-01", "revisit_diagnosis": "原发性高血压",
        "revisit_record_number": "none", "revisit_drugs": ["amlodipine"], "revisit_confirm": True}


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    return dispatcher, asyncio.run(action.run(dispatcher, tracker, {}))


def validate(services, slot, value, lang="zh", slots=None):
    dispatcher = CollectingDispatcher()
    form = act.ValidateRevisitForm(services)
    result = asyncio.run(getattr(form, f"validate_{slot}")(
        value, dispatcher, make_tracker(slots or {}, lang=lang), {}))
    return dispatcher, result


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_start_prefills_condition_and_drugs(services) -> None:
    dispatcher, events = run(act.ActionStartRevisit(services), make_tracker(
        text="我的高血压想续开氨氯地平", intent="request_revisit"))
    assert "互联网医院" in texts(dispatcher)[0]
    slots = slots_of(events)
    assert slots["revisit_condition"] == "hypertension" and slots["revisit_drugs"] == ["amlodipine"]


def test_eligible_request_in_chinese(services) -> None:
    assert validate(services, "revisit_condition", "高血压")[1] == {
        "revisit_condition": "hypertension"}
    assert validate(services, "revisit_red_flags", "没有")[1] == {"revisit_red_flags": True}
    assert validate(services, "revisit_new_symptoms", "没有，和以前一样")[1] == {
        "revisit_new_symptoms": False}
    assert validate(services, "revisit_diagnosed_on", "2026年9月1日")[1] == {
        "revisit_diagnosed_on": "2026-09-01"}
    assert validate(services, "revisit_diagnosis", "高血压2级",
                    slots={"revisit_condition": "hypertension"})[1] == {
        "revisit_diagnosis": "高血压2级"}
    assert validate(services, "revisit_record_number", "没有")[1] == {
        "revisit_record_number": "none"}
    assert validate(services, "revisit_drugs", "氨氯地平和缬沙坦")[1] == {
        "revisit_drugs": ["amlodipine", "valsartan"]}
    dispatcher, _ = run(act.ActionAskRevisitConfirm(services), make_tracker(GOOD))
    assert "申请续开：氨氯地平" in texts(dispatcher)[0] and "病历号：无" in texts(dispatcher)[0]
    dispatcher, events = run(act.ActionSubmitRevisit(services),
                             make_tracker(GOOD, sender=USER.external_id))
    [queued] = texts(dispatcher)
    assert "心内科的医生会在24小时内审核" in queued and "我不能开具处方" in queued
    assert slots_of(events)["revisit_outcome"] == "queued"
    [item] = services.revisits.queue()
    assert item.code in queued and item.drug_ids == ("amlodipine",)


def test_eligible_request_in_english(services) -> None:
    slots = {**GOOD, "revisit_condition": "type2_diabetes", "revisit_diagnosis": "T2DM",
             "revisit_drugs": ["metformin"]}
    dispatcher, _ = run(act.ActionAskRevisitConfirm(services), make_tracker(slots, lang="en"))
    assert "Renewal requested: metformin" in texts(dispatcher, "en")[0]
    dispatcher, _ = run(act.ActionSubmitRevisit(services),
                        make_tracker(slots, sender=USER.external_id, lang="en"))
    assert "Endocrinology will review it within 24 hours" in texts(dispatcher, "en")[0]


@pytest.mark.parametrize(("slot", "value", "reason"), [
    ("revisit_condition", "心衰", "需要医生面诊评估"),
    ("revisit_red_flags", "有", "需要尽快线下就医"),
    ("revisit_red_flags", "胸口剧痛，出冷汗", "需要尽快线下就医"),
    ("revisit_new_symptoms", "突然一侧手脚没力气，说话不清楚", "需要尽快线下就医"),
    ("revisit_new_symptoms", "有，头晕加重了", "新出现或加重的症状"),
    ("revisit_diagnosed_on", "2025年1月1日", "超过了180天的有效期"),
    ("revisit_diagnosed_on", "2027年1月1日", "不能晚于今天"),
])
def test_not_eligible_says_exactly_why_and_stops(services, slot, value, reason) -> None:
    dispatcher, result = validate(services, slot, value)
    said = "\n".join(texts(dispatcher))
    assert "抱歉，这次不能在线复诊" in said and reason in said
    assert result["requested_slot"] is None and result["revisit_outcome"] == "not_eligible"
    if "胸口" in value or "手脚" in value:
        assert texts(dispatcher)[0].startswith("⚠️")  # the emergency advice comes first


def test_not_eligible_in_english(services) -> None:
    dispatcher, result = validate(services, "revisit_new_symptoms", "yes, it got worse", "en")
    said = texts(dispatcher, "en")[0]
    assert said.startswith("Sorry, an online follow-up isn't possible this time, because:")
    assert "new or worsening symptoms" in said


def test_refusal_offers_an_in_person_appointment(services) -> None:
    dispatcher, events = run(act.ActionSubmitRevisit(services), make_tracker(
        {"revisit_condition": "type2_diabetes", "revisit_outcome": "not_eligible"}))
    assert texts(dispatcher) == ["建议您到医院线下就诊。需要我帮您预约内分泌科的门诊吗？（需要 / 不用）"]
    slots = slots_of(events)
    assert slots["appt_suggested_department"] == "endocrinology"
    assert slots["revisit_outcome"] == "not_eligible"
    assert services.revisits.queue() == []


def test_unclear_and_invalid_answers_reask(services) -> None:
    dispatcher, result = validate(services, "revisit_red_flags", "哦哦")
    assert result == {"revisit_red_flags": None} and texts(dispatcher)
    dispatcher, result = validate(services, "revisit_condition", "感冒")
    assert result == {"revisit_condition": None} and "不在在线复诊的病种范围内" in texts(dispatcher)[0]
    dispatcher, result = validate(services, "revisit_diagnosis", "胃炎",
                                  slots={"revisit_condition": "hypertension"})
    assert result == {"revisit_diagnosis": None} and "对不上" in texts(dispatcher)[0]
    dispatcher, result = validate(services, "revisit_diagnosed_on", "不记得了")
    assert result == {"revisit_diagnosed_on": None}
    dispatcher, result = validate(services, "revisit_drugs", "那个白色的小药片")
    assert result == {"revisit_drugs": None}
    assert validate(services, "revisit_drugs", "不需要")[1] == {"revisit_drugs": []}


def test_stop_submits_nothing(services) -> None:
    _, result = answer(act.ValidateRevisitForm(services), "revisit_institution", "算了")
    assert result["requested_slot"] is None and result["revisit_confirm"] is False
    assert result["revisit_institution"] is None
    dispatcher, events = run(act.ActionSubmitRevisit(services),
                             make_tracker({**GOOD, "revisit_confirm": False}))
    assert texts(dispatcher) == ["好的，已停止，复诊申请没有提交。"]
    assert services.revisits.queue() == []


def test_service_rechecks_the_gate_on_submit(services) -> None:
    # the slots claim a confirmed request, but the evidence is too old: nothing is queued
    dispatcher, events = run(act.ActionSubmitRevisit(services), make_tracker(
        {**GOOD, "revisit_diagnosed_on": "2025-01-01"}, sender=USER.external_id))
    said = texts(dispatcher)
    assert "超过了180天的有效期" in said[0] and "预约内分泌科" not in said[1]
    assert "心内科" in said[1]
    assert services.revisits.queue() == []


@pytest.mark.parametrize("text", ["氨氯地平", "amlodipine 5mg", "5mg", "是的", "how much is parking"])
def test_a_record_number_is_a_record_number(services, text) -> None:
    """Issue 15: a medication name became a re-visit record number."""
    said, result = answer(act.ValidateRevisitForm(services), "revisit_record_number", text)
    assert result == {"revisit_record_number": None}
    assert said[0]["response"] == "utter_revisit_invalid_record_number" or said[0]["response"].startswith("utter_hospital_")


@pytest.mark.parametrize(("text", "number"), [("MZ2026001", "MZ2026001"),
                                              ("病历号是MZ123", "MZ123"), ("123456", "123456")])
def test_record_numbers_are_kept(services, text, number) -> None:
    _, result = answer(act.ValidateRevisitForm(services), "revisit_record_number", text)
    assert result == {"revisit_record_number": number}


@pytest.mark.parametrize("text", ["算了", "不用了", "stop", "never mind"])
def test_every_revisit_question_accepts_an_exit(services, text) -> None:
    for slot in ("revisit_condition", "revisit_red_flags", "revisit_diagnosed_on",
                 "revisit_drugs", "revisit_confirm"):
        said, result = answer(act.ValidateRevisitForm(services), slot, text)
        assert said == [] and result["requested_slot"] is None
        assert result["revisit_confirm"] is False and result["form_exit"] == "revisit_form"


@pytest.mark.parametrize("answer_text", ["没有", "没去医院看过", "之前没看过医生，第一次", "never been diagnosed"])
def test_no_prior_in_person_diagnosis_is_refused_not_stored(services, answer_text) -> None:
    """Issue 15 harmful: "没有" to "where were you diagnosed?" was stored as the
    institution; a first visit is never done online: refused, with the reason."""
    dispatcher, result = validate(services, "revisit_institution", answer_text,
                                  slots={"revisit_condition": "hypertension"})
    assert result["revisit_outcome"] == "not_eligible" and result["requested_slot"] is None
    assert "revisit_institution" not in result
    assert "线下确诊" in texts(dispatcher)[0] or "in-person" in texts(dispatcher)[0]


def test_a_hospital_name_is_still_an_institution(services) -> None:
    assert validate(services, "revisit_institution", "北京协和医院")[1] == {
        "revisit_institution": "北京协和医院"}


def test_unchanged_and_confirm_answers_to_new_symptoms(services) -> None:
    """Issue 15 item 8: "还是老样子" is no; "确认" is not "有" (asked again)."""
    assert validate(services, "revisit_new_symptoms", "还是老样子")[1] == {
        "revisit_new_symptoms": False}
    dispatcher, result = validate(services, "revisit_new_symptoms", "确认")
    assert result == {"revisit_new_symptoms": None}
    assert "有" in texts(dispatcher)[0]
