"""The same words read the same way by every feature.

Numbers: the medication schedule, the booking dates, the triage facts and the
re-visit dates read one numeral reader (:mod:`bot.text.numbers`). An exact
number is the same number everywhere; an approximate one ("两三", "一二",
"十几") is never a different number in one of them (it was 23, nothing and 3
in three readers): the triage takes its upper end, the others ask again.

Yes / no / not sure: the triage interview, the re-visit questions, offers and
confirmations read one reader (:mod:`bot.text.yesno`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.appointments.dates import parse_when
from bot.errors import ValidationError
from bot.nlp.replies import read_offer_reply
from bot.reminders import sig
from bot.revisits.answers import parse_past_date, parse_symptom_answer
from bot.text import normalise, read_int, read_number
from bot.text.yesno import Reply, read_confirmation, read_reply, read_yes_no
from bot.triage import default_knowledge, facts, interview
from bot.triage.learned import light_scan
from bot.triage.pipeline import Triage

NOW = datetime(2026, 11, 22, 10, 0)
TODAY = NOW.date()

# token -> (low, high) as the reader reports it; exact when low == high
NUMERALS = {
    "两三": (2, 3), "一二": (1, 2), "三四": (3, 4), "十几": (11, 19),
    "十五": (15, 15), "二十一": (21, 21), "3": (3, 3), "３": (3, 3), "两": (2, 2),
}


def _snooze_minutes(token: str) -> float | None:
    try:
        delta = sig.parse_snooze(f"{token}分钟后")
    except ValidationError:
        return None  # asked again
    return delta.total_seconds() / 60 if delta else None


def _days_ahead(token: str) -> float | None:
    spec = parse_when(f"{token}天后", NOW)
    return (spec.day - TODAY).days if spec and spec.day else None


def _days_ago(token: str) -> float | None:
    found = parse_past_date(f"{token}天前", TODAY)
    return (TODAY - found).days if found else None


def _triage_days(token: str) -> float | None:
    return facts.duration_days(light_scan(f"发烧{token}天了"))


# what each caller does with an approximate number: the triage takes its value
# (a range's upper end: a fever of "两三天" is up to three days; 十几 is 13); a
# reminder, a booking or a recorded date is not set on a guess (asked again)
CALLERS = {
    "reminders.snooze": (_snooze_minutes, False),
    "appointments.dates": (_days_ahead, False),
    "revisits.past_date": (_days_ago, False),
    "triage.duration": (_triage_days, True),
}


@pytest.mark.parametrize("token", list(NUMERALS))
def test_the_reader_reports_exact_and_approximate_numbers(token: str) -> None:
    low, high = NUMERALS[token]
    numeral = read_number(token)
    assert (numeral.low, numeral.high) == (low, high)
    assert numeral.approximate is (low != high)
    assert read_int(token) == (None if numeral.approximate else high)


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("token", list(NUMERALS))
def test_every_caller_reads_a_number_the_same_way(caller: str, token: str) -> None:
    read, takes_approximate = CALLERS[caller]
    numeral = read_number(token)
    expected = numeral.value if takes_approximate or not numeral.approximate else None
    assert read(token) == expected
    if numeral.approximate and takes_approximate and numeral.high - numeral.low == 1:
        assert read(token) == numeral.high  # "两三天": up to three days


def test_the_triage_reads_a_few_as_three() -> None:
    """几 is "a few": 3, like the English readers' "a few" (十几 13, 几十 30)."""
    assert [read_number(t).value for t in ("几", "十几", "几十", "二十几")] == [3, 13, 30, 23]
    assert facts.cn_number("十几") == 13 and facts.cn_number("两三") == 3


@pytest.mark.parametrize("token", ["十十十", "三五七", "-5", "9" * 20, "", "abc"])
def test_no_number_is_none_everywhere(token: str) -> None:
    assert read_number(token) is None and read_int(token) is None
    assert facts.cn_number(token) is None
    with pytest.raises(ValidationError):
        sig.number(token)


# -- yes / no / not sure --------------------------------------------------------------

REPLIES = {
    "有": Reply.YES, "是的": Reply.YES, "yes": Reply.YES, "ｙｅｓ": Reply.YES, "Yeah": Reply.YES,
    "没有": Reply.NO, "不是": Reply.NO, "no": Reply.NO, "Nope": Reply.NO, "都没有": Reply.NO,
    "不知道": Reply.UNSURE, "说不好": Reply.UNSURE, "not sure": Reply.UNSURE,
    "I don’t know": Reply.UNSURE,
}
_RULES = Triage(default_knowledge())


def _interview_red_flag(text: str) -> Reply | None:
    value = interview.parse_answer(interview.RED_FLAG_SLOT, text, _RULES)
    return {True: Reply.YES, False: Reply.NO, interview.UNKNOWN: Reply.UNSURE}.get(value)


def _interview_pregnant(text: str) -> Reply | None:
    value = interview.parse_answer("triage_pregnant", text, _RULES)
    return {True: Reply.YES, False: Reply.NO, interview.UNKNOWN: Reply.UNSURE}.get(value)


