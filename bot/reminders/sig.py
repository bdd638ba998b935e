"""Parse how often and how long to take a medicine, from zh or en text.

Deterministic, no NLU: "每天三次", "早晚各一次", "每8小时一次", "睡前", "饭后",
"twice a day", "every night before bed", "8am and 8pm", sig codes qd/bid/tid/
qid/qn, course lengths ("吃14天", "for 2 weeks") and snooze durations
("半小时后", "in 20 minutes"). Doses are extracted verbatim and never changed.

Every parser refuses what it cannot read with :class:`ValidationError` (the
service turns it into the field's bilingual message) and never raises anything
else: numbers are read by :func:`bot.text.numbers.read_int` (at most six
digits; an approximate count or length such as "每天两三次" or "吃两三天" is
nothing to set a reminder by, so it is refused and asked again), dates
must exist and lie within a year of ``today`` (2月29日 is the next 29
February that exists, or an error), and an answer longer than
:data:`~bot.text.normalise.MAX_ANSWER_CHARS` is not read. Text is read in the
form of :func:`bot.text.normalise.normalise`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

from bot.errors import ValidationError
from bot.text.normalise import normalise, too_long
from bot.text.numbers import CN_NUMERAL_CHARS, DECIMAL, NUMBER_RUN, read_int

_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
               "twenty": 20, "thirty": 30, "a": 1, "an": 1}
NUM = NUMBER_RUN  # a run of digits or Chinese numerals, read with number()


def number(token: str) -> int:
    """``"14"``, ``"十四"``, ``"两"``, ``"twelve"`` -> int.

    Raises:
        ValidationError: not one exact number of at most six digits ("十十十", 20
            digits, "两三": a range is no count to set a reminder by).
    """
    token = token.strip()
    value = _EN_NUMBERS.get(token, read_int(token))
    if value is None:
        raise ValidationError("not a number", field="number")
    return value


@dataclass(frozen=True)
class Schedule:
    """Local times of day to take a medicine.

    Attributes:
        times: local times, in the order of the day (from the first dose).
        meal: "before_meal", "after_meal", "bedtime" or None.
        code: qd, bid, tid, qid, qn, q<N>h or "custom" (explicit times).
    """

    times: tuple[time, ...]
    meal: str | None
    code: str

    def time_strings(self) -> list[str]:
        return [t.strftime("%H:%M") for t in self.times]


_MEAL_AFTER = re.compile(r"饭后|餐后|吃完饭|after (?:meals?|food|eating|breakfast|dinner)|\bpc\b")
_MEAL_BEFORE = re.compile(r"饭前|餐前|空腹|before (?:meals?|food|eating|breakfast)|\bac\b")
_BEFORE_OR_AFTER = re.compile(r"(?<![a-z])(?:before or after|after or before)(?![a-z])")
_ALTERNATIVE = re.compile(r"还是|或者|或是|[?？]|吗|(?<![a-z])(?:or|whether)(?![a-z])")
_BEDTIME = re.compile(r"睡前|睡觉前|临睡|before (?:bed|sleep)|at bedtime|bedtime|\bqn\b|\bqhs\b|"
                      r"\bhs\b")
_INTERVAL = re.compile(rf"每隔?\s*({NUM})\s*(?:个)?小时|every\s+(-?\d+|{'|'.join(_EN_NUMBERS)})"
                       r"\s+hours?|\bq(\d+)h\b")
_CODES = {"qd": 1, "od": 1, "bid": 2, "tid": 3, "qid": 4}
_CODE_RE = re.compile(r"\b(qd|od|bid|tid|qid)\b")
_ZH_COUNT = re.compile(rf"(?:每天|每日|一天|一日|天)?\s*({NUM})\s*次")
_ZH_MORNING_EVENING = re.compile(r"早晚各?\s*(?:一|1)\s*次|早晚(?:各)?(?:吃|服)?(?:一|1)?(?:次|回)?")
_EN_COUNT = re.compile(r"\b(once|twice|thrice|(?:one|two|three|four|\d) times)\s*(?:a|per|each)?"
                       r"\s*(?:day|daily)\b|\b(once|twice) daily\b|\bdaily\b|\bevery day\b")
_EN_TIME = re.compile(r"(?<![\d.:])(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)")
_CLOCK_TIME = re.compile(r"(?<![\d.])(\d{1,2}):(\d{2})(?![\d])")
_EN_HOURS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_NO_UNIT = (r"(?!\s*(?:mg|mcg|μg|ug|g\b|ml|%|iu\b|units?|x\b|times?|hours?|hrs?|minutes?|"
            r"mins?|days?|weeks?|months?|years?|tabs?|tablets?|pills?|caps?|capsules?|puffs?|"
            r"drops?))")
# an hour without am/pm: "at 7", "at 7.30", "at seven", "7 o'clock", "7 in the morning"
_BARE_HOURS = (
    re.compile(rf"(?:(?<![a-z])(?:at|@)\s*|(?<=\d and )|(?<=\d, ))(\d{{1,2}}|{_EN_HOURS})"
               rf"(?:\.(\d{{2}}))?"
               rf"(?![\w:]|\.\d){_NO_UNIT}"),
    re.compile(rf"(?<![\w.:])(\d{{1,2}}|{_EN_HOURS})()\s*o'?clock\b"),
    re.compile(rf"(?<![\w.:])(\d{{1,2}}|{_EN_HOURS})(?:[:.](\d{{2}}))?\s+"
               r"(?=in the (?:morning|afternoon|evening)|at night|tonight)"),
)
# the part of the day a time without am/pm (and without its own 早上/晚上) falls in
_DAY_PARTS = (
    ("am", re.compile(r"morning|breakfast|早上|早晨|清晨|上午|凌晨|早饭|早餐")),
    ("noon", re.compile(r"noon|midday|lunch|中午|午饭|午餐")),
    ("pm", re.compile(r"afternoon|evening|night|tonight|dinner|supper|\bbed(?:time)?\b|"
                      r"下午|傍晚|晚上|夜里|夜间|晚饭|晚餐|晚|睡前|睡觉")),
)
_ZH_TIME = re.compile(rf"(早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间|凌晨|早|晚)?\s*"
                      rf"({NUM})\s*[点時时](?:\s*(半|({NUM})\s*分|({NUM})(?!\s*[次片粒颗丸袋包支滴])))?")
_NOT_DAILY = re.compile(r"每周|每星期|每个星期|每礼拜|每月|隔天|隔日|weekly|a week|per week|every week|"
                        r"every other day|monthly|a month\b")
_SIG_DOTS = (("q.i.d", "qid"), ("t.i.d", "tid"), ("b.i.d", "bid"), ("q.h.s", "qhs"),
             ("q.d", "qd"), ("o.d", "od"), ("q.n", "qn"), ("h.s", "hs"))
# parts of the day named without a count: "早上一次晚上一次", "早中晚各一次", "morning and evening"
_PERIODS = (
    ("morning", re.compile(r"早上|早晨|清晨|早饭|早餐|早(?=[中晚午各])|morning|breakfast")),
    ("noon", re.compile(r"中午|午饭|午餐|(?<=早)中|noon|midday|lunch")),
    ("evening", re.compile(r"晚上|傍晚|晚饭|晚餐|(?<=[早中])晚|evening|dinner|supper|night")),
    ("bedtime", re.compile(r"睡前|睡觉前|bedtime|before bed")),
)
_PERIOD_TIMES = {
    "morning": {None: "08:00", "after_meal": "08:30", "before_meal": "07:30"},
    "noon": {None: "12:00", "after_meal": "12:30", "before_meal": "11:30"},
    "evening": {None: "20:00", "after_meal": "18:30", "before_meal": "17:30"},
    "bedtime": {None: "22:00", "after_meal": "22:00", "before_meal": "22:00"},
}
_EVENING_BEDTIME = re.compile(r"(?:每晚|每天晚上|晚上|at night|every night)\s*(?:睡前|睡觉前|before bed)")
_MORNING = re.compile(r"每天早上|每天早晨|每早|每日早|早上吃|every morning|in the morning")
_EVENING = re.compile(r"每晚|每天晚上|晚上吃|every (?:night|evening)|at night|in the evening")

_DEFAULT_TIMES = {
    1: {None: ["08:00"], "after_meal": ["08:30"], "before_meal": ["07:30"]},
    2: {None: ["08:00", "20:00"], "after_meal": ["08:30", "18:30"],
        "before_meal": ["07:30", "17:30"]},
    3: {None: ["08:00", "14:00", "20:00"], "after_meal": ["08:30", "12:30", "18:30"],
        "before_meal": ["07:30", "11:30", "17:30"]},
    4: {None: ["08:00", "12:00", "18:00", "22:00"],
        "after_meal": ["08:30", "12:30", "18:30", "22:00"],
        "before_meal": ["07:30", "11:30", "17:30", "22:00"]},
}
_CODE_NAMES = {1: "qd", 2: "bid", 3: "tid", 4: "qid"}


def _t(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def _day_part(text: str, start: int, end: int) -> str | None:
    """The part of the day ("am", "noon", "pm") named nearest to ``text[start:end]``."""
    best: tuple[int, str] | None = None
    for part, pattern in _DAY_PARTS:
        for m in pattern.finditer(text):
            gap = start - m.end() if m.end() <= start else max(m.start() - end, 0)
            if best is None or gap < best[0]:
                best = (gap, part)
    return best[1] if best else None


def _in_day_part(hour: int, part: str | None) -> int:
    """A 12-hour ``hour`` said without am/pm, read in its part of the day: "every morning
    at 7" is 07:00, "every evening at 7" 19:00, "lunch at 1" 13:00; none named: as said."""
    if part == "pm" and 1 <= hour <= 11:
        return hour + 12
    if part == "noon" and 1 <= hour <= 5:
        return hour + 12
    return hour


