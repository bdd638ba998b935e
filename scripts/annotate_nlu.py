"""Annotate plain NLU examples with the knowledge base's entity terms.

Helper-written training files (voices, a blind set after its first run) come as
plain text. Left plain, they teach DIET that a department or a drug named in a
message is not an entity, and entity recall falls. This marks every
knowledge-base term in an example that has no annotation yet, the way the
hand-annotated files do (``[皮肤科](department)``; Rasa's synonym mapper turns
the text into the canonical id), longest match first, Han terms anywhere, Latin
terms on word boundaries. Texts that name entries of two types and one-character
Han terms are left alone.

    .venv/bin/python scripts/annotate_nlu.py nlu_data/nlu/voices_r2_zh.yml ...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.kb.lexicon import ENTITY_PRIORITY, JIEBA_FILE, build_lexicon  # noqa: E402
from bot.nlp.segment import MixedSegmenter  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

_LATIN = re.compile(r"[a-z]")


def _matcher():
    lexicon = build_lexicon()
    ambiguous = set(lexicon.ambiguous())
    by_text: dict[str, str] = {}
    for entity in ENTITY_PRIORITY:
        for term in lexicon.terms:
            key = term.text.strip().lower()
            if term.entity != entity or key in by_text or key in ambiguous:
                continue
            if not _LATIN.search(key) and len(key) < 2:
                continue
            by_text[key] = entity
    texts = sorted(by_text, key=lambda t: (-len(t), t))
    parts = [re.escape(t) if not _LATIN.search(t) else r"(?<![a-z0-9])" + re.escape(t) + r"(?![a-z0-9])"
             for t in texts]
    return re.compile("|".join(parts), re.IGNORECASE), by_text


def annotate(text: str, pattern: re.Pattern[str], by_text: dict[str, str],
             segmenter: MixedSegmenter | None = None) -> str:
    """``text`` with its terms marked; a term that does not start and end on a token
    boundary of the project's tokenizer is left plain (DIET could not learn it)."""
    if "](" in text:
        return text
    out, last = [], 0
    tokens = segmenter.segment(text) if segmenter else None
    starts = {t.start for t in tokens} if tokens else None
    ends = {t.end for t in tokens} if tokens else None
    for match in pattern.finditer(text):
        if starts is not None and (match.start() not in starts or match.end() not in ends):
            continue
        out.append(text[last:match.start()])
        out.append(f"[{match.group()}]({by_text[match.group().lower()]})")
        last = match.end()
    return "".join(out) + text[last:]


def main(paths: list[str]) -> None:
    pattern, by_text = _matcher()
    segmenter = MixedSegmenter.from_dictionary_file(PROJECT_ROOT / JIEBA_FILE)
    for name in paths:
        path = Path(name)
        lines, changed = [], 0
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.lstrip()
            if stripped.startswith("- ") and line.startswith("    "):
                indent = line[: len(line) - len(stripped)]
                new = indent + "- " + annotate(stripped[2:], pattern, by_text, segmenter)
                changed += new != line
                line = new
            lines.append(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path}: {changed} examples annotated")


if __name__ == "__main__":
    main(sys.argv[1:])
