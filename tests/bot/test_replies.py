"""The readers of conversation-steering replies (bot.nlp.replies), issue 15."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.nlp.replies import hospital_topic, is_exit, is_question, read_offer_reply


@pytest.mark.parametrize("text", [
    "算了", "算了 不用了", "那算了吧", "算了，不约了", "不用了谢谢", "不要了", "退出", "停止", "结束了",
    "先不用了", "取消", "stop", "Stop please", "STOP!", "never mind", "Nevermind.", "forget it",
    "ok never mind thanks", "cancel", "I'm done", "quit", "不对 不要这个", "不要这个了",
])
def test_a_message_that_is_only_an_exit_exits(text: str) -> None:
    assert is_exit(text)


@pytest.mark.parametrize("text", [
    "算了还是说中文吧 妇产科 下周一上午",  # issue 15: the rest must not be dropped
    "算了，改成下周四", "不对，是下周四，李医生", "stop taking aspirin?", "没有", "不用", "no", "no thanks",
    "张三", "hello?", "", "   ", "cancel my appointment on Monday", "不对",
    "不要这个药 换成阿司匹林",
])
def test_a_message_with_content_is_no_exit(text: str) -> None:
    assert not is_exit(text)


def test_cancel_counts_only_where_it_cannot_be_the_answer() -> None:
    assert is_exit("取消") and not is_exit("取消", cancel=False)
    assert is_exit("算了", cancel=False)


@pytest.mark.parametrize(("text", "expected"), [
    ("要", True), ("好的", True), ("好", True), ("可以", True), ("要的", True), ("yes", True),
    ("yes please", True), ("sure", True), ("ok", True), ("行", True),
    ("不用了", False), ("no thanks", False), ("no", False), ("不要", False), ("算了", False),
    ("不需要", False), ("nope", False), ("never mind", False),
    ("要带什么", None), ("can I come tomorrow?", None), ("不确定", None), ("not sure", None),
    ("", None), ("停车场在哪", None),
])
def test_offer_replies_in_zh_and_en(text: str, expected: bool | None) -> None:
    assert read_offer_reply(text) is expected


@pytest.mark.parametrize(("text", "topic"), [
    ("how much is parking", "parking"), ("停车方便吗", "parking"), ("要带什么", "bring"),
    ("需要带身份证吗", "bring"), ("挂号费多少钱", "fees"), ("医保能报销吗", "insurance"),
    ("几点开门？", "hours"), ("where is the hospital?", "address"),
])
def test_hospital_questions_are_recognised(text: str, topic: str) -> None:
    assert hospital_topic(text) == topic


@pytest.mark.parametrize("text", ["张三", "是的", "13812345678", "明天上午", "我想停车", "parking",
                                  "下周一", "3天"])
def test_answers_are_no_hospital_questions(text: str) -> None:
    assert hospital_topic(text) is None


def test_questions() -> None:
    assert is_question("how much is parking") and is_question("停车方便吗")
    assert not is_question("张三") and not is_question("好的，哪天都行")


@given(st.text(max_size=400))
def test_readers_never_raise(text: str) -> None:
    is_exit(text)
    read_offer_reply(text)
    hospital_topic(text)