def _explicit_times(text: str) -> list[time]:
    """Every clock time in ``text``, each kept as said: "7:30pm" 19:30, "早上7点" 07:00,
    "at 7" with "every morning" 07:00, "晚上八点半" 20:30.

    Raises:
        ValidationError: a time that does not exist ("25:00", "13pm").
    """
    found: list[time] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        if any(m.start() < end and start < m.end() for start, end in taken):
            return False
        taken.append(m.span())
        return True

    def add(m: re.Match, hour: int, minute: int) -> None:
        if hour > 23 or minute > 59:
            raise ValidationError(f"bad time {m.group(0)!r}", field="time")
        found.append(time(hour, minute))

    for m in _EN_TIME.finditer(text):
        hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)[0]
        if not 1 <= hour <= 12 or minute > 59:
            raise ValidationError(f"bad time {m.group(0)!r}", field="time")
        if free(m):
            add(m, hour % 12 + (12 if half == "p" else 0), minute)
    for m in _ZH_TIME.finditer(text):
        if not free(m):
            continue
        period, hour = m.group(1) or "", number(m.group(2))
        minutes = m.group(4) or m.group(5)
        minute = 30 if m.group(3) == "半" else (number(minutes) if minutes else 0)
        if period in ("下午", "傍晚", "晚上", "夜里", "夜间", "晚") and hour < 12:
            hour += 12
        elif period == "中午" and hour < 11:
            hour += 12
        elif period in ("晚上", "夜里") and hour == 12:
            hour = 0
        elif not period:  # "晚饭后8点": the part of the day named nearby
            hour = _in_day_part(hour, _day_part(text, *m.span()))
        add(m, hour, minute)
    bare = [_CLOCK_TIME, *_BARE_HOURS]
    for m in (m for pattern in bare for m in pattern.finditer(text)):
        if free(m):
            hour = _in_day_part(number(m.group(1)), _day_part(text, *m.span()))
            add(m, hour, int(m.group(2) or 0))
    return sorted(set(found))


