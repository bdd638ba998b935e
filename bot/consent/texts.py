"""Versioned consent texts (knowledge_base/consent.yml) and explicit answers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeBaseError
from bot.hospital import HospitalInfo
from bot.kb import load_kb_file
from bot.settings import SUPPORTED_LANGUAGES
from bot.text.normalise import normalise

PURPOSES = ("health_data", "handoff")
RETENTION_YEARS_DEFAULT = 3


@dataclass(frozen=True)
class ShownText:
    """The exact text shown to a patient, with what identifies it."""

    purpose: str
    version: str
    language: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


_EXPLICIT = re.compile(r"同意|拒绝|agree|consent|accept")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _norm(text: str) -> str:
    return _PUNCT.sub(" ", normalise(text)).strip()


class ConsentTexts:
    """The notice and the consent texts, rendered with the hospital's details."""

    def __init__(self, data: Mapping[str, Any], hospital: HospitalInfo,
                 retention_years: int = RETENTION_YEARS_DEFAULT) -> None:
        self.kb_version = str(data.get("version", ""))
        self._notice = data.get("privacy_notice") or {}
        self._purposes = data.get("purposes") or {}
        for purpose in PURPOSES:
            entry = self._purposes.get(purpose)
            if not entry or not entry.get("version"):
                raise KnowledgeBaseError(f"consent.yml: purpose {purpose!r} needs a version")
        for name, entry in [("privacy_notice", self._notice), *self._purposes.items()]:
            missing = [lang for lang in SUPPORTED_LANGUAGES if not entry.get(lang)]
            if missing or not entry.get("version"):
                raise KnowledgeBaseError(f"consent.yml: {name} needs a version and {missing}")
        answers = data.get("answers") or {}
        self._answers = {decision: {_norm(str(a)) for a in answers.get(decision) or []}
                         for decision in ("granted", "declined")}
        if not all(self._answers.values()):
            raise KnowledgeBaseError("consent.yml: answers.granted and answers.declined needed")
        self.hospital = hospital
        self.retention_years = retention_years

    @classmethod
    def load(cls, kb_dir: Path | None = None, retention_years: int = RETENTION_YEARS_DEFAULT
             ) -> ConsentTexts:
        return cls(load_kb_file("consent", kb_dir), HospitalInfo.load(kb_dir), retention_years)

    def _render(self, template: str, lang: str) -> str:
        return template.format(hospital=self.hospital.name[lang], phone=self.hospital.phone,
                               privacy_url=self.hospital.privacy_notice_url,
                               retention_years=self.retention_years)

    def notice(self, lang: str) -> ShownText:
        return ShownText("privacy_notice", str(self._notice["version"]), lang,
                         self._render(self._notice[lang], lang))

    def consent(self, purpose: str, lang: str) -> ShownText:
        entry = self._purposes[purpose]
        return ShownText(purpose, str(entry["version"]), lang, self._render(entry[lang], lang))

    def parse(self, text: str, explicit_only: bool = False) -> str | None:
        """The decision in ``text``; with ``explicit_only`` only one that names it
        ("同意", "agree", "拒绝"), not a bare "yes"/"可以"/"不" (for a question asked
        a few messages ago: that "yes" may answer something else)."""
        decision = parse_decision(text, self._answers)
        if decision and explicit_only and not _EXPLICIT.search(_norm(text)):
            return None
        return decision


def parse_decision(text: str, answers: Mapping[str, set[str]]) -> str | None:
    """``granted``/``declined`` for an explicit answer, else ``None``.

    Declines are checked first ("不同意" contains "同意").
    """
    norm = _norm(text)
    for candidate in dict.fromkeys((norm, _strip_fillers(norm))):
        if not candidate:
            continue
        if candidate in answers.get("declined", set()):
            return "declined"
        if candidate in answers.get("granted", set()):
            return "granted"
    return None


# Words around an answer that carry no decision: "那算了 同意吧", "that's fine, agree".
_LEADING = re.compile(r"^(?:那就|那么|那|算了|好吧|好的|好|行吧|行|嗯+|哦|噢|唉|还是|就|也|"
                      r"(?:that s|that is|thats|it s|its) (?:fine|ok|okay|alright)|fine|ok|okay|"
                      r"alright|well|then|so|oh|sure|yes|yeah)\s*")
_TRAILING = re.compile(r"\s*(?:吧|呢|啊|呀|了|哈|吗|then|please|anyway)$")


def _strip_fillers(norm: str) -> str:
    previous = None
    while previous != norm:
        previous = norm
        norm = _TRAILING.sub("", _LEADING.sub("", norm)).strip()
    return norm
