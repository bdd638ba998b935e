"""The topics of ``knowledge_base/hospital.yml`` and which of them a message asks about."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.settings import SUPPORTED_LANGUAGES
from bot.text.normalise import normalise

# what a topic's answer may refer to (bot.hospital.HospitalInfo.params + the fee list)
PLACEHOLDERS = frozenset({
    "hospital_name", "hospital_phone", "emergency_phone", "hospital_address",
    "outpatient_hours", "emergency_hours", "privacy_notice_url", "registration_fees"})
MAX_TOPICS = 3  # answers per message


@dataclass(frozen=True)
class Topic:
    id: str
    title: dict[str, str]
    answer: dict[str, str]
    keywords: tuple[str, ...]
    weak: tuple[str, ...] = ()


class HospitalTopics:
    """The topics, in the order they are answered, and the classifier over them."""

    def __init__(self, topics: list[Topic], version: str = "") -> None:
        self.topics = {topic.id: topic for topic in topics}
        self.version = version

    @classmethod
    def load(cls, kb_dir: Path | None = None) -> HospitalTopics:
        """Raises:
            KnowledgeBaseError: a topic lacks zh/en text or keywords, or its answer
                uses an unknown placeholder.
        """
        data = load_kb_file("hospital", kb_dir)
        raw = data.get("topics") or {}
        if not raw:
            raise KnowledgeBaseError("hospital.yml: no topics")
        try:
            topics = [_topic(tid, entry) for tid, entry in raw.items()]
        except (KeyError, TypeError, AttributeError) as exc:
            raise KnowledgeBaseError(f"hospital.yml: topics: {exc!r}") from exc
        return cls(topics, data["version"])

    def classify(self, text: str) -> list[str]:
        """Topic ids ``text`` asks about, in knowledge-base order (at most
        :data:`MAX_TOPICS`); weak words count only when no keyword matched."""
        lowered = normalise(text)
        if not lowered:
            return []
        strong = [tid for tid, topic in self.topics.items()
                  if any(_contains(lowered, word) for word in topic.keywords)]
        if strong:
            return strong[:MAX_TOPICS]
        weak = [tid for tid, topic in self.topics.items()
                if any(_contains(lowered, word) for word in topic.weak)]
        return weak[:1]


def _contains(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    return word in text


def _bilingual(tid: str, field: str, value: Mapping[str, Any]) -> dict[str, str]:
    out = {lang: str(value.get(lang) or "").strip() for lang in SUPPORTED_LANGUAGES}
    missing = [lang for lang, text in out.items() if not text]
    if missing:
        raise KnowledgeBaseError(f"hospital.yml: topic {tid!r}: {field} lacks {missing}")
    return out


def _words(value: Mapping[str, Any] | None) -> tuple[str, ...]:
    value = value or {}
    return tuple(str(w).lower() for lang in SUPPORTED_LANGUAGES for w in value.get(lang) or [])


def _topic(tid: str, entry: Mapping[str, Any]) -> Topic:
    answer = _bilingual(tid, "answer", entry["answer"])
    for lang, text in answer.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        if fields - PLACEHOLDERS:
            raise KnowledgeBaseError(
                f"hospital.yml: topic {tid!r}: unknown placeholders {sorted(fields - PLACEHOLDERS)}")
    keywords = _words(entry.get("keywords"))
    if not keywords:
        raise KnowledgeBaseError(f"hospital.yml: topic {tid!r}: no keywords")
    return Topic(tid, _bilingual(tid, "title", entry["title"]), answer, keywords,
                 _words(entry.get("weak")))
