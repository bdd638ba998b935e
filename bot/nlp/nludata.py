"""Read Rasa 3 YAML NLU files without Rasa: examples, entities, languages.

Used by the data tests (counts per intent and language, no overlap between
training and held-out data, entity values in the knowledge base) and by the
evaluation, which needs the gold annotations of the held-out set.

An example's language is ``zh``, ``en`` or ``mixed``: from the intent block's
``metadata: {lang: ...}`` if present, otherwise from the file name suffix
(``appointments_zh.yml``), otherwise detected from the text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.errors import KnowledgeBaseError
from bot.text.normalise import normalise

LANGUAGES = ("zh", "en", "mixed")
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]*\}))")
_HAN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
_FILE_LANG = re.compile(r"_(zh|en|mixed)$")


@dataclass(frozen=True)
class Entity:
    entity: str
    start: int
    end: int
    text: str
    value: str | None = None  # explicit value from a JSON annotation


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    lang: str
    source: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)


def detect_script(text: str) -> str:
    """"zh", "en" or "mixed" from the characters of the text."""
    han, latin = bool(_HAN.search(text)), bool(_LATIN.search(text))
    if han and latin:
        return "mixed"
    return "zh" if han else "en"


def normalise_text(text: str) -> str:
    """Comparison key: :func:`~bot.text.normalise.normalise`d, no whitespace or punctuation."""
    text = normalise(text)
    return "".join(
        ch for ch in text
        if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def parse_annotated(raw: str) -> tuple[str, tuple[Entity, ...]]:
    """Plain text and entities of an annotated example ("[头疼](symptom)")."""
    parts: list[str] = []
    entities: list[Entity] = []
    pos = 0
    length = 0
    for match in _ANNOTATION.finditer(raw):
        before = raw[pos:match.start()]
        parts.append(before)
        length += len(before)
        text = match.group("text")
        if match.group("entity"):
            name, value = match.group("entity"), None
        else:
            spec = json.loads(match.group("json"))
            name, value = spec["entity"], spec.get("value")
        entities.append(Entity(name, length, length + len(text), text, value))
        parts.append(text)
        length += len(text)
        pos = match.end()
    parts.append(raw[pos:])
    return "".join(parts), tuple(entities)


def _examples_of(block: str) -> list[str]:
    lines = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
        elif line == "-":
            raise KnowledgeBaseError("empty example line")
    return lines


def read_nlu_file(path: Path) -> list[Example]:
    """Intent examples of one Rasa YAML file (synonyms, lookups, regexes skipped)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    match = _FILE_LANG.search(path.stem)
    file_lang = match.group(1) if match else None
    examples = []
    for item in data.get("nlu") or []:
        if "intent" not in item:
            continue
        lang = (item.get("metadata") or {}).get("lang") or file_lang
        for raw in _examples_of(item.get("examples") or ""):
            text, entities = parse_annotated(raw)
            examples.append(Example(text, item["intent"], lang or detect_script(text),
                                    path.name, entities))
    return examples


def read_nlu(paths: Iterable[Path]) -> list[Example]:
    """Examples of several files or directories (``*.yml`` recursively)."""
    examples: list[Example] = []
    for path in paths:
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            examples.extend(read_nlu_file(file))
    return examples
