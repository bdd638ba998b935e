"""The triage interview, without Rasa: what to ask next, how to read answers,
and what to say at the end.

The chat form (actions/triage.py) is a thin adapter over this module. A fact
is asked only if it can change the outcome: the engine is re-run with each
plausible value of the fact, and the question is skipped when they all give
the same level and first department. Red-flag questions come first
(emergency screening before anything else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.text.normalise import normalise, too_long
from bot.text.numbers import DECIMAL
from bot.text.yesno import Reply, is_unsure, read_reply
from bot.triage import facts
from bot.triage.case import TriageCase, TriageResult
from bot.triage.facts import MAX_AGE_YEARS, MAX_DURATION_DAYS
from bot.triage.kb import Bilingual
from bot.triage.pipeline import Assessment, Triage

UNKNOWN = "unknown"
SEPARATOR = "\n"  # answers are appended to the description
# fact slot -> TriageCase field and the values tried to see if it matters
FACT_SLOTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "triage_age": ("age_years", (0.1, 0.4, 3.0, 10.0, 30.0, 50.0, 80.0)),
    "triage_sex": ("sex", ("female", "male")),
    "triage_pregnant": ("pregnant", (True, False)),
    "triage_duration": ("duration_days", (0.5, 4.0, 10.0, 30.0)),
    "triage_severity": ("severity", ("mild", "severe")),
}
RED_FLAG_SLOT = "triage_red_flag"
# a slot holds raw text until its answer is validated; only parsed values count
_VALID = {
    "age_years": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "duration_days": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "sex": lambda v: v in ("female", "male"),
    "pregnant": lambda v: isinstance(v, bool),
    "severity": lambda v: v in ("mild", "moderate", "severe"),
}

_FEMALE = re.compile(r"女|\b(female|woman|girl|f)\b")
_MALE = re.compile(r"男|\b(male|man|boy|m)\b")
# a bare number, read whole and with its sign ("-5" is refused, not read as 5)
_NUMBER = re.compile(rf"([-−]?)({DECIMAL})")


def _bare_number(raw: str) -> float | None:
    """The first number in an answer; None if there is none or it is negative."""
    match = _NUMBER.search(raw)
    if match is None or match.group(1):
        return None
    return float(match.group(2))


def _within(value: float | None, high: float) -> float | None:
    return value if value is not None and 0 <= value <= high else None


def parse_answer(slot: str, text: str, triage: Triage) -> Any:
    """Read one answer: a value, ``UNKNOWN`` ("不知道"), or ``None`` if unreadable,
    implausible (an age over 120, a negative number) or too long to be an answer."""
    raw = normalise(text)
    if not raw or too_long(raw):
        return None
    if is_unsure(raw):
        return UNKNOWN
    if slot in (RED_FLAG_SLOT, "triage_pregnant"):
        # read by the first word: "胸口有点痛" or "好的" answers no such question (asked again)
        reply = read_reply(raw, leading=True)
        if reply is None and slot == "triage_pregnant" and re.search(r"怀孕|孕|pregnant", raw):
            return True
        return None if reply is None else reply is Reply.YES
    if slot == "triage_sex":
        female, male = _FEMALE.search(raw), _MALE.search(raw)
        if bool(female) != bool(male):
            return "female" if female else "male"
        return None
    case = triage.extract(text).case
    if slot in ("triage_age", "triage_duration") and facts.pain_score(raw) is not None:
        return None  # "7分" is a pain score, not an age or 7 days: asked again
    if slot == "triage_age":
        if case.age_years is not None:
            return case.age_years
        if case.duration_days is not None:  # "2个月", "6 weeks", "18 mos": an age as a span
            return _within(round(case.duration_days / 365, 3), MAX_AGE_YEARS)
        return _within(_bare_number(raw), MAX_AGE_YEARS)
    if slot == "triage_duration":
        if case.duration_days is not None:
            return case.duration_days
        return _within(_bare_number(raw), MAX_DURATION_DAYS)  # a bare number means days
    if slot == "triage_severity":
        score = _bare_number(raw)
        if score is not None and 0 <= score <= 10:
            return "mild" if score <= 3 else "moderate" if score <= 6 else "severe"
        if re.search(r"中等|一般|还行|moderate|medium|so-so", raw):
            return "moderate"
        if re.search(r"轻|\blight\b", raw):
            return "mild"
        if re.search(r"重|\bbad\b", raw):
            return "severe"
        return case.severity
    return None


def known_facts(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Slot values as ``Triage.assess_text`` keyword facts (unknowns left out)."""
    facts: dict[str, Any] = {}
    for slot, (field, _) in FACT_SLOTS.items():
        value = slots.get(slot)
        if _VALID[field](value):
            facts[field] = value
    answers = {k: v for k, v in (slots.get("triage_flag_answers") or {}).items()
               if isinstance(v, bool)}
    if answers:
        facts["red_flag_answers"] = answers
    return facts


def assess(triage: Triage, text: str, lang: str | None, slots: Mapping[str, Any]) -> Assessment:
    return triage.assess_text(text, lang, **known_facts(slots))


