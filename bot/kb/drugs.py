"""The drug catalogue (``drugs.yml``): one for reminders and re-visits alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.kb.catalog import Term, TermCatalog, synonyms


@dataclass(frozen=True)
class Drug(Term):
    def name(self, lang: str) -> str:
        return self.names["zh"] if lang == "zh" else self.names["en"]


class DrugCatalog(TermCatalog):
    """Drug ids and names; finds the drugs a patient names.

    ``match``/``match_all`` read normalised text (every mention, in order);
    ``resolve``/``find`` read an NLU entity value or a message for the one drug
    it names, case-folded only.
    """

    def __init__(self, drugs: list[Drug]) -> None:
        super().__init__(drugs)
        self._names = sorted(((name, drug) for drug in drugs for name in _lower_names(drug)),
                             key=lambda pair: -len(pair[0]))

    def get(self, entry_id: str | None) -> Drug | None:
        return self.entries.get(entry_id or "")  # type: ignore[return-value]

    def resolve(self, value: str) -> Drug | None:
        """A drug from an id, a name or a synonym (an NLU entity value)."""
        key = (value or "").strip().lower()
        return self.get(key) or next((d for n, d in self._names if n == key), None)

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


def _lower_names(drug: Drug) -> tuple[str, ...]:
    names = {drug.id.replace("_", " "), drug.names["zh"], drug.names["en"], *drug.synonyms}
    return tuple(sorted(n.lower() for n in names))


def load_drugs(kb_dir: Path | None = None) -> DrugCatalog:
    data = load_kb_file("drugs", kb_dir)
    try:
        return DrugCatalog([Drug(d["id"], {"zh": d["zh"], "en": d["en"]}, synonyms(d))
                            for d in data["drugs"]])
    except (KeyError, TypeError) as exc:
        raise KnowledgeBaseError(f"drugs.yml: {exc!r}") from exc


@lru_cache(maxsize=1)
def default_drugs() -> DrugCatalog:
    """The checkout's drug catalogue, loaded once per process."""
    return load_drugs()
