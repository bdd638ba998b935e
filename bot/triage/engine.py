"""The triage engine: a deterministic function from a case to a decision.

No I/O after construction; the same case and knowledge base always give the
same result. See knowledge_base/triage_rules.yml for how levels combine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.triage.case import Reason, RedFlagHit, TriageCase, TriageResult
from bot.triage.kb import LEVELS, Bilingual, TriageKnowledge, level_rank

MAX_DEPARTMENTS = 3
MAX_SAFETY_NET = 3


class TriageEngine:
    """Applies the rules of one knowledge base."""

    def __init__(self, knowledge: TriageKnowledge) -> None:
        self.knowledge = knowledge
        self.rules: list[dict[str, Any]] = list(knowledge.rules.get("rules") or [])
        self.symptom_rules: dict[str, dict[str, Any]] = knowledge.rules["symptoms"]
        self.self_care_max_days = float(knowledge.rules.get("self_care_max_days", 7))

    def assess(self, case: TriageCase, hits: Sequence[RedFlagHit] = ()) -> TriageResult:
        """Decide level, departments, reasons and safety net for ``case``.

        Args:
            case: the structured case (``red_flag_answers`` True for every hit).
            hits: red flags found in the patient's words, to quote in reasons.
        """
        state = _State()
        answers = self._answers(case)
        fired = [rule for rule in self.rules
                 if self._matches(rule.get("when") or {}, case, answers, rule.get("unless_denied"))
                 and not _all_present(rule.get("unless_features"), case.features)
                 and not set(rule.get("unless_any_feature") or ()) & set(case.features)]
        # a fired rule may set a symptom's base level lower ("a sprain you can walk on");
        # red flags, unanswered red-flag questions and other rules still raise it
        base = {sid: level for rule in fired for sid, level in (rule.get("symptom_level") or {}).items()}
        self._symptoms(case, state, base)
        # a fired rule may also settle an unanswered red-flag question ("a band-like
        # headache" is no thunderclap); a question the text answers "yes" still fires
        settled = {cid for rule in fired for cid in rule.get("settles") or ()}
        self._red_flags(case, answers, hits, state, settled)
        for rule in fired:
            self._apply(rule, state)
        if not case.symptoms and not state.red_flags:
            state.raise_to("routine", Reason("no_symptoms", self.knowledge.text("no_symptoms")))
            state.score("general_practice", 1)
        departments = self._departments(state)
        return TriageResult(
            level=state.level,
            departments=departments,
            reasons=tuple(state.reasons),
            red_flags=tuple(state.red_flags),
            safety_net=self._safety_net(case, answers),
            missing=tuple(state.missing),
            ruleset=self.knowledge.ruleset,
        )

    # -- steps -----------------------------------------------------------
    def _symptoms(self, case: TriageCase, state: _State, base: dict[str, str]) -> None:
        texts = self.knowledge.text
        for position, sid in enumerate(case.symptoms):
            entry = self.symptom_rules[sid]
            name = self.knowledge.symptoms[sid].name
            level = base.get(sid, entry["level"])
            limit = float(entry.get("self_care_max_days", self.self_care_max_days))
            if level == "self_care" and case.duration_days is not None and case.duration_days >= limit:
                days = f"{case.duration_days:g}"
                text = texts("self_care_too_long")
                state.raise_to("routine", Reason("self_care_too_long:" + sid, _fmt(
                    text, symptom=name, days=Bilingual(days, days))))
            level_text = texts("level_" + level)
            state.raise_to(level, Reason("symptom:" + sid, _fmt(
                texts("symptom_base"), symptom=name, level=level_text)), always=position == 0)
            for rank, dep in enumerate(entry.get("departments") or []):
                state.score(dep, 3 - min(rank, 2))

    def _answers(self, case: TriageCase) -> dict[str, bool | None]:
        """Red-flag answers, with those that the facts settle filled in."""
        answers = dict(case.red_flag_answers)
        for category in self.knowledge.red_flags:
            if answers.get(category.id) is not None:
                continue
            if category.mild_means_no and case.severity == "mild":
                answers[category.id] = False
                continue
            requires = category.requires
            if "age_months_below" in requires:
                if case.age_years is not None:
                    if case.age_years * 12 >= requires["age_months_below"]:
                        answers[category.id] = False
                    elif any(set(combo) <= set(case.symptoms) for combo in category.combos):
                        answers[category.id] = True
                elif case.self_report or case.subject in ("parent", "spouse"):
                    answers[category.id] = False  # the writer, a parent or a spouse is no baby
            if requires.get("pregnant") and (case.pregnant is False or case.sex == "male"
                                             or (case.age_years is not None
                                                 and not 10 <= case.age_years <= 55)):
                answers[category.id] = False
        return answers

    def _red_flags(self, case: TriageCase, answers: dict[str, bool | None],
                   hits: Sequence[RedFlagHit], state: _State, settled: set[str]) -> None:
        texts = self.knowledge.text
        quoted = {hit.category: hit for hit in hits}
        symptoms = set(case.symptoms)
        for category in self.knowledge.red_flags:
            answer = answers.get(category.id)
            if answer:
                hit = quoted.get(category.id) or RedFlagHit(
                    category.id, "", category.name, category.advice, category.action)
                state.red_flags.append(hit)
                phrase = Bilingual(hit.phrase or "是", hit.phrase or "yes")
                state.raise_to("emergency", Reason("red_flag:" + category.id, _fmt(
                    texts("red_flag"), name=category.name, phrase=phrase)), always=True)
                state.prefer(["emergency"])
            elif answer is None and symptoms & set(category.applies_to) and category.id not in settled:
                state.missing.append("red_flag:" + category.id)
                state.raise_to(category.unknown_level(symptoms), Reason("unknown:" + category.id, _fmt(
                    texts("unknown_question"), question=category.question)))

    def _matches(self, when: dict[str, Any], case: TriageCase,
                 answers: dict[str, bool | None], unless_denied: str | None) -> bool:
        symptoms = set(case.symptoms)
        if unless_denied and answers.get(unless_denied) is False:
            return False
        if not set(when.get("all") or ()) <= symptoms:
            return False
        if when.get("any") and not symptoms & set(when["any"]):
            return False
        if not set(when.get("features") or ()) <= set(case.features):
            return False
        age = case.age_years
        if "age_min" in when and (age is None or age < when["age_min"]):
            return False
        if "age_max" in when and (age is None or age >= when["age_max"]):
            return False
        for key in ("sex", "pregnant", "severity"):
            if key in when and getattr(case, key) != when[key]:
                return False
        if "severity_not" in when and case.severity == when["severity_not"]:
            return False
        sbp = case.vitals.systolic_bp
        if "systolic_bp_min" in when and (sbp is None or sbp < when["systolic_bp_min"]):
            return False
        if "duration_days_min" in when and (case.duration_days is None
                                             or case.duration_days < when["duration_days_min"]):
            return False
        temp = case.vitals.temperature_c
        if "temperature_min" in when and (temp is None or temp < when["temperature_min"]):
            return False
        return True

    def _apply(self, rule: dict[str, Any], state: _State) -> None:
        reason = Reason("rule:" + rule["id"], Bilingual.parse(rule["reason"], rule["id"]))
        if rule.get("level"):
            state.raise_to(rule["level"], reason, always=True)
        else:
            state.reasons.append(reason)
        if rule.get("prefer"):
            state.prefer(rule["prefer"])
        if rule.get("replace"):
            state.replacements.append((rule["replace"]["from"], rule["replace"]["to"]))

    def _departments(self, state: _State) -> tuple[str, ...]:
        for old, new in state.replacements:
            state.replace(old, new)
        ranked = sorted(state.scores, key=lambda d: (-state.scores[d], state.first_seen[d]))
        if state.level == "emergency" and "emergency" not in ranked[:1]:
            ranked = ["emergency", *[d for d in ranked if d != "emergency"]]
        return tuple(ranked[:MAX_DEPARTMENTS])

    def _safety_net(self, case: TriageCase, answers: dict[str, bool | None]) -> tuple[Bilingual, ...]:
        symptoms = set(case.symptoms)
        nets = [c.safety_net for c in self.knowledge.red_flags
                if not answers.get(c.id) and symptoms & set(c.applies_to)
                and not _ruled_out(c.requires, case)]
        nets = nets[:MAX_SAFETY_NET - 1]
        nets.append(self.knowledge.text("generic_safety_net"))
        return tuple(nets)


class _State:
    """Mutable working state of one assessment."""

    def __init__(self) -> None:
        self.level = LEVELS[0]
        self.reasons: list[Reason] = []
        self.red_flags: list[RedFlagHit] = []
        self.missing: list[str] = []
        self.scores: dict[str, float] = {}
        self.first_seen: dict[str, int] = {}
        self.replacements: list[tuple[Sequence[str], str]] = []
        self._boost = 100.0

    def raise_to(self, level: str, reason: Reason, always: bool = False) -> None:
        """Raise the level; keep the reason if it raised it (or ``always``)."""
        if level_rank(level) > level_rank(self.level):
            self.level = level
            self.reasons.append(reason)
        elif always or level_rank(level) == level_rank(self.level) and level != LEVELS[0]:
            if all(r.rule != reason.rule for r in self.reasons):
                self.reasons.append(reason)

    def score(self, dep: str, points: float) -> None:
        self.first_seen.setdefault(dep, len(self.first_seen))
        self.scores[dep] = self.scores.get(dep, 0) + points

    def prefer(self, deps: Sequence[str]) -> None:
        """Later preferences rank above earlier ones; within one list, order is kept."""
        self._boost += 100
        for offset, dep in enumerate(deps):
            self.score(dep, 0)
            self.scores[dep] = max(self.scores[dep], self._boost - offset)

    def replace(self, old: Sequence[str], new: str) -> None:
        moved = [self.scores.pop(dep) for dep in list(self.scores) if dep in old]
        if moved:
            self.score(new, 0)
            self.scores[new] = max(self.scores[new], *moved) + len(moved)


def _all_present(features: Sequence[str] | None, present: Sequence[str]) -> bool:
    """``unless_features``: every listed feature was found (an empty list never holds)."""
    return bool(features) and set(features) <= set(present)


def _fmt(template: Bilingual, **params: Bilingual) -> Bilingual:
    return Bilingual(
        template.zh.format(**{k: v.zh for k, v in params.items()}),
        template.en.format(**{k: v.en for k, v in params.items()}),
    )


def _ruled_out(requires: dict, case: TriageCase) -> bool:
    """The patient's sex or age rule a category out (no pregnancy note for a boy of
    five, no baby-fever note for an adult), so its safety net is left out."""
    if requires.get("pregnant") and (case.pregnant is False or case.sex == "male" or (
            case.age_years is not None and not 10 <= case.age_years <= 55)):
        return True
    limit = requires.get("age_months_below")
    return limit is not None and case.age_years is not None and case.age_years * 12 >= limit