def parse_schedule(text: str) -> Schedule | None:
    """The daily schedule in ``text``, or None if it names none.

    Raises:
        ValidationError: a schedule is named but impossible (e.g. 25:00, every 7 hours),
            or the answer is too long to be one.
    """
    if too_long(text):
        raise ValidationError("answer too long", field="frequency")
    s = normalise(text)
    for dotted, code in _SIG_DOTS:
        s = re.sub(rf"\b{re.escape(dotted)}\.?(?![a-z])", code, s)
    if _NOT_DAILY.search(s):
        raise ValidationError("only daily schedules are supported", field="frequency")
    if _BEFORE_OR_AFTER.search(s) or (_MEAL_AFTER.search(s) and _MEAL_BEFORE.search(s)
                                      and _ALTERNATIVE.search(s)):
        # "饭前还是饭后吃?", "before or after food?": a question, not a schedule (it was
        # read as 08:30 after a meal); the form asks again
        raise ValidationError("asks whether before or after a meal", field="meal")
    meal = ("bedtime" if _BEDTIME.search(s) else "after_meal" if _MEAL_AFTER.search(s)
            else "before_meal" if _MEAL_BEFORE.search(s) else None)
    explicit = _explicit_times(s)
    interval = None if explicit else _INTERVAL.search(s)
    if interval:
        hours = number(next(g for g in interval.groups() if g))
        if hours <= 0 or 24 % hours or hours > 24:
            raise ValidationError(f"every {hours} hours does not divide the day", field="interval")
        times = tuple(time((8 + i * hours) % 24, 0) for i in range(24 // hours))
        return Schedule(times, meal, f"q{hours}h")
    count: int | None = None
    code = _CODE_RE.search(s)
    if code:
        count = _CODES[code.group(1)]
    elif _ZH_MORNING_EVENING.search(s):
        count = 2
    else:
        zh = _ZH_COUNT.search(s)
        en = _EN_COUNT.search(s)
        if zh:
            count = number(zh.group(1))
        elif en:
            word = (en.group(1) or en.group(2) or "once").split()[0]
            count = {"once": 1, "twice": 2, "thrice": 3}.get(word) or number(word)
    if count is not None and not 1 <= count <= 4:
        raise ValidationError(f"{count} times a day is not supported", field="frequency")
    if explicit:
        if count is not None and count > len(explicit):
            # "twice a day at 8": fewer times than doses; ask again rather than guess
            raise ValidationError(f"{count} times a day but {len(explicit)} times named",
                                  field="frequency")
        return Schedule(tuple(explicit), meal, "custom")
    periods = _periods(s)
    if len(periods) >= 2 and count in (None, 1, len(periods)):
        food = meal if meal in ("after_meal", "before_meal") else None
        times = tuple(_t(_PERIOD_TIMES[p][food]) for p in periods)
        return Schedule(times, meal if meal != "bedtime" or periods == ["bedtime"] else food,
                        _CODE_NAMES.get(len(periods), "custom"))
    if count is None or count == 1:
        if meal == "bedtime":
            return Schedule((time(22, 0),), "bedtime", "qn")
        if _EVENING.search(s):
            return Schedule((time(20, 0),), meal, "qd")
        if _MORNING.search(s) or count == 1 or meal:
            times = _DEFAULT_TIMES[1][meal if meal != "bedtime" else None]
            return Schedule(tuple(_t(v) for v in times), meal, "qd")
        return None
    key = meal if meal in ("after_meal", "before_meal") else None
    return Schedule(tuple(_t(v) for v in _DEFAULT_TIMES[count][key]), meal, _CODE_NAMES[count])


def _periods(s: str) -> list[str]:
    """Parts of the day named in ``s``, in the order of the day ("每晚睡前" is bedtime)."""
    s = _EVENING_BEDTIME.sub("睡前", s)
    return [name for name, pattern in _PERIODS if pattern.search(s)]


# ---------------------------------------------------------------- course / dates

_COURSE = re.compile(
    rf"(?<!每)(?:吃|服|用|连续|疗程|共)?\s*(?<!月)({NUM}|半)\s*(?:个)?\s*(天|日|周|星期|礼拜|月)"
    rf"(?!\s*(?:{NUM}\s*次|各|早|晚|中午|上午|下午|吃\s*{NUM}\s*次))"
    rf"|(?:for\s+|(?<![a-z])[x×*]\s*)(-?\d+|{'|'.join(_EN_NUMBERS)})\s*(days?|weeks?|months?|d\b|w\b)"
    rf"|(?<!\d)(\d+)[- ](day|week)\s+course")
_ZH_DATE = re.compile(r"(?:(?<!\d)(\d{4})年)?(?<!\d)(\d{1,2})月(\d{1,2})(?!\d)[日号]?")
# "1/2片" is half a tablet and "3-5天" a range, not 2 January or 5 March
_ISO_DATE = re.compile(r"(?<![\d.])(?:(\d{4})[-/])?(\d{1,2})[-/](\d{1,2})(?![\d:.])"
                       r"(?!\s*(?:片|粒|颗|丸|袋|包|支|滴|tab|pill|cap|天|日|周|星期|礼拜|个|月|次|小时"
                       r"|分钟|day|week|month|time|hour|min))")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_EN_DATE = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})"
                      r"(?!\d)|\b(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
