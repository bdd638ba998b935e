"""Knowledge-base views for reminders: drug names, follow-up plans, thresholds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Drug:
    id: str
    zh: str
    en: str
    names: tuple[str, ...]  # every name and synonym, lower case

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class DrugCatalog:
    """Drug ids and names of ``knowledge_base/drugs.yml``; finds drugs in free text."""

    def __init__(self, drugs: list[Drug]) -> None:
        self.drugs = {d.id: d for d in drugs}
        pairs = sorted(((n, d) for d in drugs for n in d.names), key=lambda p: -len(p[0]))
        self._names = pairs

    @classmethod
    def load(cls, kb_dir: Path | None = None) -> DrugCatalog:
        data = load_kb_file("drugs", kb_dir)
        drugs = []
        for entry in data.get("drugs") or []:
            syn = entry.get("synonyms") or {}
            names = {entry["id"].replace("_", " "), entry["zh"], entry["en"],
                     *(syn.get("zh") or []), *(syn.get("en") or [])}
            drugs.append(Drug(entry["id"], entry["zh"], entry["en"],
                              tuple(sorted(n.lower() for n in names))))
        return cls(drugs)

    def get(self, drug_id: str) -> Drug | None:
        return self.drugs.get(drug_id)

    def resolve(self, value: str) -> Drug | None:
        """A drug from an id, a name or a synonym (an NLU entity value)."""
        key = (value or "").strip().lower()
        return self.drugs.get(key) or next((d for n, d in self._names if n == key), None)

    def find(self, text: str) -> Drug | None:
        """The drug named in ``text`` (longest name wins; Latin names whole-word)."""
        low = (text or "").lower()
        for name, drug in self._names:
            if name.isascii():
                if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", low):
                    return drug
            elif name in low:
                return drug
        return None


@dataclass(frozen=True)
class FollowupPlan:
    id: str
    conditions: tuple[str, ...]
    measure: str
    weekdays: tuple[int, ...]  # 0 = Monday
    at: time
    prompt: str
    name: dict[str, str]
    context: str | None = None


def _plan(entry: dict[str, Any]) -> FollowupPlan:
    try:
        hour, minute = (int(x) for x in str(entry["time"]).split(":"))
        return FollowupPlan(
            id=entry["id"], conditions=tuple(entry["conditions"]), measure=entry["measure"],
            weekdays=tuple(WEEKDAYS.index(d) for d in entry["weekdays"]), at=time(hour, minute),
            prompt=entry["prompt"], name=dict(entry["name"]), context=entry.get("context"))
    except (KeyError, ValueError, TypeError) as exc:
        raise KnowledgeBaseError(f"followup_plans.yml: bad plan {entry!r}: {exc}") from exc


@dataclass(frozen=True)
class FollowupKB:
    plans: dict[str, FollowupPlan]
    thresholds: dict[str, Any]
    version: str

    @classmethod
    def load(cls, kb_dir: Path | None = None) -> FollowupKB:
        data = load_kb_file("followup_plans", kb_dir)
        plans = {p.id: p for p in (_plan(e) for e in data.get("plans") or [])}
        thresholds = data.get("thresholds") or {}
        for measure in ("bp", "glucose"):
            if measure not in thresholds:
                raise KnowledgeBaseError(f"followup_plans.yml: no thresholds for {measure}")
        return cls(plans, thresholds, data["version"])

    def plan_for_condition(self, condition_id: str) -> FollowupPlan | None:
        return next((p for p in self.plans.values() if condition_id in p.conditions), None)

    def plan_for_measure(self, measure: str) -> FollowupPlan | None:
        return next((p for p in self.plans.values() if p.measure == measure), None)


@lru_cache(maxsize=1)
def default_drugs() -> DrugCatalog:
    return DrugCatalog.load()


@lru_cache(maxsize=1)
def default_followup_kb() -> FollowupKB:
    return FollowupKB.load()
