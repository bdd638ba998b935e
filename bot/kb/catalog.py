"""Knowledge-base entries with names and synonyms, and finding them in free text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text.normalise import normalise


def _contains(text: str, term: str) -> bool:
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text) is not None
    return term in text


@dataclass(frozen=True)
class Term:
    id: str
    names: dict[str, str]
    synonyms: tuple[str, ...]

    def terms(self) -> list[str]:
        return [normalise(t) for t in (self.id.replace("_", " "), self.names["zh"], self.names["en"],
                                   *self.synonyms) if t]


class TermCatalog:
    """Find catalogue entries named in free text (longest match wins)."""

    def __init__(self, entries: list[Term]) -> None:
        self.entries = {entry.id: entry for entry in entries}
        self._terms = sorted(((term, entry.id) for entry in entries for term in entry.terms()),
                             key=lambda item: -len(item[0]))

    def get(self, entry_id: str | None) -> Term | None:
        return self.entries.get(entry_id or "")

    def match(self, text: str) -> Term | None:
        """The entry whose id, name or synonym appears in ``text`` (or is ``text``)."""
        found = self.match_all(text)
        return self.entries[found[0]] if found else None

    def match_all(self, text: str) -> list[str]:
        """Ids of every entry named in ``text``, in order of first mention."""
        s = normalise(text)
        if s in self.entries:
            return [s]
        hits: dict[str, int] = {}
        taken: list[tuple[int, int]] = []
        for term, entry_id in self._terms:
            pos = s.find(term) if not term.isascii() else _ascii_pos(s, term)
            if pos < 0 or any(a <= pos < b for a, b in taken):
                continue
            taken.append((pos, pos + len(term)))
            hits.setdefault(entry_id, pos)
        return sorted(hits, key=hits.get)

    def mentions(self, text: str, entry_id: str) -> bool:
        entry = self.entries.get(entry_id)
        s = normalise(text)
        return entry is not None and any(_contains(s, term) for term in entry.terms())


def _ascii_pos(text: str, term: str) -> int:
    m = re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text)
    return m.start() if m else -1


def synonyms(entry: dict) -> tuple[str, ...]:
    syn = entry.get("synonyms") or {}
    return tuple((syn.get("zh") or []) + (syn.get("en") or []))