_END_MARK = re.compile(r"(到|至|截止|until|till|through|to|ending|end)\s*$")
_RELATIVE_START = {"明天": 1, "明日": 1, "tomorrow": 1, "后天": 2, "今天": 0, "today": 0}


@dataclass(frozen=True)
class Course:
    start: date
    end: date | None  # inclusive; None = until cancelled

    @property
    def days(self) -> int | None:
        return None if self.end is None else (self.end - self.start).days + 1


def _dates(s: str, today: date) -> list[tuple[int, int, date]]:
    """(start, end, date) of every date in ``s``, in order."""
    found = []
    for m in _ZH_DATE.finditer(s):
        found.append((m.start(), m.end(), (m.group(1), m.group(2), m.group(3))))
    for m in _ISO_DATE.finditer(s):
        if not any(abs(p - m.start()) < 3 for p, _, _ in found):
            found.append((m.start(), m.end(), (m.group(1), m.group(2), m.group(3))))
    for m in _EN_DATE.finditer(s):
        month = m.group(1) or m.group(4)
        day = m.group(2) or m.group(3)
        found.append((m.start(), m.end(), (None, str(_MONTHS[month[:3]]), day)))
    return sorted((start, end, _resolve(year, int(month), int(day), today))
                  for start, end, (year, month, day) in found)


