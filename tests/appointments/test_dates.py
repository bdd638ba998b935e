"""Bilingual date/time expressions, relative to an injected 'now'."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.appointments.dates import WhenSpec, parse_when
from bot.text.numbers import read_int as cn_number

NOW = datetime(2026, 11, 22, 10, 0)  # Sunday
WED = datetime(2026, 11, 25, 9, 0)  # Wednesday


@pytest.mark.parametrize(("text", "now", "day", "session", "at"), [
    ("明天下午", NOW, date(2026, 11, 23), "pm", None),
    ("下周三上午", NOW, date(2026, 11, 25), "am", None),
    ("下周三上午", WED, date(2026, 12, 2), "am", None),
    ("后天", NOW, date(2026, 11, 24), None, None),
    ("大后天早上", NOW, date(2026, 11, 25), "am", None),
    ("今天下午", WED, date(2026, 11, 25), "pm", None),
    ("周三", WED, date(2026, 11, 25), None, None),
    ("星期五下午", WED, date(2026, 11, 27), "pm", None),
    ("这周五", WED, date(2026, 11, 27), None, None),
    ("下下周一", NOW, date(2026, 11, 30), None, None),
    ("11月25日", NOW, date(2026, 11, 25), None, None),
    ("十二月三号上午", NOW, date(2026, 12, 3), "am", None),
    ("1月5号", NOW, date(2027, 1, 5), None, None),
    ("25号", NOW, date(2026, 11, 25), None, None),
    ("3号", NOW, date(2026, 12, 3), None, None),
    ("2026-11-30", NOW, date(2026, 11, 30), None, None),
    ("三天后", NOW, date(2026, 11, 25), None, None),
    ("明天下午3点半", NOW, date(2026, 11, 23), "pm", time(15, 30)),
    ("明天上午十点", NOW, date(2026, 11, 23), "am", time(10, 0)),
    ("明天三点", NOW, date(2026, 11, 23), "pm", time(15, 0)),
    ("明天10:00", NOW, date(2026, 11, 23), "am", time(10, 0)),
    ("next Monday morning", NOW, date(2026, 11, 23), "am", None),
    ("next Monday morning", WED, date(2026, 11, 30), "am", None),
    ("tomorrow 3pm", NOW, date(2026, 11, 23), "pm", time(15, 0)),
    ("Tomorrow at 9:30 AM", NOW, date(2026, 11, 23), "am", time(9, 30)),
    ("the day after tomorrow", NOW, date(2026, 11, 24), None, None),
    ("Wednesday afternoon", NOW, date(2026, 11, 25), "pm", None),
    ("on Friday", WED, date(2026, 11, 27), None, None),
    ("Nov 30", NOW, date(2026, 11, 30), None, None),
    ("3rd of December at 2pm", NOW, date(2026, 12, 3), "pm", time(14, 0)),
    ("in 3 days", NOW, date(2026, 11, 25), None, None),
    ("today afternoon", NOW, date(2026, 11, 22), "pm", None),
    ("帮我约明天morning", NOW, date(2026, 11, 23), "am", None),
    ("明天3pm", NOW, date(2026, 11, 23), "pm", time(15, 0)),
    ("next wed at 2", NOW, date(2026, 11, 25), "pm", time(14, 0)),
    ("下周吧", WED, date(2026, 11, 30), None, None),
    ("next week, afternoon", WED, date(2026, 11, 30), "pm", None),
    ("下午", NOW, None, "pm", None),
    ("in the morning", NOW, None, "am", None),
    # issue 15: "一下" (a moment) before 下周 is not 下下周; Dr Sun is no Sunday
    ("帮我妈book一下下周三上午的cardiology", WED, date(2026, 12, 2), "am", None),
    ("查一下下周三", NOW, date(2026, 11, 25), None, None),
    ("下周一下午", WED, date(2026, 11, 30), "pm", None),
    ("with Dr Sun next Wednesday morning for my mother", WED, date(2026, 12, 2), "am", None),
    ("see a doctor tomorrow", NOW, date(2026, 11, 23), None, None),
])
def test_expressions(text, now, day, session, at) -> None:
    spec = parse_when(text, now)
    assert spec is not None
    assert (spec.day, spec.session, spec.at) == (day, session, at)


@pytest.mark.parametrize("text", ["随便，最早的就行", "as soon as possible", "any time", "最近的号"])
def test_asap(text) -> None:
    spec = parse_when(text, NOW)
    assert spec is not None and spec.asap


@pytest.mark.parametrize("text", ["hello", "我叫张三", "13812345678", "", "心内科", "Dr Wang"])
def test_no_date_or_time(text) -> None:
    assert parse_when(text, NOW) is None


def test_invalid_calendar_dates_are_not_invented() -> None:
    assert parse_when("2月30日", NOW) is None
    assert parse_when("2026-13-01", NOW) is None


def test_slot_round_trip() -> None:
    spec = parse_when("tomorrow 3pm", NOW)
    assert WhenSpec.from_slot(spec.to_slot()) == spec
    assert WhenSpec.from_slot(None) is None


@pytest.mark.parametrize(("text", "value"), [("二十五", 25), ("十", 10), ("十二", 12), ("两", 2),
                                             ("三十一", 31), ("7", 7), ("abc", None), ("", None)])
def test_cn_number(text, value) -> None:
    assert cn_number(text) == value


# -- security review: odd input is refused, never a crash or a silent misread -----------

@pytest.mark.parametrize(("text", "day", "at"), [
    ("下周二十点", date(2026, 11, 24), time(10, 0)),  # 周二 + 十点, was 20:00
    ("周二二十点", date(2026, 11, 24), time(20, 0)),
    ("下周二晚上八点", date(2026, 11, 24), time(20, 0)),
    ("星期三十点半", date(2026, 11, 25), time(10, 30)),
])
def test_the_character_after_zhou_is_the_weekday(text, day, at) -> None:
    spec = parse_when(text, NOW)
    assert spec is not None and (spec.day, spec.at) == (day, at)


@pytest.mark.parametrize("text", ["十十十点", "明天十十十点", "123点", "2月30日下午", "tomorrow 13pm",
                                  "明天25点", "明天下午3点99分", "9" * 5000])
def test_unreadable_times_and_dates_are_none(text) -> None:
    assert parse_when(text, NOW) is None  # "十十十点" raised KeyError


@pytest.mark.parametrize(("text", "now", "day"), [
    ("2月29日", datetime(2024, 3, 1, 9), None),  # raised ValueError (2025-02-29)
    ("feb 29", datetime(2024, 3, 1, 9), None),
    ("29th of February", datetime(2024, 3, 1, 9), None),
    ("2/29", datetime(2024, 3, 1, 9), None),
    ("2月29日", datetime(2027, 3, 1, 9), date(2028, 2, 29)),
    ("feb 29", datetime(2027, 12, 1, 9), date(2028, 2, 29)),
    ("2月29日", datetime(2024, 2, 28, 9), date(2024, 2, 29)),
])
def test_29_february(text, now, day) -> None:
    spec = parse_when(text, now)
    assert (spec.day if spec else None) == day


@pytest.mark.parametrize(("text", "value"), [("十十十", None), ("9" * 40, None), ("一百二", 120),
                                             ("二十十", None), ("²", None)])
def test_cn_number_is_strict(text, value) -> None:
    assert cn_number(text) == value
