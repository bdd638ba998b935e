"""Reading the patient's re-visit answers: "any new or worse symptoms?", past
dates ("2026年9月1日", "3个月前", "last month"), "none".

Yes and no are read by :mod:`bot.text.yesno` (as sentences), numbers by
:func:`bot.text.numbers.read_int`: an approximate time ago ("两三个月前") is no
date to record, so it is unclear and asked again. Nothing here raises on any
input: an answer longer than :data:`~bot.text.normalise.MAX_ANSWER_CHARS` is
unclear (``None``/``False``), a date that does not exist is ``None``, and
numbers are read whole ("1234 years ago" is not "234 years ago").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.text.normalise import normalise, too_long
from bot.text.numbers import SMALL_NUMBER, read_int, read_number
from bot.text.yesno import Reply, read_symptom_reply

_NONE = re.compile(r"^(没有|无|不需要|不用|不要|不记得|忘了|跳过|none|no|nope|skip|n/?a|"
                   r"don'?t (know|remember|have)|not needed)\b")
_ISO = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_YM = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?!\d)(?!\s*[-/.]\s*\d)")
_ZH_MD = re.compile(rf"({SMALL_NUMBER})月({SMALL_NUMBER})[日号]?")
_AGO = re.compile(rf"({SMALL_NUMBER}|半)\s*(个)?\s*(天|日|周|星期|礼拜|月|年)(前|以前|之前)|"
                  r"(?<![\d.])(\d{1,3}|a|an|one|two|three|four|five|six)\s+(day|week|month|year)s?"
                  r"\s+ago")
_EN_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "月": 30, "年": 365,
              "day": 1, "week": 7, "month": 30, "year": 365}
_RELATIVE = ((re.compile(r"上个?月|last month"), 30), (re.compile(r"上上个?月"), 60),
             (re.compile(r"上周|上个?星期|last week"), 7), (re.compile(r"去年|last year"), 365),
             (re.compile(r"昨天|yesterday"), 1), (re.compile(r"今天|today"), 0))


def is_none_answer(text: str) -> bool:
    """The patient declines an optional answer ("没有", "none", "skip")."""
    return not too_long(text) and bool(_NONE.search(normalise(text)))


def parse_symptom_answer(text: str) -> bool | None:
    """The answer to "any new or worse symptoms?": a bare confirmation ("确认",
    "ok") does not answer it (``None``: asked again), nor does "not sure"."""
    reply = read_symptom_reply(text)
    return None if reply in (None, Reply.UNSURE) else reply is Reply.YES


def parse_past_date(text: str, today: date) -> date | None:
    """A date in the past (or today) from ``text``; ``None`` when there is none."""
    if too_long(text):
        return None
    s = normalise(text)
    if m := _ISO.search(s):
        return _safe(int(m[1]), int(m[2]), int(m[3]))
    if m := _YM.search(s):  # year and month only: the first of that month
        return _safe(int(m[1]), int(m[2]), 1)
    if m := _ZH_MD.search(s):
        month, dom = read_int(m[1]), read_int(m[2])
        found = _safe(today.year, month or 0, dom or 0)
        if found and found > today:
            found = _safe(today.year - 1, found.month, found.day)
        return found
    if m := _AGO.search(s):
        if m[1]:
            numeral = read_number(m[1])  # "半" is 0.5; "两三个月前" is no date
            count = None if numeral is None or numeral.approximate else numeral.value
            unit = m[3]
            if m[1] == "半" and unit == "年":  # half a year is six months (180 days), not 182.5
                count, unit = 6, "月"
        else:
            count = _EN_WORDS.get(m[5]) or (int(m[5]) if m[5].isdigit() else None)
            unit = m[6]
        if count is None:
            return None
        return today - timedelta(days=round(count * _UNIT_DAYS[unit]))
    for pattern, days in _RELATIVE[1:2] + _RELATIVE[:1] + _RELATIVE[2:]:
        if pattern.search(s):
            return today - timedelta(days=days)
    return None


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
