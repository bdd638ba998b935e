"""The one reader of numbers written by patients: Arabic digits, Chinese
numerals, and the approximate numbers of everyday Chinese.

:func:`read_number` reads one token and says what it is:

* an exact number ("14", "３", "十四", "两", "二十五", "一百零五", "一百二" (120),
  "37.5", "半" (0.5)): ``low == high == value``;
* a *range* of two digits ("两三" 2-3, "一二" 1-2, "三四" 3-4, "三五" 3-5,
  "十一二" 11-12, "二十三四" 23-24): a patient who says "两三天" means two or
  three days, never 23 (and never 2 or 3 for sure). ``value`` is the upper end;
* *a few* ("几" 1-9, "十几" 11-19, "几十" 10-90, "二十几" 21-29): ``value`` takes
  几 as 3, the way "a few" is 3 ("十几" 13, "几十" 30).

A range or a few is :attr:`Numeral.approximate`. The reader never decides
what an approximate number means for a question; each caller says so where it
reads one: the triage takes ``value`` (the upper end of a range: "两三天" is up
to three days; "十几天" 13), while a medication schedule, course or snooze, a
booking date or time and a re-visit date refuse it and the patient is asked
again (a dose is kept as written, "两三片", never read as a number).
:func:`read_int` is that strict reading: an exact whole number, else ``None``.

The bounds, so that any input is safe to read:

* a number is at most :data:`MAX_DIGITS` digits (no ``timedelta`` of 10**20
  minutes, no ``int()`` of 5,000 digits); anything longer or malformed
  ("十十十") is ``None``;
* number patterns start only at the beginning of a run of digits (the
  lookbehinds in :data:`DECIMAL` and :data:`NUMBER_RUN`): without them a regex
  engine tries a 4,000-digit run from each of its 4,000 positions (quadratic time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DIGITS = 6

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
# the characters of an exact Chinese number
CN_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"
# 几 ("a few") read as a digit
A_FEW = 3

# Arabic numbers as regex fragments (one capture-free unit each). A number after a
# minus sign is no number ("-5岁" is no age); a hyphen after a digit is a range ("3-5天").
NOT_NEGATIVE = r"(?<!(?<!\d)[-−])"
DECIMAL = rf"(?<![\d.]){NOT_NEGATIVE}\d{{1,{MAX_DIGITS}}}(?:\.\d{{1,3}})?(?!\.?\d)"
# a run of digits (with a minus sign, so that the reader refuses "-5") or of Chinese
# numerals, tried once per run; read it with read_int
NUMBER_RUN = rf"(?:(?<!\d)[-−]?\d+|(?<![{CN_NUMERAL_CHARS}])[{CN_NUMERAL_CHARS}]+)"
# a day of the month, a month, an hour or a count of days: up to three Chinese
# numerals or two digits, read whole ("123点" is no time, not 23:00)
SMALL_NUMBER = (r"(?<![零〇一二两三四五六七八九十\d])(?:[零〇一二两三四五六七八九十]{1,3}|\d{1,2})"
                r"(?!\d)")

_NONZERO = "一二两三四五六七八九"
_POSITIONAL = re.compile(
    rf"(?:([{_NONZERO}])千)?(?:零?([{_NONZERO}])百)?(?:零?([{_NONZERO}])?(十))?零?([{_NONZERO}])?")
_DECIMAL_TOKEN = re.compile(r"\d+\.\d+")
# approximate forms: [tens]十[ones], where a place holds one or two digits or 几
_APPROX_DIGITS = "零一二两三四五六七八九几"


@dataclass(frozen=True)
class Numeral:
    """A number as the patient wrote it.

    Attributes:
        value: the number; for an approximate one the reading a caller takes
            when it takes one (a range's upper end, 几 as 3).
        low, high: the numbers it may mean (equal when it is exact).
    """

    value: float
    low: float
    high: float

    @property
    def approximate(self) -> bool:
        """"两三", "十几", "几": not one number."""
        return self.low != self.high

    @classmethod
    def exact(cls, value: float) -> Numeral:
        return cls(value, value, value)


def read_int(token: str | None) -> int | None:
    """``"14"``, ``"１４"``, ``"十四"``, ``"两"``, ``"二十五"``, ``"一百零五"``, ``"一百二"`` (120) -> int.

    Returns:
        The value, or ``None`` when ``token`` is not one exact whole number of at
        most :data:`MAX_DIGITS` digits ("十十十", "12a", "两三", "3.5", 20 digits...).
    """
    token = (token or "").strip()
    if not token:
        return None
    if token.isdecimal():
        return int(token) if len(token) <= MAX_DIGITS else None
    if token in ("零", "〇"):
        return 0
    match = _POSITIONAL.fullmatch(token)
    if match is None or not any(match.groups()):
        return None
    thousands, hundreds, tens, ten, ones = match.groups()
    value = CN_DIGITS[thousands] * 1000 if thousands else 0
    value += CN_DIGITS[hundreds] * 100 if hundreds else 0
    if ten:
        value += (CN_DIGITS[tens] if tens else 1) * 10
    if ones:
        unit = 1
        if not ten and "零" not in token and (hundreds or thousands):  # "一百二" = 120
            unit = 10 if hundreds else 100
        value += CN_DIGITS[ones] * unit
    return value


def read_number(token: str | None) -> Numeral | None:
    """The number ``token`` says, exact or approximate (see the module); ``None``
    when it is none ("十十十", "三五七", a 20-digit run, "-5")."""
    token = (token or "").strip()
    if _DECIMAL_TOKEN.fullmatch(token):
        whole = token.partition(".")[0]
        return Numeral.exact(float(token)) if read_int(whole) is not None else None
    value = read_int(token)
    if value is not None:
        return Numeral.exact(float(value))
    if token == "半":
        return Numeral.exact(0.5)
    return _approximate(token)


def _place(digits: str) -> tuple[float, float, float] | None:
    """One place of an approximate number: a digit, two digits (a range) or
    几, as (value, low, high); an empty place is 0."""
    if len(digits) > 1 and digits.startswith("零"):  # "两个月零几天": 零 joins the places
        digits = digits[1:]
    if not digits:
        return 0, 0, 0
    if any(c not in _APPROX_DIGITS for c in digits) or len(digits) > 2:
        return None
    if digits == "几":
        return A_FEW, 1, 9
    if "几" in digits:
        return None
    values = [CN_DIGITS[c] for c in digits]
    return max(values), min(values), max(values)


def _approximate(token: str) -> Numeral | None:
    if "十" in token:
        tens, _, ones = token.partition("十")
        if "十" in ones or len(tens) > 1:
            return None
        tens_place, ones_place = _place(tens), _place(ones)
        if tens_place is None or ones_place is None:
            return None
        tens_value, tens_low, tens_high = tens_place if tens else (1, 1, 1)
        value, low, high = (t * 10 + o for t, o in zip((tens_value, tens_low, tens_high),
                                                      ones_place))
    else:
        place = _place(token)
        if place is None:
            return None
        value, low, high = place
    if low == high:
        return None  # exact numbers are read_int's ("一二" is 1-2, "零" is 0)
    return Numeral(float(value), float(low), float(high))


__all__ = ["A_FEW", "CN_DIGITS", "CN_NUMERAL_CHARS", "DECIMAL", "MAX_DIGITS", "NOT_NEGATIVE",
           "NUMBER_RUN", "Numeral", "SMALL_NUMBER", "read_int", "read_number"]
