"""The department catalogue (``departments.yml``): ids, names in zh and en, synonyms.

Booking, triage and the handoff queue all name departments by these ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file

_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Department:
    id: str
    names: dict[str, str]
    synonyms: tuple[str, ...]

    def terms(self) -> list[str]:
        """Names, synonyms and the id as words ("respiratory", "general practice"):
        "Dr Zhao in respiratory" names the department."""
        return [self.names["zh"], self.names["en"], *self.synonyms, self.id.replace("_", " ")]


def load_departments(kb_dir: Path | None = None) -> dict[str, Department]:
    """Every department by id, in file order.

    Raises:
        KnowledgeBaseError: no departments, a bad or duplicate id, a name missing.
    """
    out: dict[str, Department] = {}
    for entry in load_kb_file("departments", kb_dir).get("departments") or []:
        out[_id(entry, out)] = _department(entry)
    if not out:
        raise KnowledgeBaseError("departments.yml: no departments")
    return out


def _id(entry: dict[str, Any], seen: dict[str, Department]) -> str:
    dep_id = entry.get("id")
    if not dep_id or not _ID.fullmatch(dep_id) or dep_id in seen:
        raise KnowledgeBaseError(f"departments: bad or duplicate id {dep_id!r}")
    return dep_id


def _department(entry: dict[str, Any]) -> Department:
    if not entry.get("zh") or not entry.get("en"):
        raise KnowledgeBaseError(f"departments:{entry['id']}: needs zh and en text")
    syn = entry.get("synonyms") or {}
    return Department(
        id=entry["id"], names={"zh": str(entry["zh"]).strip(), "en": str(entry["en"]).strip()},
        synonyms=tuple(str(w) for lang in ("zh", "en") for w in (syn.get(lang) or [])))
