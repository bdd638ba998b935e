"""One function from patient words (plus known facts) to a triage decision.

The chat interview and ``medbot triage`` both call :meth:`Triage.assess_text`,
so the same input gives the same answer on both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.triage.case import TriageCase, TriageResult
from bot.triage.engine import TriageEngine
from bot.triage.extract import Extraction, extract
from bot.triage.kb import TriageKnowledge, default_knowledge, load_knowledge
from bot.triage.learned import default_model, ensure_model, load
from bot.triage.red_flags import RedFlagScreen
from bot.triage.understanding import Understanding


@dataclass(frozen=True)
class Assessment:
    """A decision and the case it was made on."""

    case: TriageCase
    result: TriageResult


class Triage:
    """Screen + extractor + engine over one knowledge base (build once, reuse)."""

    def __init__(self, knowledge: TriageKnowledge, model: Understanding | None = None) -> None:
        self.knowledge = knowledge
        self.screen = RedFlagScreen(knowledge, model)
        self.engine = TriageEngine(knowledge)
        # symptoms that alone make an emergency: the learned layer may not add them
        # (for an adult, or through a one-symptom red-flag combo such as a baby's
        # fever): only the screen, with its vetoes, decides an emergency
        self.not_learned = frozenset(
            s for s in knowledge.symptoms
            if self.engine.assess(TriageCase(symptoms=(s,), age_years=30.0, sex="female",
                                             pregnant=False)).level == "emergency") | frozenset(
            combo[0] for category in knowledge.red_flags for combo in category.combos
            if len(combo) == 1)

    @classmethod
    def from_dir(cls, kb_dir: Path | None = None, model: Understanding | None = None) -> Triage:
        return cls(load_knowledge(kb_dir) if kb_dir else default_knowledge(), model)

    def extract(self, text: str, lang: str | None = None) -> Extraction:
        return extract(text, self.screen, lang, self.not_learned)

    def assess_text(self, text: str, lang: str | None = None, **known: Any) -> Assessment:
        """Assess a free-text description.

        Args:
            text: the patient's words (all their messages about the complaint).
            lang: conversation language, if known.
            **known: facts already collected (``age_years``, ``sex``, ``pregnant``,
                ``duration_days``, ``severity``, ``symptoms`` to add, and
                ``red_flag_answers`` to merge); ``None`` values are ignored.
        """
        extraction = self.extract(text, lang)
        case = extraction.case
        extra_symptoms = tuple(s for s in known.pop("symptoms", None) or ()
                               if s in self.knowledge.symptoms and s not in case.symptoms)
        answers = dict(case.red_flag_answers)
        for key, value in (known.pop("red_flag_answers", None) or {}).items():
            if value is not None and not answers.get(key):
                answers[key] = value
        case = case.with_facts(symptoms=case.symptoms + extra_symptoms,
                               red_flag_answers=answers, **known)
        return Assessment(case, self.engine.assess(case, extraction.hits))

    def assess(self, case: TriageCase) -> TriageResult:
        return self.engine.assess(case)


@lru_cache(maxsize=1)
def default_triage() -> Triage:
    """The checkout's pipeline for library use outside an ``App`` (tests, benchmarks,
    notebooks); the servers use their app's (``App.triage``), built from its settings."""
    return Triage(default_knowledge(), default_model())


def triage_for(settings: Any, *, learned: bool = True) -> Triage:
    """A pipeline for a command line tool: the settings' knowledge base and the
    understanding model, built first if missing (``learned=False``: rules only)."""
    model = load(ensure_model(settings.models_dir, settings.project_root)) if learned else None
    return Triage.from_dir(settings.knowledge_base_dir, model)
