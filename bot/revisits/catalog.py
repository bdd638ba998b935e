"""Conditions (``conditions.yml``): which ones a re-visit may renew, and their department."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.kb.catalog import Term, TermCatalog, synonyms


@dataclass(frozen=True)
class Condition(Term):
    revisit_eligible: bool = False
    department: str | None = None


def load_conditions(kb_dir: Path | None = None) -> TermCatalog:
    data = load_kb_file("conditions", kb_dir)
    try:
        return TermCatalog([Condition(c["id"], {"zh": c["zh"], "en": c["en"]}, synonyms(c),
                                      bool(c.get("revisit_eligible", False)), c.get("department"))
                            for c in data["conditions"]])
    except (KeyError, TypeError) as exc:
        raise KnowledgeBaseError(f"conditions.yml: {exc!r}") from exc