def _as_reply(value: bool | None) -> Reply | None:
    return {True: Reply.YES, False: Reply.NO}.get(value)


# each reader and what it makes of "not sure": the interview records it as
# unknown, a re-visit question, an offer or a yes/no slot asks again
YES_NO_READERS = {
    "interview.red_flag": (_interview_red_flag, Reply.UNSURE),
    "interview.pregnant": (_interview_pregnant, Reply.UNSURE),
    "revisits.new_symptoms": (lambda t: _as_reply(parse_symptom_answer(t)), None),
    "yesno.sentence": (lambda t: _as_reply(read_yes_no(t)), None),
    "offers": (lambda t: _as_reply(read_offer_reply(t)), None),
}


@pytest.mark.parametrize("reader", list(YES_NO_READERS))
@pytest.mark.parametrize("text", list(REPLIES))
def test_every_reader_reads_yes_no_and_not_sure_the_same_way(reader: str, text: str) -> None:
    read, on_unsure = YES_NO_READERS[reader]
    expected = REPLIES[text]
    assert read_reply(text) is expected and read_reply(text, leading=True) is expected
    assert read(text) is (on_unsure if expected is Reply.UNSURE else expected)


@pytest.mark.parametrize("text", list(REPLIES))
def test_a_confirmation_never_contradicts_the_reply(text: str) -> None:
    """Confirming is stricter ("有" confirms nothing), never the other way round
    ("not sure" confirmed an erasure: it holds "sure")."""
    assert read_confirmation(text) in {Reply.YES: (True, None), Reply.NO: (False,),
                                       Reply.UNSURE: (None,)}[REPLIES[text]]


@pytest.mark.parametrize(("text", "sentence", "first_word"), [
    ("没有新症状", Reply.NO, Reply.NO),
    ("还是老样子", Reply.NO, None),  # the words of change answer "new or worse?" only
    ("有，但是没发烧", Reply.NO, Reply.YES),  # a sentence: no outranks yes; first word: yes
    ("胸口有点痛", Reply.YES, None),  # no yes/no answer by its first word: asked again
    ("yes, no vomiting", Reply.NO, Reply.YES),
    ("好的", Reply.YES, None),  # accepts an offer; says no fact is so
    ("要带什么", Reply.YES, None),  # (offers and confirmations also ask is_question)
    ("没问题", Reply.YES, None),
])
def test_the_two_readings_are_the_documented_ones(text, sentence, first_word) -> None:
    assert read_reply(text) is sentence
    assert read_reply(text, leading=True) is first_word


@pytest.mark.parametrize(("text", "normal"), [
    ("  ＯＫ　 好的\n", "ok 好的"), ("I don’t KNOW", "i don't know"), ("−5", "-5"),
    ("½片", "½片"), ("５００㎎", "500mg"), ("", ""),
])
def test_the_one_normal_form(text: str, normal: str) -> None:
    assert normalise(text) == normal


def test_keep_case_keeps_names() -> None:
    assert normalise("  Li   Wei ", keep_case=True) == "Li Wei"


def test_half_a_tablet_is_never_two() -> None:
    """NFKC spells "½" as "1⁄2"; the dose reader must not find a 2 in it: it keeps "½片"
    as written."""
    assert sig.parse_dose("每次½片") == "½片"
    assert sig.parse_dose("每次1/2片") == "1/2片"
    assert read_number(normalise("½")) is None


def test_dates_are_days_not_numbers_of_the_past() -> None:
    assert parse_past_date("十五天前", TODAY) == TODAY - timedelta(days=15)
    assert parse_when("十五天后", NOW).day == date(2026, 12, 7)


@pytest.mark.parametrize(("read", "text"), [
    (sig.parse_schedule, "每天两三次"), (sig.parse_schedule, "每一二小时一次"),
    (lambda text: sig.parse_course(text, TODAY), "吃两三天"),
])
def test_a_reminder_is_not_set_on_an_approximate_number(read, text: str) -> None:
    with pytest.raises(ValidationError):
        read(text)


def test_a_dose_is_kept_as_written() -> None:
    assert sig.parse_dose("每次两三片") == "两三片"


def test_never_mind_declines_but_answers_no_symptom_question() -> None:
    assert read_reply("算了") is Reply.NO and read_confirmation("算了") is False
    assert read_reply("算了，先说别的", leading=True) is None


@pytest.mark.parametrize("text", ["not sure", "不确定", "maybe ok"])
def test_a_doubt_confirms_nothing(text: str) -> None:
    """"not sure" holds "sure" and "不确定" holds 确定: they confirmed an erasure."""
    assert read_confirmation(text) is None


@pytest.mark.parametrize(("text", "value"), [
    ("not pregnant", False), ("I'm not pregnant", False), ("没有怀孕", False), ("怀孕了", True),
])
def test_a_pregnancy_answer_reads_its_negation(text: str, value: bool) -> None:
    assert interview.parse_answer("triage_pregnant", text, _RULES) is value