MAX_DATE_DISTANCE = timedelta(days=366)


def _resolve(year: str | None, month: int, day: int, today: date) -> date:
    """The date meant: the year given, else this year's (or, once more than 60 days
    past, next year's). "2月29日" is the next 29 February within that window.

    Raises:
        ValidationError: no such date, or one more than a year from today.
    """
    years = [int(year)] if year else [today.year, today.year + 1]
    for candidate_year in years:
        try:
            value = date(candidate_year, month, day)
        except ValueError:
            continue
        if year or value >= today - timedelta(days=60):
            if abs(value - today) > MAX_DATE_DISTANCE:
                raise ValidationError("the date is more than a year away", field="date")
            return value
    raise ValidationError("no such date", field="date")


def parse_course(text: str, today: date) -> Course:
    """Start and end dates; start defaults to ``today``, end to none (until cancelled).

    Raises:
        ValidationError: the end is before the start, the course is over a year, a date
            does not exist or is more than a year away, or the answer is too long.
    """
    if too_long(text):
        raise ValidationError("answer too long", field="course")
    s = normalise(text)
    start, end = today, None
    for word, offset in _RELATIVE_START.items():
        if re.search(rf"(?:从|自|starting|start|from|begin)?\s*{word}", s) and (
                re.search(rf"{word}\s*(?:开始|起)|(?:starting|start|from|begin\w*)\s+{word}", s)):
            start = today + timedelta(days=offset)
    dates = _dates(s, today)
    for pos, _, value in dates:
        if _END_MARK.search(s[:pos]):
            end = value
        else:
            start = value
    for first, last, _ in dates:  # "11月25日" names a day, not an 11-month course
        s = s[:first] + " " * (last - first) + s[last:]
    m = _COURSE.search(s)
    if m and end is None:
        if m.group(1):
            amount = 0.5 if m.group(1) == "半" else number(m.group(1))
            unit = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "月": 30}[m.group(2)]
        elif m.group(3):
            amount = number(m.group(3))
            unit = {"d": 1, "w": 7, "m": 30}[m.group(4)[0]]
        else:
            amount, unit = number(m.group(5)), {"d": 1, "w": 7}[m.group(6)[0]]
        days = int(amount * unit)
        if days < 1:
            raise ValidationError("course shorter than a day", field="course")
        if days > MAX_DATE_DISTANCE.days:  # before any date arithmetic can overflow
            raise ValidationError("courses longer than a year are not supported", field="course")
        end = start + timedelta(days=days - 1)
    if end is not None and end < start:
        raise ValidationError("the end date is before the start date", field="course")
    if end is not None and (end - start).days > 366:
        raise ValidationError("courses longer than a year are not supported", field="course")
    return Course(start, end)


