"""Input and output of the triage engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.triage.kb import Bilingual


@dataclass(frozen=True)
class Vitals:
    """Measurements the patient reports; ``None`` when unknown."""

    temperature_c: float | None = None
    heart_rate: int | None = None
    systolic_bp: int | None = None
    spo2: int | None = None
    glucose_mmol: float | None = None


@dataclass(frozen=True)
class TriageCase:
    """Everything the engine decides on.

    ``red_flag_answers`` maps a red-flag category id to ``True`` (present),
    ``False`` (denied) or ``None``/absent (unknown, counted conservatively).
    """

    symptoms: tuple[str, ...] = ()
    duration_days: float | None = None
    severity: str | None = None  # "mild" | "moderate" | "severe"
    age_years: float | None = None
    sex: str | None = None  # "female" | "male"
    pregnant: bool | None = None
    pregnancy_weeks: int | None = None
    vitals: Vitals = field(default_factory=Vitals)
    red_flag_answers: Mapping[str, bool | None] = field(default_factory=dict)
    features: tuple[str, ...] = ()  # extra findings, e.g. "sudden_onset"
    self_report: bool = False
    subject: str | None = None  # self | child | parent | spouse | other
    language: str | None = None

    def with_facts(self, **changes: Any) -> TriageCase:
        """A copy with the given facts replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def answer(self, category: str) -> bool | None:
        return self.red_flag_answers.get(category)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["red_flag_answers"] = dict(self.red_flag_answers)
        return data


@dataclass(frozen=True)
class RedFlagHit:
    """An emergency found in a message, with what to tell the patient."""

    category: str
    phrase: str
    name: Bilingual
    advice: Bilingual
    action: str  # "call_120" | "go_to_ed" | "crisis"

    def message(self, lang: str | None) -> str:
        """Name and advice in one language, ready to send."""
        return f"⚠️ {self.name.get(lang)}\n{self.advice.get(lang)}"

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {"id": self.category, "phrase": self.phrase, "action": self.action,
                "advice": self.advice.get(lang)}


@dataclass(frozen=True)
class Reason:
    """Why the engine decided something: the rule id and its explanation."""

    rule: str
    text: Bilingual


@dataclass(frozen=True)
class TriageResult:
    level: str
    departments: tuple[str, ...]
    reasons: tuple[Reason, ...]
    red_flags: tuple[RedFlagHit, ...]
    safety_net: tuple[Bilingual, ...]
    missing: tuple[str, ...]  # facts/questions that could change the outcome
    ruleset: str

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        """The CLI's JSON shape."""
        return {
            "level": self.level,
            "departments": list(self.departments),
            "red_flags": [hit.to_dict(lang) for hit in self.red_flags],
            "reasons": [{"rule": r.rule, "text": r.text.get(lang)} for r in self.reasons],
            "ruleset": self.ruleset,
        }
