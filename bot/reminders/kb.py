"""Knowledge-base views for reminders: follow-up plans and thresholds (drugs: ``bot.kb.drugs``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
def default_followup_kb() -> FollowupKB:
    return FollowupKB.load()