# ---------------------------------------------------------------- dose / snooze

# a fraction ("1/2片", "½片") is read whole, and "一片半" keeps its half: a dose is
# never shortened to a different amount
_DOSE = re.compile(
    rf"((?:(?<![\d.])\d{{1,2}}\s*/\s*\d{{1,2}}(?![\d.])|[½¼¾⅓⅔]|{DECIMAL}|半"
    rf"|(?<![{CN_NUMERAL_CHARS}])[{CN_NUMERAL_CHARS}]+)\s*"
    r"(?:片|粒|颗|丸|袋|包|支|滴|喷|吸|揿|mg|毫克|mcg|μg|ug|微克|g|克|ml|毫升|iu|u|单位"
    r"|tablets?|tabs?|pills?|capsules?|caps?|puffs?|drops?|units?|sachets?)"
    r"(?:半(?![小钟个天]))?(?![a-z]))")
_AS_PRESCRIBED = re.compile(r"按医嘱|遵医嘱|as prescribed|as directed")


def parse_dose(text: str) -> str | None:
    """The dose as written ("1片", "500mg", "2 tablets"), never altered; None if absent
    (or the answer is too long to be a dose)."""
    if too_long(text):
        return None
    s = normalise(text)
    m = _DOSE.search(s)
    if m:
        return m.group(1).strip()
    if _AS_PRESCRIBED.search(s):
        return "as_prescribed"
    return None


_SNOOZE_HALF = re.compile(r"半\s*(?:个)?\s*(?:小时|钟头)|half an hour|half hour|30 ?mins?\b")
_SNOOZE_HOUR_HALF = re.compile(rf"({NUM})\s*个半\s*(?:小时|钟头)")
_SNOOZE_MIN = re.compile(rf"({NUM})\s*(?:分钟|分)|(?<![a-z\d])(-?\d+|{'|'.join(_EN_NUMBERS)})\s*"
                         r"(?:minutes?|mins?)\b")
_SNOOZE_HOUR = re.compile(rf"({NUM})\s*(?:个)?\s*(?:小时|钟头)|(?<![a-z\d])(-?\d+|{'|'.join(_EN_NUMBERS)})\s*"
                          r"(?:hours?|hrs?)\b")
MAX_SNOOZE = timedelta(hours=12)


def parse_snooze(text: str) -> timedelta | None:
    """How long to wait ("半小时后" -> 30 min, "in 20 minutes"); None if no duration named.

    Raises:
        ValidationError: the duration is zero, longer than 12 hours or no number, or the
            answer is too long to read.
    """
    if too_long(text):
        raise ValidationError("answer too long", field="snooze")
    s = normalise(text)
    if m := _SNOOZE_HOUR_HALF.search(s):
        delta = timedelta(minutes=number(m.group(1)) * 60 + 30)
    elif _SNOOZE_HALF.search(s):
        delta = timedelta(minutes=30)
    elif m := _SNOOZE_MIN.search(s):
        delta = timedelta(minutes=number(m.group(1) or m.group(2)))
    elif m := _SNOOZE_HOUR.search(s):
        delta = timedelta(hours=number(m.group(1) or m.group(2)))
    else:
        return None
    if delta <= timedelta(0) or delta > MAX_SNOOZE:
        raise ValidationError(f"snooze of {delta} is out of range", field="snooze")
    return delta
