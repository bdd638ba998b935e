"""Facts stated in free text: age, sex, pregnancy, duration, severity, temperature.

Each extractor takes a :class:`~bot.triage.matcher.Scan` (normalised text and
clauses) and returns ``None`` when the text does not say.
"""

from __future__ import annotations

import re

from bot.text.numbers import DECIMAL, NOT_NEGATIVE, read_number
from bot.triage.matcher import Scan
from bot.triage.text import HISTORY, NEGATED, PRESENT, QUESTION

_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
               "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a few": 3, "few": 3,
               "several": 4, "a couple of": 2, "couple of": 2, "a couple": 2}
# numbers start only at the start of a run of digits (linear time on any input)
_NUM = rf"{DECIMAL}|[零一二两三四五六七八九十几半]{{1,4}}"
_EN_NUM = rf"{DECIMAL}|a few|a couple of|a couple|couple of|several|an?|one|two|three|four|five|six|seven|eight|nine|ten"
_ZH_UNIT_DAYS = {"分钟": 1 / 1440, "小时": 1 / 24, "天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7,
                 "月": 30, "年": 365}
# every spelling the English patterns accept (the patterns are built from these keys,
# so a matched unit is always in the table): "9 yr old", "18 mos", "6 wks", "2 hrs"
_EN_UNIT_DAYS = {
    **dict.fromkeys(("minute", "minutes", "min", "mins"), 1 / 1440),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), 1 / 24),
    **dict.fromkeys(("day", "days", "night", "nights"), 1),
    **dict.fromkeys(("week", "weeks", "wk", "wks"), 7),
    **dict.fromkeys(("month", "months", "mo", "mos", "mth", "mths"), 30),
    **dict.fromkeys(("year", "years", "yr", "yrs"), 365),
}
_AGE_EN_UNITS = {k: v for k, v in _EN_UNIT_DAYS.items() if v >= 1 and not k.startswith("night")}
_UNIT_DAYS = {**_ZH_UNIT_DAYS, **_EN_UNIT_DAYS}
MAX_AGE_YEARS = 120.0
MAX_DURATION_DAYS = MAX_AGE_YEARS * 365


