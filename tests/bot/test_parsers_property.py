"""Property-based tests (Hypothesis) over every deterministic value parser.

Security review: a parser reads free text from anyone, so on ANY input (CJK, ASCII,
digits, punctuation, emoji, up to 5,000 characters) it

* raises nothing but :class:`bot.errors.ValidationError` (its callers turn that into
  the field's bilingual message; anything else is a 500 or a dead action),
* returns in bounded time (a generous bound, measured per call: the quadratic regexes
  found by the review took 1.6-11 s on 4,000-5,000 digits),
* refuses an impossible value rather than turning it into a plausible one.

The red-flag screen runs on every inbound message and must never raise at all.

Examples are derandomised (the same inputs on every run, so CI cannot flake); set
``MEDBOT_FUZZ_EXAMPLES=5000`` for a longer, randomised run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.appointments.dates import parse_when
from bot.errors import ValidationError
from bot.reminders import readings, sig
from bot.reminders.kb import default_followup_kb
from bot.reminders.service import ReminderInputError
from bot.revisits import answers
from bot.triage import default_triage, interview
from bot.text import yesno
from bot.text.normalise import MAX_ANSWER_CHARS
from bot.text.numbers import read_int as cn_int
from bot.text.numbers import read_number
from bot.triage.red_flags import screen

_FUZZ = os.environ.get("MEDBOT_FUZZ_EXAMPLES")


def _settings(examples: int) -> settings:
    return settings(max_examples=int(_FUZZ or examples), derandomize=_FUZZ is None,
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


# Generous per-call bounds (the machine is shared): answers are capped at
# MAX_ANSWER_CHARS so each read is a few milliseconds; free text is read whole.
ANSWER_BUDGET = 0.25
FREE_TEXT_BUDGET = 2.0
MAX_TEXT = 5000

# Pieces that steer the generator into the parsers' patterns (and their old failures).
FRAGMENTS = [
    "每天", "一天", "三次", "两", "十", "十十十", "一百二", "点", "點", "时", "半", "一刻", "分钟",
    "分", "小时", "个", "个半", "后", "以后", "天", "日", "号", "周", "星期", "礼拜", "月", "年",
    "岁", "周岁", "大", "前", "下周", "下下周", "周二", "二十点", "明天", "后天", "下午", "晚上",
    "早上", "凌晨", "吃", "服", "到", "从", "开始", "疗程", "片", "粒", "mg", "毫克", "饭后", "睡前",
    "血压", "高压", "低压", "血糖", "空腹", "体温", "度", "℃", "°F", "发烧", "胸痛", "没有", "不",
    "是", "有", "不知道", "宝宝", "孩子", "孕", "2月29日", "2月30日", "feb 29", "29 feb", "2/29",
    "every", "hours", "q8h", "bid", "tid", "qd", "b.i.d.", "twice a day", "for", "days", "weeks",
    "x", "until", "in", "minutes", "mins", "hour", "later", "am", "pm", "13pm", "at", "tomorrow",
    "next", "tuesday", "wed", "yr", "yrs", "yo", "y/o", "old", "mos", "wks", "m/o", "aged", "i'm",
    "temp", "bp", "over", "/", "sugar", "glucose", "mmol/l", "mg/dl", "no", "not", "yes", "ok",
    "ago", "last month", "none", "skip", "-", "−", "－", ".", ":", "：", ",", "，", "。", "？", "?",
    "!", " ", "  ", "\n", "\t", "0", "1", "9", "12", "29", "123", "1234", "-5", "3-5", "3.5",
    "99999999999999999999", "٣", "²", "１２", "〇", "😀", "🤒", "\u200b", "\u0301", "ａｍ",
]
_any_text = st.text(st.characters(codec="utf-8"), max_size=80)
_fragment_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), _any_text.map(lambda s: s[:4])),
                          max_size=30).map("".join)
_long_text = st.tuples(
    st.lists(st.sampled_from(FRAGMENTS), max_size=3).map("".join),
    st.sampled_from(["9", "1", "一", "十", "二十", "我", "a ", "no ", "1.", "1/", "1-", " ",
                     "个", "血压 ", "😀", "十点", "3天", "x"]),
    st.integers(100, MAX_TEXT),
    st.sampled_from(["", "分钟后", "点", "天", "岁", "次", "/80", "片", " fever"]),
).map(lambda t: (t[0] + t[1] * t[2])[:MAX_TEXT - len(t[3])] + t[3])
TEXTS = st.one_of(_fragment_text, _any_text, _long_text)

TODAY = date(2024, 3, 1)  # the day after 29 February of a leap year
NOW = datetime(2024, 3, 1, 9, 30)
THRESHOLDS = default_followup_kb().thresholds
TRIAGE = default_triage()


def _answer_slot(slot: str) -> Callable[[str], Any]:
    return lambda text: interview.parse_answer(slot, text, TRIAGE)


ANSWER_PARSERS: dict[str, Callable[[str], Any]] = {
    "sig.parse_schedule": sig.parse_schedule,
    "sig.parse_course": lambda text: sig.parse_course(text, TODAY),
    "sig.parse_dose": sig.parse_dose,
    "sig.parse_snooze": sig.parse_snooze,
    "readings.parse_reading": readings.parse_reading,
    "readings.read": lambda text: readings.read(text, THRESHOLDS),
    "dates.parse_when": lambda text: parse_when(text, NOW),
    "numbers.read_int": cn_int,
    "numbers.read_number": read_number,
    "yesno.read_yes_no": yesno.read_yes_no,
    "yesno.read_confirmation": yesno.read_confirmation,
    "answers.is_none_answer": answers.is_none_answer,
    "answers.parse_past_date": lambda text: answers.parse_past_date(text, TODAY),
    **{f"interview.{slot}": _answer_slot(slot)
       for slot in (*interview.FACT_SLOTS, interview.RED_FLAG_SLOT)},
}
FREE_TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "red_flags.screen": screen,
    "triage.extract": TRIAGE.extract,  # ages, sex, pregnancy, durations, temperature, BP...
}


def _timed(parse: Callable[[str], Any], text: str) -> float:
    started = time.perf_counter()
    try:
        parse(text)
    except ValidationError:  # ReminderInputError is one
        pass
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(ANSWER_PARSERS))
@given(text=TEXTS)
@example(text="9" * 4000 + "分钟后")
@example(text="9" * 280 + "分钟后")
@example(text="十" * 280 + "点")
@example(text="吃99999999999999天")
@example(text="99999999999999999999分钟后")
@example(text="2月29日")
@example(text="feb 29")
@example(text="十十十点")
@example(text="my 9 yr old")
@_settings(100)
def test_answer_parsers_never_crash_and_are_fast(name: str, text: str) -> None:
    assert _timed(ANSWER_PARSERS[name], text) < ANSWER_BUDGET


@pytest.mark.parametrize("name", sorted(FREE_TEXT_PARSERS))
@given(text=TEXTS)
@example(text="my 9 yr old has a fever and a rash")
@example(text="9" * MAX_TEXT)
@example(text="血压" + "1" * (MAX_TEXT - 2))
@example(text="一" * MAX_TEXT)
@example(text="🤒发烧" * (MAX_TEXT // 3))
@_settings(40)
def test_free_text_is_read_in_bounded_time(name: str, text: str) -> None:
    assert _timed(FREE_TEXT_PARSERS[name], text) < FREE_TEXT_BUDGET


@given(text=TEXTS)
@example(text="my 9 yr old has a fever and a rash")
@_settings(60)
def test_the_screen_never_raises(text: str) -> None:
    hit = screen(text)  # no try: not even a ValidationError may escape
    assert hit is None or hit.category


# -- numbers ---------------------------------------------------------------------------------

_CN = "零一二三四五六七八九"


def _chinese(n: int) -> str:
    """0 <= n < 10000 in Chinese numerals ("一千零五", "二十", "十一")."""
    if n == 0:
        return "零"
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            out += ("零" if zero and out else "") + _CN[digit] + unit
            zero = False
        else:
            zero = True
    return out[1:] if out.startswith("一十") else out


@given(st.integers(0, 9999))
@_settings(300)
def test_cn_int_reads_every_chinese_numeral(n: int) -> None:
    assert cn_int(_chinese(n)) == n
    assert cn_int(str(n)) == n


@given(st.text(st.sampled_from("零〇一二两三四五六七八九十百千0123456789 x"), max_size=12))
@_settings(300)
def test_cn_int_is_none_or_a_bounded_int(token: str) -> None:
    value = cn_int(token)
    assert value is None or 0 <= value < 10 ** 6


# -- implausible values are refused, never corrected -----------------------------------------

_NUMBERS = st.one_of(st.integers(-10 ** 8, 10 ** 8),
                     st.decimals(-2000, 2000, places=1, allow_nan=False).map(str))


@given(value=_NUMBERS, unit=st.sampled_from(["", " mmol/L", " mg/dL"]))
@example(value=1234, unit="")
@example(value=-5, unit="")
@_settings(200)
def test_a_glucose_reading_is_as_written_or_refused(value: object, unit: str) -> None:
    written = str(value)
    try:
        reading = readings.read(f"血糖 {written}{unit}", THRESHOLDS)
    except ReminderInputError as refused:
        assert refused.message_key in ("utter_reading_implausible",
                                       "utter_reading_not_understood")
        return
    number = float(written)
    mg_dl = unit == " mg/dL" or (not unit and number > 35)
    assert reading.value == (round(number / 18, 1) if mg_dl else number)
    low, high = THRESHOLDS["glucose"]["plausible"]["mmol_l"]
    assert low <= reading.value <= high


@given(systolic=st.integers(-500, 99999), diastolic=st.integers(-500, 99999))
@_settings(200)
def test_a_bp_reading_is_as_written_or_refused(systolic: int, diastolic: int) -> None:
    try:
        reading = readings.read(f"血压{systolic}/{diastolic}", THRESHOLDS)
    except ReminderInputError:
        return
    assert (reading.systolic, reading.diastolic) == (systolic, diastolic)
    assert readings.plausible(reading, THRESHOLDS)


@given(years=st.integers(-1000, 10 ** 7), form=st.sampled_from(
    ["我{}岁", "患者{}周岁", "my {} yr old", "my {}-year-old son", "{}yo", "I'm {}"]))
@_settings(200)
def test_an_age_is_as_written_or_not_stated(years: int, form: str) -> None:
    age = TRIAGE.extract(form.format(years)).case.age_years
    assert age == (float(years) if 0 <= years <= 120 else None)


@given(days=st.integers(-1000, 10 ** 9))
@_settings(200)
def test_a_duration_is_as_written_or_not_stated(days: int) -> None:
    found = TRIAGE.extract(f"咳嗽{days}天了").case.duration_days
    assert found == (float(days) if 0 < days <= 120 * 365 else None)


@given(tenths=st.integers(-2000, 20000), form=st.sampled_from(["体温{}度", "发烧{}℃", "temp {}"]))
@_settings(200)
def test_a_temperature_is_plausible_or_not_stated(tenths: int, form: str) -> None:
    temperature = TRIAGE.extract(form.format(tenths / 10)).case.vitals.temperature_c
    assert temperature is None or 34 <= temperature <= 43


@given(minutes=st.integers(-100, 10 ** 25))
@_settings(200)
def test_a_snooze_is_as_written_or_refused(minutes: int) -> None:
    try:
        delta = sig.parse_snooze(f"{minutes}分钟后")
    except ValidationError:
        assert not 1 <= minutes <= 12 * 60  # "-5分钟后" too: refused, not read as 5
        return
    assert delta == timedelta(minutes=minutes)
    assert timedelta(0) < delta <= sig.MAX_SNOOZE


@given(days=st.integers(-100, 10 ** 20), form=st.sampled_from(["吃{}天", "for {} days"]))
@_settings(200)
def test_a_course_is_as_written_or_refused(days: int, form: str) -> None:
    try:
        course = sig.parse_course(form.format(days), TODAY)
    except ValidationError:
        assert not 1 <= days <= 366
        return
    assert course.days == days and course.start == TODAY


@given(today=st.dates(date(2000, 1, 1), date(2098, 12, 31)),
       month=st.integers(0, 13), day=st.integers(0, 32),
       form=st.sampled_from(["{m}月{d}日", "{m}/{d}", "{d} {mon}", "{mon} {d}"]))
@example(today=date(2024, 3, 1), month=2, day=29, form="{m}月{d}日")
@example(today=date(2024, 3, 1), month=2, day=29, form="{mon} {d}")
@_settings(300)
def test_a_booking_date_exists_and_is_within_a_year(today: date, month: int, day: int,
                                                    form: str) -> None:
    months = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    if "{mon}" in form and not 1 <= month <= 12:
        return
    text = form.format(m=month, d=day, mon=months[month - 1] if 1 <= month <= 12 else "")
    spec = parse_when(text, datetime.combine(today, datetime.min.time()))
    if spec is None or spec.day is None:
        return
    assert (spec.day.month, spec.day.day) == (month, day)
    assert today <= spec.day <= today + timedelta(days=366)


@given(today=st.dates(date(2000, 1, 1), date(2098, 12, 31)), month=st.integers(1, 12),
       day=st.integers(1, 31))
@example(today=date(2024, 5, 1), month=2, day=29)
@_settings(300)
def test_a_course_date_exists_and_is_near(today: date, month: int, day: int) -> None:
    try:
        course = sig.parse_course(f"从{month}月{day}日开始吃7天", today)
    except ValidationError:
        return
    assert (course.start.month, course.start.day) == (month, day)
    assert abs(course.start - today) <= timedelta(days=366)
    assert course.days == 7


@given(text=TEXTS)
@_settings(100)
def test_overlong_answers_are_not_read(text: str) -> None:
    text = (text + " ") * (MAX_ANSWER_CHARS // max(len(text), 1) + 2)
    assert len(text) > MAX_ANSWER_CHARS
    assert parse_when(text, NOW) is None and sig.parse_dose(text) is None
    assert answers.parse_past_date(text, TODAY) is None and yesno.read_yes_no(text) is None
    assert interview.parse_answer("triage_age", text, TRIAGE) is None
    with pytest.raises(ValidationError):
        sig.parse_schedule(text)