def pending_red_flags(triage: Triage, assessment: Assessment,
                      slots: Mapping[str, Any]) -> list[str]:
    """Red-flag questions that apply and were not asked yet, most serious first."""
    asked = set(slots.get("triage_flag_answers") or {})
    case = assessment.case
    out = []
    for missing in assessment.result.missing:
        kind, _, category = missing.partition(":")
        if kind != "red_flag" or category in asked:
            continue
        requires = triage.knowledge.red_flag(category).requires
        # settled by a fact we ask for instead ("how old is the patient?")
        if "age_months_below" in requires and case.age_years is None:
            continue
        if requires.get("pregnant") and case.pregnant is None:
            continue
        out.append(category)
    return out



def questions(triage: Triage, assessment: Assessment, slots: Mapping[str, Any]) -> list[str]:
    """Slots still to ask, in order; empty when the outcome cannot change (or is an emergency)."""
    result = assessment.result
    if result.level == "emergency":
        return []
    out = [RED_FLAG_SLOT] if pending_red_flags(triage, assessment, slots) else []
    case = assessment.case
    for slot, (field, values) in FACT_SLOTS.items():
        if slots.get(slot) is not None or getattr(case, field) is not None:
            continue
        if field == "pregnant":
            if case.sex == "male" or (case.age_years is not None
                                      and not 10 <= case.age_years <= 55):
                continue
            if case.sex is None and slots.get("triage_sex") is None:
                continue  # asked through triage_sex below
        if field == "sex" and case.pregnant is None and _may_be_pregnant(case) and _matters(
                triage, replace(case, sex="female"), "pregnant", (True, False)):
            if case.age_years is None and slots.get("triage_age") is None \
                    and "triage_age" not in out:
                out.append("triage_age")  # an age outside 10-55 settles pregnancy: asked first
            out.append(slot)
            continue
        if _matters(triage, case, field, values):
            out.append(slot)
    return out


def _may_be_pregnant(case: TriageCase) -> bool:
    return case.sex != "male" and (case.age_years is None or 10 <= case.age_years <= 55)


def _matters(triage: Triage, case: TriageCase, field: str, values: tuple[Any, ...]) -> bool:
    outcomes = set()
    for value in values:
        changes: dict[str, Any] = {field: value}
        if field == "pregnant" and value:
            changes["sex"] = "female"
        result = triage.engine.assess(replace(case, **changes))
        outcomes.add((result.level, result.departments[:1]))
    return len(outcomes) > 1


def next_question(triage: Triage, slots: Mapping[str, Any], lang: str | None
                  ) -> tuple[str, str | None] | None:
    """The slot the form asks next and, for a red-flag question, its category;
    ``None`` when the interview is over. Same order as the chat form (its
    required slots are ``["triage_text", *questions(...)]``)."""
    assessment = assess(triage, slots.get("triage_text") or "", lang, slots)
    remaining = questions(triage, assessment, slots)
    if not remaining:
        return None
    slot = remaining[0]
    if slot != RED_FLAG_SLOT:
        return slot, None
    return slot, pending_red_flags(triage, assessment, slots)[0]


def record_answer(triage: Triage, slots: Mapping[str, Any], slot: str, text: str
                  ) -> dict[str, Any] | None:
    """Read the answer to ``slot``: the slot updates, or ``None`` when it cannot be
    read (the form then says so and asks again). Everything the patient says
    joins the description (new symptoms, red flags); a red-flag answer is
    recorded against the category asked (``triage_asked_flag``) and the slot
    cleared, so that the next pending red-flag question is asked."""
    parsed = parse_answer(slot, text, triage)
    if parsed is None:
        return None
    updates: dict[str, Any] = {slot: parsed,
                               "triage_text": (slots.get("triage_text") or "") + SEPARATOR + text}
    asked = slots.get("triage_asked_flag")
    if slot == RED_FLAG_SLOT and asked:
        answers = dict(slots.get("triage_flag_answers") or {})
        answers[asked] = parsed
        updates.update({"triage_flag_answers": answers, RED_FLAG_SLOT: None,
                        "triage_asked_flag": None})
    return updates


def red_flag_question(triage: Triage, category: str) -> Bilingual:
    return triage.knowledge.red_flag(category).question


def render(triage: Triage, result: TriageResult, lang: str) -> dict[str, str]:
    """Parameters of the ``utter_triage_result`` response in ``lang``."""
    knowledge = triage.knowledge
    names = [knowledge.departments[d].name.get(lang) for d in result.departments]
    reasons = [r.text.get(lang) for r in result.reasons if not r.rule.startswith("unknown:")]
    unknown = [r.text.get(lang) for r in result.reasons if r.rule.startswith("unknown:")]
    bullet = "\n- "
    sep = "、" if lang == "zh" else ", "
    return {
        "level": knowledge.text(f"level_{result.level}").get(lang),
        "departments": sep.join(names),
        "department": names[0] if names else "",
        "reasons": bullet + bullet.join((reasons + unknown)[:4]) if reasons or unknown else "",
        "safety_net": bullet + bullet.join(n.get(lang) for n in result.safety_net),
    }
