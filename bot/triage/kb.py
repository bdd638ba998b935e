"""Typed view of the triage knowledge base (symptoms, departments, red flags, rules).

Loaded once through :func:`bot.kb.load_kb_file` and checked for dangling ids, so
a broken file fails at start-up rather than in the middle of a conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.kb.departments import load_departments
from bot.triage.facts import FACT_IDS

LEVELS = ("self_care", "routine", "urgent", "emergency")  # ascending urgency
KB_FILES = ("symptoms", "departments", "red_flags", "triage_rules")


def level_rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Bilingual:
    """A text in both languages; ``get`` falls back to zh."""

    zh: str
    en: str

    def get(self, lang: str | None) -> str:
        return self.en if lang == "en" else self.zh

    @classmethod
    def parse(cls, data: Any, where: str) -> Bilingual:
        if not isinstance(data, dict) or not data.get("zh") or not data.get("en"):
            raise KnowledgeBaseError(f"{where}: needs zh and en text")
        return cls(str(data["zh"]).strip(), str(data["en"]).strip())


@dataclass(frozen=True)
class Named:
    """A symptom or a department: id, names, lay synonyms."""

    id: str
    name: Bilingual
    synonyms: tuple[str, ...]

    def phrases(self) -> tuple[str, ...]:
        return (self.name.zh, self.name.en, *self.synonyms)


@dataclass(frozen=True)
class RedFlagCategory:
    id: str
    name: Bilingual
    action: str
    advice: Bilingual
    question: Bilingual
    safety_net: Bilingual
    applies_to: tuple[str, ...]
    if_unknown: dict[str, str]  # symptom id (or "default") -> level when unanswered
    triggers: tuple[re.Pattern[str], ...]
    combos: tuple[tuple[str, ...], ...]
    requires: dict[str, Any] = field(default_factory=dict)
    mild_means_no: bool = False  # "a small cut/burn" answers the question "no"
    source: str = ""  # short references, each explained in knowledge_base/SOURCES.md

    def unknown_level(self, symptoms: set[str]) -> str:
        """The level an unanswered question implies for these symptoms."""
        levels = [self.if_unknown.get(s, self.if_unknown["default"])
                  for s in symptoms & set(self.applies_to)]
        return max(levels, key=level_rank) if levels else LEVELS[0]


@dataclass(frozen=True)
class TriageKnowledge:
    symptoms: dict[str, Named]
    departments: dict[str, Named]
    features: dict[str, tuple[str, ...]]
    red_flags: tuple[RedFlagCategory, ...]
    rules: dict[str, Any]
    versions: dict[str, str]
    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ruleset(self) -> str:
        """One string naming the versions of every file a decision depends on."""
        return ";".join(f"{name}={self.versions[name]}" for name in KB_FILES)

    def red_flag(self, category_id: str) -> RedFlagCategory:
        for category in self.red_flags:
            if category.id == category_id:
                return category
        raise KnowledgeBaseError(f"unknown red-flag category {category_id!r}")

    def text(self, key: str) -> Bilingual:
        return Bilingual.parse(self.rules["texts"].get(key), f"triage_rules.texts.{key}")


def _named(items: list[dict[str, Any]], file: str) -> dict[str, Named]:
    out: dict[str, Named] = {}
    for item in items or []:
        sid = item.get("id")
        if not sid or not re.fullmatch(r"[a-z][a-z0-9_]*", sid) or sid in out:
            raise KnowledgeBaseError(f"{file}: bad or duplicate id {sid!r}")
        syn = item.get("synonyms") or {}
        words = tuple(str(w) for lang in ("zh", "en") for w in (syn.get(lang) or []))
        out[sid] = Named(sid, Bilingual.parse(item, f"{file}:{sid}"), words)
    return out


def _category(item: dict[str, Any], known: set[str]) -> RedFlagCategory:
    cid = item["id"]
    triggers = tuple(
        re.compile(pattern, re.IGNORECASE)
        for lang in ("zh", "en")
        for pattern in ((item.get("triggers") or {}).get(lang) or [])
    )
    combos = tuple(tuple(combo) for combo in item.get("combos") or [])
    for feature in {f for combo in combos for f in combo} | set(item.get("applies_to") or []):
        if feature not in known:
            raise KnowledgeBaseError(f"red_flags:{cid}: unknown feature {feature!r}")
    if_unknown = item.get("if_unknown")
    if_unknown = dict(if_unknown) if isinstance(if_unknown, dict) else {"default": if_unknown}
    if not set(if_unknown.values()) <= set(LEVELS) or "default" not in if_unknown:
        raise KnowledgeBaseError(f"red_flags:{cid}: if_unknown needs levels and a default")
    return RedFlagCategory(
        id=cid,
        name=Bilingual.parse(item.get("name"), f"red_flags:{cid}.name"),
        action=item.get("action", "call_120"),
        advice=Bilingual.parse(item.get("advice"), f"red_flags:{cid}.advice"),
        question=Bilingual.parse(item.get("question"), f"red_flags:{cid}.question"),
        safety_net=Bilingual.parse(item.get("safety_net"), f"red_flags:{cid}.safety_net"),
        applies_to=tuple(item.get("applies_to") or ()),
        if_unknown=if_unknown,
        triggers=triggers,
        combos=combos,
        requires=dict(item.get("requires") or {}),
        mild_means_no=bool(item.get("mild_means_no")),
        source=str(item.get("source") or ""),
    )


def _check_rules(rules: dict[str, Any], symptoms: set[str], departments: set[str],
                 features: set[str], red_flag_ids: set[str]) -> None:
    for sid, entry in (rules.get("symptoms") or {}).items():
        if sid not in symptoms:
            raise KnowledgeBaseError(f"triage_rules.symptoms: unknown symptom {sid!r}")
        if entry.get("level") not in LEVELS:
            raise KnowledgeBaseError(f"triage_rules.symptoms.{sid}: bad level")
        for dep in entry.get("departments") or []:
            if dep not in departments:
                raise KnowledgeBaseError(f"triage_rules.symptoms.{sid}: unknown department {dep!r}")
    missing = symptoms - set(rules.get("symptoms") or {})
    if missing:
        raise KnowledgeBaseError(f"triage_rules.symptoms: no entry for {sorted(missing)}")
    for rule in rules.get("rules") or []:
        when = rule.get("when") or {}
        for sid in [*(when.get("all") or []), *(when.get("any") or [])]:
            if sid not in symptoms:
                raise KnowledgeBaseError(f"triage_rules:{rule.get('id')}: unknown symptom {sid!r}")
        for fid in [*(when.get("features") or []), *(rule.get("unless_features") or []),
                    *(rule.get("unless_any_feature") or [])]:
            if fid.removeprefix("no_") not in features:
                raise KnowledgeBaseError(f"triage_rules:{rule.get('id')}: unknown feature {fid!r}")
        for cid in rule.get("settles") or []:
            if cid not in red_flag_ids:
                raise KnowledgeBaseError(f"triage_rules:{rule.get('id')}: settles unknown red flag {cid!r}")
        for sid, level in (rule.get("symptom_level") or {}).items():
            base = (rules.get("symptoms") or {}).get(sid, {}).get("level")
            # only lowers a base level, never an emergency one
            if sid not in symptoms or level not in LEVELS or base == "emergency" \
                    or level_rank(level) > level_rank(base):
                raise KnowledgeBaseError(
                    f"triage_rules:{rule.get('id')}: symptom_level {sid}: {level} may only lower a "
                    "non-emergency base level")
        if rule.get("level") is not None and rule["level"] not in LEVELS:
            raise KnowledgeBaseError(f"triage_rules:{rule.get('id')}: bad level")
        for dep in [*(rule.get("prefer") or []), *((rule.get("replace") or {}).get("from") or [])]:
            if dep not in departments:
                raise KnowledgeBaseError(f"triage_rules:{rule.get('id')}: unknown department {dep!r}")
        Bilingual.parse(rule.get("reason"), f"triage_rules:{rule.get('id')}.reason")


def load_knowledge(kb_dir: Path | None = None) -> TriageKnowledge:
    """Load and cross-check the four triage files.

    Raises:
        KnowledgeBaseError: a file is missing, unversioned or refers to unknown ids.
    """
    raw = {name: load_kb_file(name, kb_dir) for name in KB_FILES}
    symptoms = _named(raw["symptoms"].get("symptoms"), "symptoms")
    departments = {d.id: Named(d.id, Bilingual(d.names["zh"], d.names["en"]), d.synonyms)
                   for d in load_departments(kb_dir).values()}
    # features (findings that are not symptoms) come from red_flags.yml and, for
    # level rules, from triage_rules.yml; both feed the same matcher
    raw_features = raw["red_flags"].get("features") or {}
    features: dict[str, tuple[str, ...]] = {}
    for name in ("red_flags", "triage_rules"):
        for fid, words in (raw[name].get("features") or {}).items():
            features[fid] = features.get(fid, ()) + tuple(
                str(w) for lang in ("zh", "en") for w in (words.get(lang) or []))
    stated = set(raw["red_flags"].get("facts") or ())
    if stated - FACT_IDS:
        raise KnowledgeBaseError(f"red_flags.facts: no reader for {sorted(stated - FACT_IDS)}")
    known = set(symptoms) | set(features) | stated
    red_flags = tuple(_category(item, known) for item in raw["red_flags"].get("categories") or [])
    _check_rules(raw["triage_rules"], set(symptoms), set(departments), set(features),
                 {c.id for c in red_flags})
    patterns = {sid: tuple(regexes) for sid, regexes in (raw["triage_rules"].get("patterns") or {}).items()}
    for sid, regexes in patterns.items():
        if sid not in known:
            raise KnowledgeBaseError(f"triage_rules.patterns: unknown symptom or feature {sid!r}")
    # a feature may also be found by regexes (its own `patterns:` in red_flags.yml)
    patterns.update({fid: tuple(words["patterns"]) for fid, words in raw_features.items()
                     if words.get("patterns")})
    for sid, regexes in patterns.items():
        for regex in regexes:
            try:
                re.compile(regex)
            except re.error as exc:
                raise KnowledgeBaseError(f"triage_rules.patterns.{sid}: {exc}") from exc
    return TriageKnowledge(
        symptoms=symptoms,
        departments=departments,
        features=features,
        red_flags=red_flags,
        rules=raw["triage_rules"],
        versions={name: raw[name]["version"] for name in KB_FILES},
        patterns=patterns,
    )


@lru_cache(maxsize=4)
def default_knowledge(kb_dir: Path | None = None) -> TriageKnowledge:
    """The knowledge base of the checkout, loaded once per process."""
    return load_knowledge(kb_dir)