def _alternation(words) -> str:
    """Longest first, so "months" wins over "mo"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def cn_number(token: str) -> float | None:
    """'28' -> 28, '两' -> 2, '十二' -> 12, '二十八' -> 28, '两三' -> 3, '十几' -> 13;
    None when the token is no number ('十十十', a 20-digit run).

    An approximate number counts as its :attr:`~bot.text.numbers.Numeral.value`:
    the upper end of a range ("两三天" is up to three days), 几 as 3 ("a few",
    like the English readers' "a few")."""
    numeral = read_number(token)
    return None if numeral is None else numeral.value


def _en_number(token: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return cn_number(token)
    return _EN_NUMBERS.get(token)


_AGE_ZH_YEARS = re.compile(
    rf"({_NUM})\s*多?\s*(?:周岁|岁)(?:\s*(半)|\s*零?\s*({_NUM})\s*个?\s*月(?![前后以]))?")
_AGE_ZH_SMALL = re.compile(rf"({_NUM})\s*个?(月|天|周|星期)\s*大(?!便|小便|量|口|汗|片|面积)")
_AGE_ZH_BORN = re.compile(rf"(?:出生|生下来|刚生)\s*({_NUM})\s*个?(月|天|周)")
_AGE_ZH_BABY = re.compile(rf"(?:宝宝|孩子|婴儿|女儿|儿子|闺女|小孩|宝贝|老二|老大|老三|二宝|大宝|小宝|娃|小家伙)"
                          rf"\s*(?:才|刚|刚满|满)?\s*({_NUM})\s*个?(月|天|周)(?!前)")
_SIBLING = re.compile(r"老[大二三四五]|[大二三小]宝")
# "两个月零十天": an age to the day (零/又 joins the parts of an age, never a duration)
_AGE_ZH_MONTHS_DAYS = re.compile(rf"({_NUM})\s*个?月\s*(?:零|又)\s*({_NUM})\s*天")
# (?<![a-z0-9]) rather than \b: "孩子9 yr old" (a Han character is a word character)
_AGE_EN = re.compile(rf"(?<![a-z0-9])({_EN_NUM})[- ]?({_alternation(_AGE_EN_UNITS)})[- ]old(?![a-z0-9])")
# "9yo", "9 y/o", "9 y.o.", "18 m/o"
_AGE_EN_SHORT = re.compile(rf"(?<![a-z0-9]){NOT_NEGATIVE}(\d{{1,3}}) ?(?:(y)(?:o|/o|\.o\.?)|(m)(?:/o|\.o\.?))(?![a-z])")
_AGE_EN_STATED = re.compile(
    r"\b(?:i'?m|i am|aged?|age:?|(?:son|daughter|kid|child|boy|girl|grandson|granddaughter|mum|mom"
    r"|mother|dad|father|husband|wife|grandma|grandpa|grandmother|grandfather|nan|gran)"
    r" (?:is|who is|who's|,)|(?:he|she)(?:'s| is))\s+(\d{1,3})\b"
    r"(?! ?(?:weeks|wks|days|months|mos|degrees|kg|cm|°|%|mmol|/|\.\d|:|am|pm|o'clock|minutes|mins|hours|times))")
# a baby's check-up or jabs named by its age ("预约42天体检" with a baby in the message, "our
# 8-week check", "her 8 week jabs"); a pregnancy's own check ("my 28 week check") is not one
_AGE_ZH_CHECKUP = re.compile(rf"(?<!孕)({_NUM})\s*个?(天|周|月)\s*的?\s*(?:体检|儿保|疫苗|预防针|打针)")
_ZH_BABY_WORD = re.compile(r"宝宝|宝贝|婴儿|新生儿|娃|孩子|小孩|女儿|儿子|闺女|外孙|孙子|孙女")
_AGE_EN_CHECKUP = re.compile(
    rf"(?:\b(?:our|his|her|their|the baby'?s|baby'?s|bub'?s|son'?s|daughter'?s) ({_EN_NUM})[- ]?"
    rf"({_alternation(_AGE_EN_UNITS)})[- ]?(?:old )?(?:baby )?(?:check|checkup|check-up|review|jabs?"
    rf"|vaccinations?|immuni[sz]ations?|shots?|injections?)\b)"
    rf"|(?:\b({_EN_NUM})[- ]?({_alternation(_AGE_EN_UNITS)})[- ]?(?:old )?(?:baby )?(?:jabs?|vaccinations?"
    rf"|immuni[sz]ations?|shots?)\b)")
_NEWBORN = re.compile(r"新生儿|刚出生|newborn|new-born")
# "宝宝刚满月", "才满月的孩子" (one month); "百天" (100 days)
_AGE_ZH_MONTH_OLD = re.compile(r"(?:刚|才|刚刚)?满月(?!后)|(?<![一二两三四五六七八九十\d])百天")
# "my baby is 6 weeks", "she's only 10 days" (no "old")
_AGE_EN_IS = re.compile(
    rf"\b(?:baby|bubs?|bubba|little one|son|daughter|grandson|granddaughter|infant|newborn|he|she)(?:'s| is)"
    rf" (?:just |only |barely |nearly |about |around )?({_EN_NUM}) ?({_alternation(_AGE_EN_UNITS)})"
    r"(?![a-z])(?! (?:ago|pregnant|along|late|early|overdue|post))")


def _plausible_age(value: float | None) -> float | None:
    return value if value is not None and 0 <= value <= MAX_AGE_YEARS else None


def _age_in_years(value: float, unit: str) -> float:
    """An age in years: months are twelfths of a year (a baby of "3 months" is not
    under three months), the other units their days."""
    if unit == "月" or _UNIT_DAYS.get(unit) == 30:
        return round(value / 12, 3)
    return round(value * _UNIT_DAYS[unit] / 365, 3)


def age_years(scan: Scan) -> float | None:
    """The patient's age in years ("9 yr old", "9yo", "两岁半", "3个月大"); an
    implausible age (over 120) counts as not stated."""
    text = scan.text
    if _NEWBORN.search(text):
        return 0.0
    if month_old := _AGE_ZH_MONTH_OLD.search(text):
        return round((100 if month_old.group() == "百天" else 30) / 365, 3)
    for match in _AGE_ZH_YEARS.finditer(text):
        value = cn_number(match.group(1))
        if value is not None and match.group(2):
            value += 0.5
        elif value is not None and match.group(3):
            months = cn_number(match.group(3))
            value = None if months is None or months >= 12 else value + round(months / 12, 3)
        if _plausible_age(value) is not None:
            return value
    # a child's rank is no numeral: "老二两个月零十天" is two months and ten days
    for match in _AGE_ZH_MONTHS_DAYS.finditer(_SIBLING.sub(lambda m: " " * len(m.group()), text)):
        months, days = cn_number(match.group(1)), cn_number(match.group(2))
        if months is not None and days is not None and months < 12:
            return round(months / 12 + days / 365, 3)
    for pattern in (_AGE_ZH_SMALL, _AGE_ZH_BORN, _AGE_ZH_BABY):
        for match in pattern.finditer(text):
            value = cn_number(match.group(1))
            if value is not None and _plausible_age(
                    age := _age_in_years(value, match.group(2))) is not None:
                return age
    for pattern in (_AGE_EN, _AGE_EN_IS):
        for match in pattern.finditer(text):
            value = _en_number(match.group(1))
            if value is not None and _plausible_age(
                    age := _age_in_years(value, match.group(2))) is not None:
                return age
    for match in _AGE_EN_SHORT.finditer(text):
        value = float(match.group(1)) / (12 if match.group(3) else 1)
        if _plausible_age(value) is not None:
            return round(value, 3)
    for match in _AGE_EN_STATED.finditer(text):
        if _plausible_age(value := float(match.group(1))) is not None:
            return value
    return _checkup_age(text)


def _checkup_age(text: str) -> float | None:
    """A baby's age read from the check-up or the jabs it is booked for (under a year)."""
    if _ZH_BABY_WORD.search(text):
        for match in _AGE_ZH_CHECKUP.finditer(text):
            value = cn_number(match.group(1))
            if value is not None and (age := _age_in_years(value, match.group(2))) < 1:
                return age
    for match in _AGE_EN_CHECKUP.finditer(text):
        number, unit = (match.group(1), match.group(2)) if match.group(1) else (
            match.group(3), match.group(4))
        value = _en_number(number)
        if value is not None and (age := _age_in_years(value, unit)) < 1:
            return age
    return None


_FEMALE = re.compile(
    r"我是女|女的|女生|她|女性|女士|女孩|女儿|闺女|妈妈|我妈|母亲|老婆|妻子|媳妇|奶奶|外婆|姥姥|孕|月经|白带|痛经|阴道|乳房"
    r"|\b(woman|female|girl|daughter|wife|mother|mom|mum|grandma|grandmother|she|her|pregnant"
    r"|period|periods|vagina|vaginal)\b"
)
_MALE = re.compile(
    r"我是男|男的|男生|他|男性|男士|男孩|儿子|爸爸|我爸|父亲|老公|丈夫|爷爷|外公|姥爷|睾丸|阴囊|前列腺"
    r"|\b(man|male|boy|son|husband|father|dad|grandpa|grandfather|he|his|him|testicle|testicles"
    r"|scrotum|prostate)\b"
)


def sex(scan: Scan) -> str | None:
    """The first sex-specific word decides ("my son ... his" -> male)."""
    female, male = _FEMALE.search(scan.text), _MALE.search(scan.text)
    if female and (not male or female.start() <= male.start()):
        return "female"
    return "male" if male else None


_PREGNANT = re.compile(r"怀孕|孕\s*\d|孕[一二两三四五六七八九十]|孕妇|孕期|怀了|妊娠|怀着|\bpregnan|\bexpecting a baby\b")
_PREGNANCY_WEEKS = re.compile(rf"(?:孕|怀孕)\s*({_NUM})\s*(?:周|个?星期)|\b(\d{{1,2}}) weeks pregnant\b")


_MENSTRUATING = re.compile(r"来月经|月经来了|经期|来例假|大姨妈来|\bon my period\b|\bhaving my period\b")


def pregnancy(scan: Scan) -> tuple[bool | None, int | None]:
    """(pregnant?, weeks) - ``False`` when the text denies it ("没怀孕") or
    the patient is having a period."""
    for clause in scan.clauses:
        for match in _PREGNANT.finditer(clause.text):
            status = clause.status(match.start(), match.end())
            if status == NEGATED:
                return False, None
            if status == PRESENT:
                weeks = _PREGNANCY_WEEKS.search(scan.text)
                value = None
                if weeks:
                    value = cn_number(weeks.group(1) or weeks.group(2))
                return True, int(value) if value is not None else None
    if _MENSTRUATING.search(scan.text):
        return False, None
    return None, None


_DUR_ZH = re.compile(rf"(?<![孕\d.])(?<!孕 )({_NUM})\s*(?:个)?\s*(?:多)?\s*(?:个)?\s*({_alternation(_ZH_UNIT_DAYS)})(?!大|前的|岁)")
_DUR_EN = re.compile(rf"(?<![a-z0-9])({_EN_NUM})(?:(?<=\d)\s*|\s+)({_alternation(_EN_UNIT_DAYS)})"
                     r"(?![a-z0-9])(?![- ]old)")
_DUR_WORDS = ((re.compile(r"半天|今天早上|今早|今天上午|since this morning|since today"), 0.3),
              (re.compile(r"刚才|刚刚|just now|an hour ago|minutes ago"), 0.05),
              (re.compile(r"昨天|昨晚|since yesterday|last night"), 1.0),
              (re.compile(r"前天|好几天|这几天|几天了|for days"), 3.0),
              (re.compile(r"半个月|两三周|a fortnight"), 15.0),
              (re.compile(r"好几个月|几个月|for months"), 90.0))


def _age_spans(text: str) -> list[tuple[int, int]]:
    """Where the message states an age ("宝宝九个月", "baby is 9 months"): such a
    number of months is how old the patient is, not how long the illness lasted."""
    return [match.span() for pattern in (_AGE_ZH_SMALL, _AGE_ZH_BORN, _AGE_ZH_BABY, _AGE_EN,
                                         _AGE_EN_IS, _AGE_EN_SHORT)
            for match in pattern.finditer(text)]


def duration_days(scan: Scan) -> float | None:
    """Longest duration stated, in days (ages and gestations are skipped; a duration
    over 120 years counts as not stated)."""
    values: list[float] = []
    ages = _age_spans(scan.text)

    def is_age(match: re.Match[str]) -> bool:
        return any(start < match.end() and match.start() < end for start, end in ages)

    for match in _DUR_ZH.finditer(scan.text):
        number = cn_number(match.group(1))
        if number is not None and not is_age(match):
            values.append(number * _UNIT_DAYS[match.group(2)])
    for match in _DUR_EN.finditer(scan.text):
        number = _en_number(match.group(1))
        if number is not None and not is_age(match) and \
                not re.search(r"weeks pregnant", scan.text[match.start():match.end() + 10]):
            values.append(number * _UNIT_DAYS[match.group(2)])
    for pattern, days in _DUR_WORDS:
        if pattern.search(scan.text):
            values.append(days)
    values = [v for v in values if 0 < v <= MAX_DURATION_DAYS]
    return round(max(values), 3) if values else None


_SEVERE = re.compile(
    r"厉害|剧烈|剧痛|很严重|非常(疼|痛|难受)|特别(疼|痛|难受)|受不了|难以忍受|疼死|痛死|要命|疼得不行|痛得不行|疼得直|打滚|疼得.{0,2}哭|痛得.{0,2}哭|疼醒|哭闹不止"
    r"|\b(really|very|extremely|so|incredibly) (painful|sore)|hurts? (so much|a lot)"
    r"|\b(severe|severely|really bad|very bad|unbearable|excruciating|agony|agonising|agonizing|worst"
    r"|intense|terrible|awful|(9|10)/10|(9|10) out of 10)\b"
)
_MILD = re.compile(
    r"有点|有些|一点|轻微|稍微|微微|还好|不太(疼|痛|严重)|不严重|一小块|小口子|小伤口"
    r"|\b(mild|mildly|slight|slightly|a bit|a little|minor|not too bad|bit of|niggle|small|tiny)\b"
)


# a pain score: "7分", "7/10", "7 out of 10" (0-10)
_SCORE = re.compile(r"(?<![\d.])(10|\d)\s*(?:分(?!钟)|/\s*10\b|out of 10\b)")


def pain_score(text: str) -> int | None:
    match = _SCORE.search(text)
    return int(match.group(1)) if match else None


def severity(scan: Scan) -> str | None:
    score = pain_score(scan.text)
    if score is not None:
        return "mild" if score <= 3 else "moderate" if score <= 6 else "severe"
    for clause in scan.clauses:
        for match in _SEVERE.finditer(clause.text):
            if clause.status(match.start(), match.end()) == PRESENT:
                return "severe"
    return "mild" if _MILD.search(scan.text) else None


# A number is read whole ("1039度" is no temperature) and never after a minus sign.
# Celsius, except 95-110 with an English cue or °F ("temp 102", "101°F"): 度/℃ are Celsius.
# digits, or the Chinese numerals of a body temperature ("三十八度二" is 38.2)
_ZH_TEMP = "(?:三十[四五六七八九]|四十[一二]?)(?!\\s*[个天小时分钟岁年次号周])"
_TENTH = "[\\d一二三四五六七八九]"
_TEMP = re.compile(rf"(?<![\d.\-−])(\d{{2,3}}(?:\.\d)?|{_ZH_TEMP})\s*(度|℃|°c|°f|°|degrees?|c\b|f\b"
                   rf"|on (?:the|her|his|my) thermometer)(?:(?<=度)({_TENTH})(?![\d.]))?"
                   r"|(烧到|体温|肛温|腋温|耳温|额温|口温|量了|最高(?:烧到|到)?|发烧|发热|高烧|烧了?"
                   r"|temperature of|temp of|temp|max(?:imum)?|highest|fever of|fever|spiked(?: a fever of| to)?"
                   r"|thermometer (?:says|reads|shows))"
                   rf"\s*(?<![-−])(\d{{2,3}}(?:\.\d)?|{_ZH_TEMP})(?!\.?\d)(?:度({_TENTH})(?![\d.]))?")
_CELSIUS_ONLY = {"度", "℃", "°c", "c", "烧到", "体温", "肛温", "腋温", "耳温", "额温", "口温", "量了", "最高",
                 "最高烧到", "最高到", "发烧", "发热",
                 "高烧", "烧", "烧了"}


def _celsius(match: re.Match[str]) -> float | None:
    number = match.group(1) or match.group(5)
    value = float(number) if number[0].isdigit() else cn_number(number)
    tenth = match.group(3) or match.group(6)
    if value is None:
        return None
    if tenth:  # "38度5" is 38.5, "三十八度二" 38.2
        value += (int(tenth) if tenth.isdigit() else cn_number(tenth) or 0) / 10
    if 95 <= value <= 110 and (match.group(2) or match.group(4)) not in _CELSIUS_ONLY:
        value = round((value - 32) * 5 / 9, 1)  # Fahrenheit
    return value if 34 <= value <= 43 else None


def temperature_c(scan: Scan) -> float | None:
    """The highest plausible body temperature stated, in °C (34-43), else None."""
    values = [v for m in _TEMP.finditer(scan.text) if (v := _celsius(m)) is not None]
    return max(values) if values else None


_FIRST_PERSON = re.compile(r"我|\b(i|i'm|im|i've|my|me)\b")
_OTHER_PERSON = re.compile(
    r"孩子|宝宝|宝贝|婴儿|女儿|儿子|闺女|小孩|老公|老婆|爱人|丈夫|妻子|爸|妈|爷爷|奶奶|外婆|外公|姥姥|姥爷"
    r"|孙女|孙子|外孙|侄|邻居|老伴|老头|老太"
    r"|父亲|母亲|朋友|同事|他|她|家人|老人"
    r"|\b(son|daughter|baby|child|kid|toddler|infant|wife|husband|mum|mom|dad|father|mother"
    r"|grandma|grandpa|grandmother|grandfather|friend|partner|he|she|his|her|grandson"
    r"|granddaughter|grandchild|grandkid|nephew|niece|neighbour|neighbor|newborn)\b"
)


_KIN = (
    ("parent", r"我(?:的|家)?(?:爸爸?|妈妈?|父亲|母亲|老爸|老妈)|\bmy (?:dad|father|mum|mom|mother|mother-in-law|father-in-law)\b"),
    ("spouse", r"我(?:的|家)?(?:老公|老婆|丈夫|妻子|爱人|媳妇|先生|太太)|\bmy (?:husband|wife|partner)\b"),
    ("child", r"我(?:的|家)?(?:儿子|女儿|闺女|孩子|宝宝|宝贝|小孩|孙子|孙女)|\bmy (?:son|daughter|baby|child|kid|toddler)\b"),
    ("other", r"我(?:的|家)?(?:爷爷|奶奶|外公|外婆|姥姥|姥爷|朋友|同事|邻居)"
              r"|\bmy (?:grandma|grandpa|grandmother|grandfather|friend|colleague|neighbou?r)\b"),
)
_KIN_PATTERNS = tuple((who, re.compile(pattern)) for who, pattern in _KIN)


def kin_subject(scan: Scan) -> str | None:
    """Who the patient is when the writer names them as their own ("我爸", "my wife"):
    the first such word decides."""
    found = [(m.start(), who) for who, pattern in _KIN_PATTERNS
             if (m := pattern.search(scan.text))]
    return min(found)[1] if found else None


def self_report(scan: Scan) -> bool:
    """The writer describes their own symptoms (so is not an infant)."""
    return bool(_FIRST_PERSON.search(scan.text)) and not _OTHER_PERSON.search(scan.text)


# a number is read whole ("血压 120/800" is no reading, not 120/80) and never with a sign
_BP = re.compile(r"(?:血压|bp|blood pressure)[^\d]{0,40}(?<![-−])(\d{2,3})\s*/\s*(\d{2,3})(?!\.?\d)")
_GLUCOSE = re.compile(r"(?:血糖|blood sugar|glucose|sugar)[^\d]{0,15}(?<![-−])(\d{1,4}(?:\.\d{1,2})?)(?!\.?\d)")
_PLAUSIBLE_BP = ((50, 300), (30, 200))
_PLAUSIBLE_GLUCOSE = (0.5, 60.0)  # wide: a very low value must still raise the alarm


def blood_pressure(scan: Scan) -> tuple[int, int] | None:
    """(systolic, diastolic) in mmHg; an impossible pair counts as not stated."""
    match = _BP.search(scan.text)
    if not match:
        return None
    systolic, diastolic = int(match.group(1)), int(match.group(2))
    (s_low, s_high), (d_low, d_high) = _PLAUSIBLE_BP
    if s_low <= systolic <= s_high and d_low <= diastolic <= d_high and systolic > diastolic:
        return systolic, diastolic
    return None


def glucose_mmol(scan: Scan) -> float | None:
    """Blood glucose in mmol/L (values over 40 are read as mg/dL); an impossible
    value ("血糖 1234") counts as not stated."""
    match = _GLUCOSE.search(scan.text)
    return _glucose(match) if match else None


def _glucose(match: re.Match[str]) -> float | None:
    value = float(match.group(1))
    value = round(value / 18, 1) if value > 40 else value
    low, high = _PLAUSIBLE_GLUCOSE
    return value if low <= value <= high else None


# -- facts as ids, for the combos of red_flags.yml (declared there under `facts:`) ------

_BABY = re.compile(r"宝宝|婴儿|新生儿|小宝|幼儿|\b(baby|babies|infant|toddler|newborn)\b")
_CHILD_AGE_YEARS = 5.0


def _present_values(scan: Scan, pattern: re.Pattern[str], read) -> list[float]:
    """Values read from matches that the patient states now (not denied, past or asked)."""
    values = []
    for clause in scan.clauses:
        for match in pattern.finditer(clause.text):
            at = match.start(match.lastindex or 0)  # the number: "血糖没有低于3.5"
            if clause.status(at, match.end()) == PRESENT and (
                    value := read(match)) is not None:
                values.append(value)
    return values


def present_temperature(scan: Scan) -> float | None:
    """The highest temperature stated as now ("体温没有到38度，36.9" is 36.9)."""
    values = _present_values(scan, _TEMP, _celsius)
    return max(values) if values else None


def reported_temperature(scan: Scan) -> float | None:
    """The highest temperature reported, in a statement or inside a question
    ("耳温38度5 要不要观察一晚"), but not one denied or in the past."""
    values = []
    for clause in scan.clauses:
        for match in _TEMP.finditer(clause.text):
            at = match.start(match.lastindex or 0)
            if clause.status(at, match.end()) in (PRESENT, QUESTION) and (
                    value := _celsius(match)) is not None:
                values.append(value)
    return max(values) if values else None


_DIABETIC = re.compile(r"糖尿病|胰岛素|降糖药|二甲双胍|\b(diabetic|diabetes|insulin|metformin|gliclazide)\b")


def _has_condition(scan: Scan, pattern: re.Pattern[str]) -> bool:
    """A long-term condition: stated, or stated as history ("十年的糖尿病"), not denied or asked."""
    return any(clause.status(m.start(), m.end()) in (PRESENT, HISTORY)
               for clause in scan.clauses for m in pattern.finditer(clause.text))


def stated_ids(scan: Scan) -> set[str]:
    """Ids for facts a combo can name, read with the clause's scope:

    * ``temperature_38``: a temperature of 38 °C or more, stated as now;
    * ``small_child``: the patient is under 5 (a stated age, else a baby word);
    * ``severe_pain``: the complaint is described as severe;
    * ``glucose_low``: a blood glucose under 3.9 mmol/L, stated as now;
    * ``diabetic``: the patient has diabetes or takes insulin or tablets for it.
    """
    out = set()
    if any(v >= 38.0 for v in _present_values(scan, _TEMP, _celsius)):
        out.add("temperature_38")
    age = age_years(scan)
    if (age is not None and age < _CHILD_AGE_YEARS) or (age is None and _BABY.search(scan.text)):
        out.add("small_child")
    if severity(scan) == "severe":
        out.add("severe_pain")
    if any(v < 3.9 for v in _present_values(scan, _GLUCOSE, _glucose)):
        out.add("glucose_low")
    if _has_condition(scan, _DIABETIC):
        out.add("diabetic")
    return out


FACT_IDS = frozenset({"temperature_38", "small_child", "severe_pain", "glucose_low", "diabetic"})
