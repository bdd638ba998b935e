"""Segment Chinese, English and code-mixed text into word tokens with offsets.

Patients type "帮我book明天cardiology的号". Rasa's JiebaTokenizer keeps the
spaces of such text as tokens (RasaHQ/rasa#7910) and only accepts
``language: zh``; a whitespace tokenizer cannot split Chinese at all. This
module splits the text into script runs first:

* Han runs go to a private ``jieba.Tokenizer`` that knows the knowledge-base
  words (symptoms, departments, drugs, conditions), so entity values are whole
  tokens;
* everything else (Latin words, digits such as ``150/95``, emoji) goes to
  spaCy's English tokenizer with the lookup lemmatizer (``spacy.blank("en")``
  plus ``spacy-lookups-data``; no downloaded model).

Whitespace never becomes a token, punctuation-only tokens are dropped (unless
the message has nothing else) and every token keeps its character offsets in
the original text, so ``text[start:end] == token.text`` always holds.

Plain Python: the Rasa component in ``components/mixed_tokenizer.py`` is a thin
adapter over :class:`MixedSegmenter`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.text.normalise import normalise

logger = logging.getLogger(__name__)

# CJK ideographs (basic, extension A, compatibility) and the ideographic zero.
HAN_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(f"([{HAN_CHARS}]+)|([^{HAN_CHARS}]+)")
_HAN_ONLY = re.compile(f"^[{HAN_CHARS}]+$")


@dataclass(frozen=True)
class Segment:
    """One token: its text, offsets in the original message and lemma."""

    text: str
    start: int
    end: int
    lemma: str


def is_punctuation(text: str) -> bool:
    """True when every character is punctuation (Unicode category P*).

    Symbols such as emoji (category S*) are not punctuation: "👍" and "🙏"
    carry meaning in chat.
    """
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


def read_user_dictionary(path: Path) -> list[str]:
    """Words of a jieba user dictionary file (first field of each line)."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0])
    return words


class MixedSegmenter:
    """Tokenizer for zh, en and code-mixed text.

    Build it once and reuse it: loading jieba's dictionary takes about a
    second, spaCy's tokenizer and lemma table a few hundred milliseconds.

    Args:
        user_words: extra words jieba must keep whole (knowledge-base terms);
            words containing non-Han characters are ignored because such runs
            never reach jieba.
        hmm: let jieba guess unknown words with its HMM.
    """

    def __init__(self, user_words: list[str] | tuple[str, ...] = (), hmm: bool = True) -> None:
        self._hmm = hmm
        self._jieba = _new_jieba(user_words)
        self._tokenizer, self._lemmas = _new_spacy_english()

    @classmethod
    def from_dictionary_file(cls, path: Path | None, hmm: bool = True) -> MixedSegmenter:
        """Build a segmenter from a jieba user dictionary file (or none)."""
        return cls(read_user_dictionary(path) if path else (), hmm=hmm)

    def segment(self, text: str) -> list[Segment]:
        """Tokens of ``text``; never whitespace, offsets into ``text``."""
        tokens: list[Segment] = []
        punctuation: list[Segment] = []
        for token in self._all_tokens(text):
            (punctuation if is_punctuation(token.text) else tokens).append(token)
        if not tokens:  # "？？" or "..." alone: keep what there is
            tokens = punctuation
        return tokens

    def _all_tokens(self, text: str) -> Iterator[Segment]:
        for match in _RUNS.finditer(text):
            han, other = match.groups()
            if han:
                yield from self._han_tokens(han, match.start())
            else:
                yield from self._other_tokens(other, match.start())

    def _han_tokens(self, run: str, offset: int) -> Iterator[Segment]:
        for word, start, end in self._jieba.tokenize(run, HMM=self._hmm):
            if word.strip():
                yield Segment(word, offset + start, offset + end, word)

    def _other_tokens(self, run: str, offset: int) -> Iterator[Segment]:
        if not run.strip():
            return
        for tok in self._tokenizer(run):
            if tok.is_space or not tok.text.strip():
                continue
            lemma = normalise(self._lemma(tok.text))  # "ＯＫ" -> "ok"
            start = offset + tok.idx
            yield Segment(tok.text, start, start + len(tok.text), lemma)

    def _lemma(self, word: str) -> str:
        # The lookup table is case-sensitive: "HURTS" is found as "hurts".
        return self._lemmas.get(word) or self._lemmas.get(word.lower()) or word


def _new_jieba(user_words: list[str] | tuple[str, ...]) -> Any:
    """A private jieba tokenizer (never the global one) with extra words."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading to stderr
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    added = 0
    for word in user_words:
        if _HAN_ONLY.match(word):
            # No frequency: jieba suggests the lowest one that keeps the word whole.
            tokenizer.add_word(word)
            added += 1
    logger.debug("segment.jieba.ready user_words=%d", added)
    return tokenizer


def _new_spacy_english() -> tuple[Any, Any]:
    """spaCy's English tokenizer and the lookup lemmatizer's table.

    ``spacy.blank("en")`` plus the ``lookup`` lemmatizer, whose table comes from
    spacy-lookups-data (no downloaded model). The table is used directly so that
    lemmas are found whatever the case.
    """
    import spacy

    nlp = spacy.blank("en")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lemma table from spacy-lookups-data
    return nlp.tokenizer, lemmatizer.lookups.get_table("lemma_lookup")
