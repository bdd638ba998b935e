"""The one normal form of a patient's text, and the bound on a form answer.

Every reader of free text (dates, medication schedules, yes/no answers,
triage, re-visit answers, consent words) compares the patient's words with
its patterns in the same form, :func:`normalise`:

* NFKC, so full-width forms read as their ASCII twins ("３" is 3, "ＯＫ" is ok,
  "：" is ":") -- except the vulgar fractions ("½", "¼"), which NFKC spells
  "1⁄2": a number reader would then find a 2 in "½片" (two tablets for half
  a tablet). They are kept as one character that no reader takes for a number;
* the minus sign "−" (U+2212, which NFKC keeps) is a hyphen, so that "−5" is
  refused as a negative number and "3−5天" is a range, as with "-";
* curly apostrophes are straight ("don’t know" as "don't know");
* case-folded (:meth:`str.casefold`), unless ``keep_case`` (names and
  identifiers shown back to the patient);
* every run of whitespace (line breaks included) is one space, and none is
  left at either end.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ANSWER_CHARS = 300

# the characters NFKC decomposes into a fraction ("½" -> "1⁄2"), kept whole
_FRACTIONS = re.compile(r"[\u00bc-\u00be\u2150-\u215f\u2189]")
_AFTER_NFKC = str.maketrans({"\u2212": "-", "\u2019": "'", "\u2018": "'"})
_SPACES = re.compile(r"\s+")


def normalise(text: str | None, *, keep_case: bool = False) -> str:
    """``text`` in the form every pattern is written for (see the module)."""
    text = text or ""
    if _FRACTIONS.search(text):
        parts = _FRACTIONS.split(text)
        kept = _FRACTIONS.findall(text)
        text = "".join(unicodedata.normalize("NFKC", part) + (kept[i] if i < len(kept) else "")
                       for i, part in enumerate(parts))
    else:
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_AFTER_NFKC)
    if not keep_case:
        text = text.casefold()
    return _SPACES.sub(" ", text).strip()


def too_long(text: str | None, limit: int = MAX_ANSWER_CHARS) -> bool:
    """An answer too long to be a value ("3天", "每天两次", "明天下午3点"): a form
    answer longer than ``limit`` is not read at all, so that no pattern runs on
    a pasted page. Free-text descriptions (the triage complaint) have no such
    cap; their patterns are linear instead."""
    return len(text or "") > limit


__all__ = ["MAX_ANSWER_CHARS", "normalise", "too_long"]
