"""Reading the patient's answers: yes/no, past dates ("2026年9月1日", "3个月前",
"last month"), "none".

Nothing here raises on any input: an answer longer than
:data:`~bot.nlp.values.MAX_ANSWER_CHARS` is unclear (``None``/``False``), a date
that does not exist is ``None``, and numbers are read whole ("1234 years ago" is
not "234 years ago").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.appointments.dates import CN_NUM, cn_number
from bot.nlp.values import too_long

_UNSURE = re.compile(r"不确定|不知道|不清楚|说不准|不好说|not sure|unsure|don'?t know|no idea|maybe")
_YES_FIRST = re.compile(r"没问题|没错")
# "还是老样子" (unchanged) is a no to "new or worse symptoms?": 还是 holds 是
_NO = re.compile(r"没有|没|不是|不要|不用|不需要|不可以|不行|不对|不必|算了|^不|^否|^无|还好|一样|稳定|"
                 r"老样子|照旧|差不多|正常|(?<![a-z])(no|nope|nah|none|nothing|not|negative|never|"
                 r"unchanged|same as (?:before|usual|always|last time)|about the same|"
                 r"no change)(?![a-z])")
_YES = re.compile(r"有|是|对|嗯|好|行|确定|确认|可以|需要|要|提交|加重|变重|更严重|"
                  r"(?<![a-z])(yes|yeah|yep|y|sure|correct|ok|okay|confirm|worse|go ahead|book it)"
                  r"(?![a-z])")
# confirming an action needs a clear yes: "有停车位吗" must not book anything
_CONFIRM = re.compile(r"确认|确定|是的|^是|^对|^好|^行|^可以|没问题|提交|^嗯|"
                      r"(?<![a-z])(yes|yeah|yep|sure|ok|okay|confirm|go ahead|book it|do it)"
                      r"(?![a-z])")
_QUESTION = re.compile(r"[?？吗]|(?<![a-z])(what|how|why|where|when|can|is|are|do)(?![a-z])")
_NONE = re.compile(r"^(没有|无|不需要|不用|不要|不记得|忘了|跳过|none|no|nope|skip|n/?a|"
                   r"don'?t (know|remember|have)|not needed)\b")
_ISO = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_YM = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?!\d)(?!\s*[-/.]\s*\d)")
_ZH_MD = re.compile(rf"({CN_NUM})月({CN_NUM})[日号]?")
_AGO = re.compile(rf"({CN_NUM}|半)\s*(个)?\s*(天|日|周|星期|礼拜|月|年)(前|以前|之前)|"
                  r"(?<![\d.])(\d{1,3}|a|an|one|two|three|four|five|six)\s+(day|week|month|year)s?"
                  r"\s+ago")
_EN_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "月": 30, "年": 365,
              "day": 1, "week": 7, "month": 30, "year": 365}
_RELATIVE = ((re.compile(r"上个?月|last month"), 30), (re.compile(r"上上个?月"), 60),
             (re.compile(r"上周|上个?星期|last week"), 7), (re.compile(r"去年|last year"), 365),
             (re.compile(r"昨天|yesterday"), 1), (re.compile(r"今天|today"), 0))


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def parse_yes_no(text: str) -> bool | None:
    """``True`` for yes, ``False`` for no, ``None`` when unclear.

    Checked in order: unsure, "没问题", negatives (没有 contains 有), then yes.
    """
    if too_long(text):
        return None
    s = _norm(text)
    for pattern, value in ((_UNSURE, None), (_YES_FIRST, True), (_NO, False), (_YES, True)):
        if pattern.search(s):
            return value
    return None


def parse_confirmation(text: str) -> bool | None:
    """Like :func:`parse_yes_no` but strict: only a clear yes confirms; questions are unclear."""
    if too_long(text):
        return None
    s = _norm(text)
    answer = parse_yes_no(s)
    if answer is False:
        return False
    if _QUESTION.search(s) or not _CONFIRM.search(s):
        return None
    return True


def is_none_answer(text: str) -> bool:
    """The patient declines an optional answer ("没有", "none", "skip")."""
    return not too_long(text) and bool(_NONE.search(_norm(text)))


# words that confirm an action but do not say whether a symptom is there ("确认" to
# "any new symptoms?" is no "有")
_ONLY_CONFIRM = re.compile(r"^(确认|确定|提交|好的?|行|可以|ok|okay|confirm(ed)?|submit|sure)[\s!！。.~]*$")


def parse_symptom_answer(text: str) -> bool | None:
    """:func:`parse_yes_no` for "do you have ...?" questions: a bare confirmation
    ("确认", "ok") does not answer them (``None``: asked again)."""
    if too_long(text) or _ONLY_CONFIRM.match(_norm(text)):
        return None
    return parse_yes_no(text)


def parse_past_date(text: str, today: date) -> date | None:
    """A date in the past (or today) from ``text``; ``None`` when there is none."""
    if too_long(text):
        return None
    s = _norm(text)
    if m := _ISO.search(s):
        return _safe(int(m[1]), int(m[2]), int(m[3]))
    if m := _YM.search(s):  # year and month only: the first of that month
        return _safe(int(m[1]), int(m[2]), 1)
    if m := _ZH_MD.search(s):
        month, dom = cn_number(m[1]), cn_number(m[2])
        found = _safe(today.year, month or 0, dom or 0)
        if found and found > today:
            found = _safe(today.year - 1, found.month, found.day)
        return found
    if m := _AGO.search(s):
        if m[1]:
            count = 0.5 if m[1] == "半" else cn_number(m[1])
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
