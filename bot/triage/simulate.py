"""Interview simulator: the chat interview, answered by a simulated patient.

``medbot eval triage --interview FILE`` reads JSON lines
``{"id", "lang", "message", "facts"}`` and runs the interview code of the chat
form (:func:`bot.triage.interview.next_question` and
:func:`~bot.triage.interview.record_answer`) from ``message``. The simulated
patient answers each question from ``facts`` in the case's language, as a
patient would type it ("5个月", "not sure"):

* ``null`` is answered "not sure";
* a red-flag question is answered "yes" when the project's own understanding
  layer (rules and learned) reads that category in the patient's ``symptoms``
  words (with the age, temperature and pregnancy of ``facts``), else "no": a
  symptom neither in ``symptoms`` nor in the message is denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ValidationError
from bot.triage import interview
from bot.triage.pipeline import Triage

FACT_KEYS = ("age_years", "sex", "pregnant", "duration_hours", "fever_c", "symptoms",
             "history", "severity_0_10")
MAX_QUESTIONS = 20
_UNSURE = {"zh": "不知道", "en": "not sure"}
_YES = {"zh": "是的，有", "en": "yes"}
_NO = {"zh": "没有", "en": "no"}


def check_case(case: Mapping[str, Any], number: int) -> None:
    """A clear error for a malformed case (its line number and what is wrong)."""
    for key in ("id", "message", "facts"):
        if key not in case:
            raise ValidationError(f"case {number}: missing {key!r}")
    facts = case["facts"]
    if not isinstance(facts, Mapping) or set(facts) != set(FACT_KEYS):
        raise ValidationError(f"case {case['id']}: facts must have exactly the keys "
                              f"{', '.join(FACT_KEYS)}")


@dataclass
class SimulatedPatient:
    """Answers the interview's questions from the facts of one vignette."""

    triage: Triage
    facts: Mapping[str, Any]
    lang: str

    def description(self) -> str:
        """The facts as the short English words of the vignette ("chest pain,
        sweating, 61 years old"), for the understanding layer."""
        f = self.facts
        parts = [str(s) for s in f.get("symptoms") or ()]
        if f.get("fever_c") is not None:
            parts.append(f"temperature {f['fever_c']} C")
        age = f.get("age_years")
        if age is not None:
            parts.append(f"{max(1, round(age * 12))} months old" if age < 2
                         else f"{age:g} years old")
        if f.get("pregnant"):
            parts.append("pregnant")
        return ", ".join(parts)

    def has(self, category: str) -> bool:
        scan = self.triage.screen.scan(self.description())
        return any(hit.category == category for hit in self.triage.screen.hits(scan))

    def answer(self, slot: str, category: str | None) -> str:
        f, zh = self.facts, self.lang == "zh"
        unsure = _UNSURE["zh" if zh else "en"]
        if slot == interview.RED_FLAG_SLOT:
            return (_YES if category and self.has(category) else _NO)["zh" if zh else "en"]
        if slot == "triage_age":
            age = f.get("age_years")
            if age is None:
                return unsure
            if age < 2:
                months = max(1, round(age * 12)) if age >= 1 / 12 else None
                if months is None:
                    weeks = max(1, round(age * 52))
                    return f"{weeks}周" if zh else f"{weeks} weeks old"
                return f"{months}个月" if zh else f"{months} months old"
            return f"{age:g}岁" if zh else f"{age:g} years old"
        if slot == "triage_sex":
            sex = f.get("sex")
            if sex not in ("female", "male"):
                return unsure
            return ("女" if sex == "female" else "男") if zh else sex
        if slot == "triage_pregnant":
            pregnant = f.get("pregnant")
            if pregnant is None:
                return unsure
            return (_YES if pregnant else _NO)["zh" if zh else "en"]
        if slot == "triage_duration":
            hours = f.get("duration_hours")
            if hours is None:
                return unsure
            if hours < 48:
                return f"{hours:g}小时" if zh else f"{hours:g} hours"
            return f"{hours / 24:g}天" if zh else f"{hours / 24:g} days"
        if slot == "triage_severity":
            score = f.get("severity_0_10")
            return unsure if score is None else f"{score:g}"
        return unsure


def run_case(triage: Triage, case: Mapping[str, Any]) -> dict[str, Any]:
    """One simulated interview: the result line for ``case``."""
    lang = case.get("lang") or "zh"
    patient = SimulatedPatient(triage, case["facts"], lang)
    slots: dict[str, Any] = {"triage_text": str(case["message"]), "triage_flag_answers": {}}
    asked: list[str] = []
    while len(asked) < MAX_QUESTIONS:
        step = interview.next_question(triage, slots, lang)
        if step is None:
            break
        slot, category = step
        asked.append(f"{slot}:{category}" if category else slot)
        if category:
            slots["triage_asked_flag"] = category
        updates = interview.record_answer(triage, slots, slot, patient.answer(slot, category))
        if updates is None:  # the form would ask again; the simulator gives up on it
            slots[slot] = interview.UNKNOWN
            if category:
                slots["triage_flag_answers"] = {**slots["triage_flag_answers"],
                                                category: interview.UNKNOWN}
                slots["triage_asked_flag"] = None
            continue
        slots.update(updates)
    result = interview.assess(triage, slots["triage_text"], lang, slots).result
    return {"id": case["id"], "level": result.level, "departments": list(result.departments),
            "red_flags": [hit.category for hit in result.red_flags], "questions": asked,
            "reasons": [reason.rule for reason in result.reasons]}


__all__ = ["run_case", "check_case", "SimulatedPatient", "FACT_KEYS"]
