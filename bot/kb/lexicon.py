"""The NLU lexicon generated from the knowledge base.

Symptoms, departments, drugs and conditions each have a canonical id, a zh and
an en name and lay synonyms in ``knowledge_base/*.yml``. From them this module
generates, never by hand:

* ``nlu_data/nlu/generated_lexicon.yml``: Rasa entity synonyms (every name and
  synonym -> canonical id) and lookup features (a lookup table of the Chinese
  terms per entity, and a word-bounded regex of the Latin terms, so "cut" does
  not fire inside "cute");
* ``nlu_data/generated/jieba_userdict.txt``: the Han terms, so jieba keeps
  each of them as one token and entity annotations align.

Rasa's EntitySynonymMapper maps text to a value whatever the entity type. A
text listed under two types (高血压 is a condition and a symptom synonym) is
mapped by :data:`ENTITY_PRIORITY` (a named condition wins over a symptom);
:meth:`Lexicon.resolve` is the type-aware lookup for code outside Rasa.

Run ``python -m bot.kb.lexicon`` after editing the knowledge base
(``--check`` exits 1 when the generated files are stale).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.settings import PROJECT_ROOT

# entity name -> (knowledge-base file stem, top-level list key)
ENTITY_SOURCES: dict[str, tuple[str, str]] = {
    "symptom": ("symptoms", "symptoms"),
    "department": ("departments", "departments"),
    "drug": ("drugs", "drugs"),
    "condition": ("conditions", "conditions"),
}
# When one text names entries of two types, the synonym goes to the first.
ENTITY_PRIORITY = ("condition", "drug", "department", "symptom")

NLU_FILE = Path("nlu_data/nlu/generated_lexicon.yml")
JIEBA_FILE = Path("nlu_data/generated/jieba_userdict.txt")

_HAN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_ONLY = re.compile(r"^[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")

# Service words jieba should keep whole; they are not entities.
SERVICE_WORDS = (
    "挂号", "挂个号", "预约", "改约", "退号", "复诊", "续方", "续药", "开药", "配药",
    "用药提醒", "吃药提醒", "漏服", "空腹血糖", "餐后血糖", "人工客服", "转人工",
)


@dataclass(frozen=True)
class Term:
    """One surface text of a knowledge-base entry."""

    entity: str
    id: str
    text: str


def normalise(text: str) -> str:
    """Key used for matching: stripped, lower case, inner spaces collapsed."""
    return " ".join(text.strip().lower().split())


class Lexicon:
    """All entity terms of the knowledge base, with type-aware resolution."""

    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        self._by_type: dict[tuple[str, str], str] = {}
        for term in terms:
            key = (term.entity, normalise(term.text))
            other = self._by_type.get(key)
            if other is not None and other != term.id:
                raise KnowledgeBaseError(
                    f"{term.entity} text {term.text!r} names both {other!r} and {term.id!r}"
                )
            self._by_type[key] = term.id
        self._ids = {(t.entity, normalise(t.id)): t.id for t in terms}

    def ids(self, entity: str) -> set[str]:
        return {t.id for t in self.terms if t.entity == entity}

    def resolve(self, entity: str, text: str) -> str | None:
        """Canonical id for an entity value (a surface text or an id already)."""
        key = (entity, normalise(text))
        return self._ids.get(key) or self._by_type.get(key)

    def synonyms(self) -> dict[str, str]:
        """Text (normalised) -> id for Rasa's type-blind synonym mapper."""
        result: dict[str, str] = {}
        for entity in ENTITY_PRIORITY:
            for (ent, key), value in sorted(self._by_type.items()):
                if ent == entity and key not in result:
                    result[key] = value
        return result

    def ambiguous(self) -> dict[str, list[tuple[str, str]]]:
        """Texts that name entries of different types: text -> [(type, id)]."""
        seen: dict[str, set[tuple[str, str]]] = {}
        for (entity, key), value in self._by_type.items():
            seen.setdefault(key, set()).add((entity, value))
        return {k: sorted(v) for k, v in sorted(seen.items()) if len({i for _, i in v}) > 1}

    def texts(self, entity: str) -> list[str]:
        return sorted({normalise(t.text) for t in self.terms if t.entity == entity})

    def jieba_words(self) -> list[str]:
        words = {t.text.strip() for t in self.terms if _HAN_ONLY.match(t.text.strip())}
        words.update(SERVICE_WORDS)
        return sorted(words)


