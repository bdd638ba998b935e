"""Longest-match phrase finder over normalised text, with clause status."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.text.normalise import normalise
from bot.triage.text import PRESENT, Clause, split_clauses

# Lay Chinese puts adverbs between a body part and the complaint ("眼睛也疼",
# "胸口好痛"); phrases ending in a complaint character accept up to two of them.
_FILLERS = "也|还|又|都|就|有点|有些|很|好|特别|非常|一直|老是|总是|挺|比较|真|太|蛮|更"
_FILLER_RE = re.compile(f"(?:{_FILLERS})")
_COMPLAINT_END = "疼痛痒肿麻晕胀酸红闷"
# English phrases written with "my" also match other possessives.
_POSSESSIVE = re.compile(r"\b(my|his|her|their|your|our)\b")
_POSSESSIVE_ALT = "(?:my|his|her|their|your|our|the)"


def _canonical(phrase: str) -> str:
    if phrase.isascii():
        return _POSSESSIVE.sub("my", phrase).replace(" the ", " my ")
    phrase = phrase.replace("疼", "痛")
    if len(phrase) < 3:
        return phrase
    return phrase[:1] + _FILLER_RE.sub("", phrase[1:-1]) + phrase[-1]


def _alternative(phrase: str) -> str:
    if phrase.isascii():
        body = _POSSESSIVE_ALT.join(re.escape(part) for part in _POSSESSIVE.split(phrase)[::2])
        plural = "(?:s|es)?" if phrase[-1].isalpha() else ""  # "mouth ulcers"
        return rf"(?<![a-z]){body}{plural}(?![a-z])"
    escaped = [("[疼痛]" if c in "疼痛" else re.escape(c)) for c in phrase]
    if len(phrase) >= 2 and phrase[-1] in _COMPLAINT_END:
        return "".join(escaped[:-1]) + f"(?:{_FILLERS}){{0,2}}" + escaped[-1]
    return "".join(escaped)


@dataclass(frozen=True)
class Mention:
    """A phrase found in a message: which id it names and how it is meant."""

    id: str
    phrase: str
    status: str
    clause: int

    @property
    def present(self) -> bool:
        return self.status == PRESENT


class PhraseMatcher:
    """Finds phrases and patterns and maps them to ids.

    Phrases (zh without word boundaries, en with) go into one compiled
    alternation, longest first, so at each position the longest phrase wins
    ("胸口压着疼" over "胸口疼"). Regex patterns run on their own (they may
    overlap phrases) and are checked for negation inside the match ("胸口不疼").
    """

    def __init__(self, phrases: Mapping[str, Iterable[str]],
                 patterns: Mapping[str, Iterable[str]] | None = None) -> None:
        self._ids: dict[str, str] = {}
        keys: list[str] = []
        for pid, words in phrases.items():
            for word in words:
                key = normalise(word)
                if key and _canonical(key) not in self._ids:
                    self._ids[_canonical(key)] = pid
                    keys.append(key)
        alternatives = [_alternative(p) for p in sorted(set(keys), key=len, reverse=True)]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None
        self._patterns = [(pid, re.compile(regex)) for pid, regexes in (patterns or {}).items()
                          for regex in regexes]

    def find(self, clauses: list[Clause]) -> list[Mention]:
        found: list[Mention] = []
        for index, clause in enumerate(clauses):
            for match in self._pattern.finditer(clause.text) if self._pattern else ():
                # "headaches" -> "headache", "rashes" -> "rash"
                pid = self._ids.get(_canonical(match.group())) or self._ids.get(
                    _canonical(re.sub(r"s$", "", match.group()))) or self._ids.get(
                    _canonical(re.sub(r"es$", "", match.group())))
                if pid is not None:
                    status = clause.status(match.start(), match.end())
                    found.append(Mention(pid, match.group(), status, index))
            for pid, pattern in self._patterns:
                for match in pattern.finditer(clause.text):
                    # the complaint word ends the match: a cue inside it negates it
                    status = clause.status(max(match.start(), match.end() - 1), match.end(),
                                           match.start())
                    found.append(Mention(pid, match.group(), status, index))
        return found


@dataclass(frozen=True)
class Scan:
    """A normalised message, its clauses and every phrase mention in it."""

    text: str
    clauses: list[Clause]
    mentions: list[Mention]
    lines: tuple[str, ...] = ()  # the normalised lines: one message each in an interview story

    def present_ids(self) -> set[str]:
        return {m.id for m in self.mentions if m.present}

    def negated_ids(self) -> set[str]:
        present = self.present_ids()
        return {m.id for m in self.mentions if m.status == "negated" and m.id not in present}

    def first_present(self, pid: str) -> Mention | None:
        return next((m for m in self.mentions if m.id == pid and m.present), None)


def scan_text(text: str, matcher: PhraseMatcher) -> Scan:
    norm = normalise(text)
    clauses = split_clauses(norm)
    lines = tuple(line for line in (normalise(raw) for raw in (text or "").splitlines()) if line)
    return Scan(norm, clauses, matcher.find(clauses), lines)
