"""Bilingual date and time expressions for booking ("明天下午", "下周三上午",
"后天", "next Monday morning", "tomorrow 3pm", "11月25日", "Nov 25", "2026-11-25").

Deterministic, no I/O; ``now`` is the patient's local time (inject the clock).
Weeks start on Monday: "下周三" and "next Wednesday" are the Wednesday of next
calendar week; a bare "周三"/"Wednesday" is the next one from today (today
included). The confirmation step shows the resolved date, so the patient can
correct any reading.

The character after 周/星期/礼拜 is always the weekday, so "下周二十点" is next
Tuesday at 10:00 (周二 + 十点), not 20:00: 20:00 is written "周二20点",
"周二二十点" or "周二晚上八点". A date that does not exist ("2月30日", "2月29日"
when the next 29 February is over a year away) makes the whole answer unreadable
(``None``) rather than being dropped silently; so does a time that cannot be
("13pm", "25点", "十十十点"). Numbers are read by
:func:`bot.text.numbers.read_int`: an approximate day or hour ("两三天后",
"三四点") is no date or time to book, so the answer is unreadable and asked
again. Answers longer than :data:`~bot.text.normalise.MAX_ANSWER_CHARS` are
not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.text.normalise import normalise, too_long
from bot.text.numbers import SMALL_NUMBER, read_int
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
EN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZH_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
           "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
NOON = time(12, 45)  # before this is the morning session


@dataclass(frozen=True)
class WhenSpec:
    """What the patient asked for; any part may be missing."""

    day: date | None = None
    session: str | None = None  # "am" | "pm"
    at: time | None = None
    asap: bool = False

    @property
    def empty(self) -> bool:
        return self.day is None and self.session is None and self.at is None and not self.asap

    def to_slot(self) -> dict[str, str | bool | None]:
        """A JSON-friendly form for a Rasa slot."""
        return {"day": self.day.isoformat() if self.day else None, "session": self.session,
                "at": self.at.strftime("%H:%M") if self.at else None, "asap": self.asap}

    @classmethod
    def from_slot(cls, value: object) -> WhenSpec | None:
        if not isinstance(value, dict):
            return None
        return cls(day=date.fromisoformat(value["day"]) if value.get("day") else None,
                   session=value.get("session"),
                   at=time.fromisoformat(value["at"]) if value.get("at") else None,
                   asap=bool(value.get("asap")))


# "帮我查一下下周三": 一下 ("a moment") before 下周 is no 下下周 (the week after next)
_YIXIA = re.compile(r"(?<![周期拜])一下(?=下)")
# "with Dr Sun next Wednesday": a doctor's name is no weekday ("Sun", "Mon")
_DOCTOR_NAME = re.compile(r"(?<![a-z])(?:dr|doctor|prof)\.?\s+(?:mon|tue|wed|thu|fri|sat|sun)(?![a-z])")


def _normalise(text: str) -> str:
    s = normalise(text)
    return _DOCTOR_NAME.sub(" ", _YIXIA.sub("", s))


def _en(*words: str) -> str:
    """English words as a regex that also matches inside mixed zh/en text ("明天morning")."""
    return "|".join(rf"(?<![a-z0-9]){w}(?![a-z0-9])" for w in words)


_ASAP = re.compile(r"尽快|越快越好|最早|最近的|随便|都行|都可以|"
                   + _en("any ?time", "asap", "as soon as possible", "earliest", "soonest",
                         "whenever"))
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})(?!\d)[日号]?")
_ZH_MD = re.compile(rf"(?:(\d{{4}})年)?({SMALL_NUMBER})月({SMALL_NUMBER})[日号]?")
_ZH_D = re.compile(rf"(?<![月\d])({SMALL_NUMBER})[日号](?!子)")
_SLASH_MD = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
_MONTH = "(" + "|".join(MONTHS) + r")[a-z]*\.?"
_EN_MD = re.compile(_en(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?"))
_EN_DM = re.compile(_en(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH))
_ZH_WEEKDAY = re.compile(r"(下下|下个?|这个?|本|)(?:周|星期|礼拜)([一二三四五六日天末1-7])")
_EN_WEEKDAY = re.compile(r"(?:(next|this|coming|on)\s+)?" + _en(
    "(monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu|friday|fri|saturday|sat|"
    "sunday|sun)"))
_NEXT_WEEK = re.compile(r"下(下)?(?:个)?(?:周|星期|礼拜)|" + _en("next week"))
_IN_DAYS = re.compile(rf"(?:in\s+(\d{{1,2}})\s+days?)|(?:({SMALL_NUMBER})天(?:以?后|之后))")
_RELATIVE = (
    (re.compile(r"大后天"), 3),
    (re.compile(r"后天|day after tomorrow"), 2),
    (re.compile(r"明天|明日|明早|明儿|" + _en("tomorrow", "tmr", "tmrw")), 1),
    (re.compile(r"今天|今日|今早|今儿|this (?:morning|afternoon)|" + _en("today", "tonight")), 0),
)
_EN_CLOCK = re.compile(r"(?<![a-z0-9:])(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?![a-z])")
_H24 = re.compile(r"(?<![\d/])([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)")
_ZH_CLOCK = re.compile(rf"({SMALL_NUMBER})[点點时](半|一刻|({SMALL_NUMBER})分?)?")
_AT_HOUR = re.compile(r"(?<![a-z0-9])at\s+(\d{1,2})(?![\d:])(?!\s*days?)")
_AM_WORDS = re.compile(r"上午|早上|早晨|清早|早班|上半天|明早|今早|a\.m\.|" + _en("morning", "am"))
_PM_WORDS = re.compile(r"下午|午后|下半天|晚上|傍晚|夜里|p\.m\.|"
                       + _en("afternoon", "evening", "tonight", "pm"))
_NOON_WORDS = re.compile(r"中午|" + _en("noon", "midday"))
_PM_PREFIX = re.compile(r"(下午|晚上|傍晚|午后)\s*$")


def parse_when(text: str, now: datetime) -> WhenSpec | None:
    """Read a day, half-day session and/or clock time from ``text``.

    Args:
        text: the patient's words (zh, en or mixed).
        now: the current time in the patient's time zone.

    Returns:
        What was found, or ``None`` when the text names no date or time.
    """
    if too_long(text):
        return None
    s = _normalise(text)
    today = now.date()
    day = _day(s, today)
    if day is _NO_SUCH_DATE:
        return None
    # "下周二十点": 二 belongs to the weekday, the clock reads "十点"
    at, session = _clock(_ZH_WEEKDAY.sub(lambda m: " " * len(m[0]), s))
    if at is _NO_SUCH_TIME:
        return None
    if session is None:
        if _AM_WORDS.search(s):
            session = "am"
        elif _PM_WORDS.search(s):
            session = "pm"
        elif _NOON_WORDS.search(s):
            session, at = "am", at or time(12, 0)
    if at is not None and session is None:
        session = "am" if at < NOON else "pm"
    spec = WhenSpec(day=day, session=session, at=at, asap=bool(_ASAP.search(s)))
    return None if spec.empty else spec


# a date or time was named but does not exist: the answer is unreadable, not date-less
_NO_SUCH_DATE = date.min
_NO_SUCH_TIME = time.max


def _future(month: int, dom: int, today: date) -> date:
    """The next ``month``/``dom`` from today (today included) within a year; 2月29日
    in a year without one is next year's, if that has one."""
    for year in (today.year, today.year + 1):
        found = _safe_date(year, month, dom)
        if found is not None and today <= found <= today + timedelta(days=366):
            return found
    return _NO_SUCH_DATE


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _day(s: str, today: date) -> date | None:
    if m := _ISO.search(s):
        return _safe_date(int(m[1]), int(m[2]), int(m[3])) or _NO_SUCH_DATE
    if m := _ZH_MD.search(s):
        month, dom = read_int(m[2]), read_int(m[3])
        if not month or not dom:
            return _NO_SUCH_DATE
        if m[1]:
            return _safe_date(int(m[1]), month, dom) or _NO_SUCH_DATE
        return _future(month, dom, today)
    if m := _EN_MD.search(s):
        return _future(MONTHS.index(m[1][:3]) + 1, int(m[2]), today)
    if m := _EN_DM.search(s):
        return _future(MONTHS.index(m[2][:3]) + 1, int(m[1]), today)
    for pattern, offset in _RELATIVE:
        if pattern.search(s):
            return today + timedelta(days=offset)
    if m := _IN_DAYS.search(s):
        count = int(m[1]) if m[1] else read_int(m[2])
        return today + timedelta(days=count) if count is not None else None
    if m := _ZH_WEEKDAY.search(s):
        return _weekday(today, ZH_DAYS[m[2]], {"下下": 2, "下": 1, "下个": 1}.get(m[1], 0),
                        bare=m[1] == "")
    if m := _EN_WEEKDAY.search(s):
        target = EN_DAYS.index(m[2][:3])
        return _weekday(today, target, 1 if m[1] == "next" else 0,
                        bare=m[1] in (None, "on", "coming"))
    if m := _NEXT_WEEK.search(s):  # "下周" without a day: from next Monday on
        return _weekday(today, 0, 2 if m[1] else 1, bare=False)
    if m := _SLASH_MD.search(s):
        return _future(int(m[1]), int(m[2]), today)
    if m := _ZH_D.search(s):  # "25号": the next 25th (this month's, else a later month's)
        dom = read_int(m[1]) or 0
        for ahead in range(3):
            year, month = divmod(today.year * 12 + today.month - 1 + ahead, 12)
            found = _safe_date(year, month + 1, dom)
            if found is not None and found >= today:
                return found
        return _NO_SUCH_DATE
    return None


