"""What every deterministic value parser shares: the one numeral reader and the bounds.

The parsers of dates, times, medication schedules, readings, ages, durations and
yes/no answers read free text from patients, so they must survive anything:

* a number is at most :data:`MAX_DIGITS` digits (no ``timedelta`` of 10**20
  minutes, no ``int()`` of 5,000 digits); :func:`cn_int` returns ``None`` for
  anything longer or malformed ("十十十") and each parser refuses it in its own way;
* a form answer longer than :data:`MAX_ANSWER_CHARS` is not read at all
  (:func:`too_long`); free-text descriptions (the triage complaint) have no such
  cap, and their patterns are linear instead;
* number patterns start only at the beginning of a run of digits (the
  lookbehinds in :data:`DECIMAL` and :data:`NUMBER_RUN`): without them a regex
  engine tries a 4,000-digit run from each of its 4,000 positions (quadratic time).
"""

from __future__ import annotations

import re

MAX_DIGITS = 6
MAX_ANSWER_CHARS = 300

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
CN_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"

# Arabic numbers as regex fragments (one capture-free unit each). A number after a
# minus sign is no number ("-5岁" is no age); a hyphen after a digit is a range ("3-5天").
NOT_NEGATIVE = r"(?<!(?<!\d)[-−])"
DECIMAL = rf"(?<![\d.]){NOT_NEGATIVE}\d{{1,{MAX_DIGITS}}}(?:\.\d{{1,3}})?(?!\.?\d)"
# a run of digits (with a minus sign, so that cn_int refuses "-5") or of Chinese
# numerals, tried once per run; read it with cn_int
NUMBER_RUN = rf"(?:(?<!\d)[-−]?\d+|(?<![{CN_NUMERAL_CHARS}])[{CN_NUMERAL_CHARS}]+)"

_NONZERO = "一二两三四五六七八九"
_POSITIONAL = re.compile(
    rf"(?:([{_NONZERO}])千)?(?:零?([{_NONZERO}])百)?(?:零?([{_NONZERO}])?(十))?零?([{_NONZERO}])?")


def too_long(text: str | None, limit: int = MAX_ANSWER_CHARS) -> bool:
    """An answer too long to be a value ("3天", "每天两次", "明天下午3点")."""
    return len(text or "") > limit


def cn_int(token: str) -> int | None:
    """``"14"``, ``"十四"``, ``"两"``, ``"二十五"``, ``"一百零五"``, ``"一百二"`` (120) -> int.

    Returns:
        The value, or ``None`` when ``token`` is not one well-formed number of at
        most :data:`MAX_DIGITS` digits (``"十十十"``, ``"12a"``, 20 digits...).
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


__all__ = ["CN_DIGITS", "CN_NUMERAL_CHARS", "DECIMAL", "MAX_ANSWER_CHARS",
           "MAX_DIGITS", "NOT_NEGATIVE", "NUMBER_RUN", "cn_int", "too_long"]