def _entry_terms(entity: str, entry: dict, source: str) -> Iterator[Term]:
    entry_id = entry.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        raise KnowledgeBaseError(f"{source}: entry without an id: {entry!r}")
    texts = [entry.get("zh"), entry.get("en")]
    synonyms = entry.get("synonyms") or {}
    for lang in ("zh", "en"):
        texts.extend(synonyms.get(lang) or [])
    for text in texts:
        if isinstance(text, str) and text.strip():
            yield Term(entity, entry_id, text.strip())


def build_lexicon(kb_dir: Path | None = None) -> Lexicon:
    """Read the four entity files of the knowledge base."""
    terms: list[Term] = []
    for entity, (stem, key) in ENTITY_SOURCES.items():
        data = load_kb_file(stem, kb_dir)
        entries = data.get(key)
        if not isinstance(entries, list):
            raise KnowledgeBaseError(f"{stem}.yml: '{key}' must be a list")
        for entry in entries:
            terms.extend(_entry_terms(entity, entry, f"{stem}.yml"))
    return Lexicon(terms)


def _latin_regex(texts: list[str]) -> str:
    # Longest first so "chest pain" wins over "chest"; \b only next to word characters.
    parts = sorted(texts, key=lambda t: (-len(t), t))
    return r"(?<![\w])(?:" + "|".join(re.escape(t) for t in parts) + r")(?![\w])"


def render_nlu_yaml(lexicon: Lexicon) -> str:
    """The Rasa NLU file with synonyms, lookup tables and regexes."""
    lines = [
        "# GENERATED by `python -m bot.kb.lexicon` from knowledge_base/*.yml.",
        "# Do not edit: edit the knowledge base and regenerate.",
        'version: "3.1"',
        "nlu:",
    ]
    by_id: dict[str, list[str]] = {}
    for text, value in lexicon.synonyms().items():
        if text != normalise(value):
            by_id.setdefault(value, []).append(text)
    for value in sorted(by_id):
        lines.append(f"- synonym: {_quote(value)}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in sorted(by_id[value]))
    for entity in ENTITY_SOURCES:
        han = [t for t in lexicon.texts(entity) if _HAN.search(t)]
        latin = [t for t in lexicon.texts(entity) if not _HAN.search(t)]
        if han:
            lines.append(f"- lookup: {entity}_zh")
            lines.append("  examples: |")
            lines.extend(f"    - {text}" for text in han)
        if latin:
            lines.append(f"- regex: {entity}_en")
            lines.append("  examples: |")
            lines.append(f"    - {_latin_regex(latin)}")
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[a-z0-9_]+", value) else '"' + value.replace('"', '\\"') + '"'


def render_jieba_dict(lexicon: Lexicon) -> str:
    """The jieba user dictionary: one word per line (jieba picks frequencies)."""
    return "".join(f"{word}\n" for word in lexicon.jieba_words())


def generated_files(lexicon: Lexicon, root: Path = PROJECT_ROOT) -> dict[Path, str]:
    return {root / NLU_FILE: render_nlu_yaml(lexicon), root / JIEBA_FILE: render_jieba_dict(lexicon)}


def stale_files(root: Path = PROJECT_ROOT, kb_dir: Path | None = None) -> list[Path]:
    """Generated files whose content differs from what the KB produces now."""
    files = generated_files(build_lexicon(kb_dir or root / "knowledge_base"), root)
    return [p for p, text in files.items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]


def write_generated(root: Path = PROJECT_ROOT, kb_dir: Path | None = None) -> list[Path]:
    """(Re)write the generated files; returns the paths that changed."""
    changed = []
    for path, text in generated_files(build_lexicon(kb_dir or root / "knowledge_base"), root).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generate the NLU lexicon from the knowledge base")
    parser.add_argument("--check", action="store_true", help="exit 1 if generated files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(PROJECT_ROOT)}")
        return 1 if stale else 0
    for path in write_generated():
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    for text, pairs in build_lexicon().ambiguous().items():
        print(f"note: {text!r} names {pairs}; synonym maps it to the first of {ENTITY_PRIORITY}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