def _weekday(today: date, target: int, weeks_ahead: int, bare: bool) -> date:
    if bare:
        return today + timedelta(days=(target - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks_ahead, days=target)


def _clock(s: str) -> tuple[time | None, str | None]:
    """The clock time named in ``s``; :data:`_NO_SUCH_TIME` for one that cannot be
    ("13pm", "25点", "十十十点")."""
    if m := _EN_CLOCK.search(s):
        hour, minute = int(m[1]), int(m[2] or 0)
        if not (1 <= hour <= 12 and minute < 60):
            return _NO_SUCH_TIME, None
        pm = m[3].startswith("p")
        return time(hour % 12 + (12 if pm else 0), minute), None
    if m := _H24.search(s):
        return _with_pm_words(s, int(m[1]), int(m[2]), m.start())
    if m := _ZH_CLOCK.search(s):
        hour = read_int(m[1])
        minute = {"半": 30, "一刻": 15}.get(m[2] or "", 0)
        if m[3]:
            minute = read_int(m[3])
        if hour is None or hour > 23 or minute is None or minute > 59:
            return _NO_SUCH_TIME, None
        return _with_pm_words(s, hour, minute, m.start())
    if m := _AT_HOUR.search(s):
        return _with_pm_words(s, int(m[1]), 0, m.start())
    return None, None


def _with_pm_words(s: str, hour: int, minute: int, pos: int) -> tuple[time | None, str | None]:
    """Afternoon words make 3 o'clock 15:00; a bare 1-6 o'clock means the afternoon
    (clinics are closed at night)."""
    if hour > 23:
        return None, None
    if hour < 12 and (_PM_PREFIX.search(s[:pos]) or _PM_WORDS.search(s)):
        hour += 12
    elif 1 <= hour <= 6 and not _AM_WORDS.search(s):
        hour += 12
    return time(hour, minute), None
