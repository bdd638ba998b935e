"""Reading a message typed in toneless pinyin ("wo ba tu xue le, hao duo, hei se de").

People who cannot or do not want to switch input methods type Chinese as toneless
pinyin. The screen's phrases and the learned layer know Chinese characters, so
such a message is turned back into characters before it is scanned: the
syllables are segmented, and the best sequence of words is chosen by dynamic
programming over a table of words keyed by their pinyin. The table holds every
Chinese phrase of the triage knowledge base (preferred: "xue tang" is 血糖, not
学堂) and the most frequent words and characters of jieba's dictionary (shipped
inside the pinned jieba wheel), turned into pinyin by pypinyin (its dictionary
ships inside its pinned wheel). It is built with the understanding model
(``medbot train``), never at run time, and nothing is downloaded.

A message is read as pinyin only when nearly all of its Latin words are pinyin
syllables and it has (almost) no Chinese characters, so English ("he has a fever")
and code-mixed messages are left alone.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MAX_WORD_SYLLABLES = 6
COMMON_WORDS = 40_000  # jieba's most frequent words in the table
# Words are scored by log frequency (a unigram model, as jieba segments): fewer, more
# frequent words win. A knowledge-base phrase counts as a very frequent word, so it
# beats any common word of the same syllables ("xue tang": 血糖, not 学堂).
_KB_FREQ = 2_000_000
_CORPUS_FREQ = 20_000  # per time a word occurs in the training corpus
_UNKNOWN = -40.0  # a syllable with no word at all
# who and how people say it, which jieba's dictionary splits ("wo ba": 我爸, not 我把)
_PEOPLE = ("我爸", "我妈", "我老公", "我老婆", "我儿子", "我女儿", "我孩子", "我家孩子", "我奶奶", "我爷爷",
           "我外婆", "我姥姥", "我姥爷", "老人", "宝宝", "孩子", "小孩", "娃", "老公", "老婆", "突然",
           "好多", "一直", "喘不上气", "没力气", "站不稳", "叫不醒")
_LATIN_RUN = re.compile(r"[a-zü]+(?:['’ ]+[a-zü]+)*")
_WORD = re.compile(r"[a-zü]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
# English words that are also pinyin syllables and common in English messages: a message
# made of these is English ("he is a man")
_ENGLISH = frozenset({"a", "an", "he", "me", "die", "long", "bin", "pen", "ban", "fan", "men", "sun",
                      "tie", "hang", "hen", "can", "ten", "den", "ran", "gun", "bang", "man", "pan",
                      "wan", "fang", "lie", "pie", "dang", "wen", "mao", "you", "tan", "lou", "chin"})


@dataclass
class PinyinReader:
    """Toneless pinyin to Chinese characters, for the screen.

    Attributes:
        words: pinyin key ("xue tang") -> (characters, score); longer and
            knowledge-base words score higher.
        syllables: every valid toneless syllable.
    """

    words: dict[str, tuple[str, float]] = field(default_factory=dict)
    syllables: frozenset[str] = frozenset()

    @classmethod
    def build(cls, kb_phrases: Iterable[str], common: Iterable[tuple[str, int]] = ()
              ) -> PinyinReader:
        """The table from knowledge-base phrases and (word, frequency) pairs."""
        from pypinyin import Style, lazy_pinyin, pinyin

        words: dict[str, tuple[str, float]] = {}
        freq_of: dict[str, int] = {}
        for word, freq in common:
            freq_of[word] = freq_of.get(word, 0) + freq
        total = math.log(sum(freq_of.values()) + _KB_FREQ)

        def add(word: str, score: float, readings: bool = False) -> None:
            if not word or not all(_HAN.match(ch) for ch in word) or len(word) > MAX_WORD_SYLLABLES:
                return
            keys = [" ".join(lazy_pinyin(word, style=Style.NORMAL, v_to_u=False))]
            if readings:  # every reading of a character ("吐血" is tu xie and tu xue)
                per_char = [pinyin(ch, style=Style.NORMAL, heteronym=True, v_to_u=False)[0]
                            for ch in word]
                keys += [" ".join(combo) for combo in
                         itertools.islice(itertools.product(*per_char), 16)]
            for key in dict.fromkeys(keys):
                if not all(part.isalpha() for part in key.split()):
                    continue
                if key not in words or words[key][1] < score:
                    words[key] = (word, score)

        for word, freq in freq_of.items():
            add(word, math.log(freq + 1) - total)
        # a phrase the patients of the corpus use beats a typo spelling of it ("吐学")
        for phrase in (*kb_phrases, *_PEOPLE):
            add(phrase, math.log(_KB_FREQ + freq_of.get(phrase, 0)) - total, readings=True)
        syllables = frozenset(s for key in words for s in key.split())
        return cls(words, syllables)

    @classmethod
    def from_knowledge(cls, knowledge, corpus: Iterable[str] = (),
                       common_words: int = COMMON_WORDS) -> PinyinReader:
        """From the triage knowledge base, the words of the training corpus (how
        patients say it: 吐血, 血糖, 没劲) and jieba's dictionary."""
        import jieba

        phrases = [p for s in knowledge.symptoms.values() for p in s.phrases()]
        phrases += [w for words in knowledge.features.values() for w in words]
        counts: dict[str, int] = {}
        for text in corpus:
            if _HAN.search(text):
                for word in jieba.lcut(text):
                    counts[word] = counts.get(word, 0) + 1
        domain = [(word, n * _CORPUS_FREQ) for word, n in counts.items()]
        return cls.build(phrases, [*_jieba_words(common_words), *domain])

    def read(self, text: str) -> str | None:
        """``text`` in characters when it is toneless pinyin, else ``None``."""
        if not self.words or not self.is_pinyin(text):
            return None
        lowered = text.lower()
        return _LATIN_RUN.sub(lambda m: self._decode(m.group()), lowered)

    def is_pinyin(self, text: str) -> bool:
        lowered = (text or "").lower()
        if len(_HAN.findall(lowered)) > 2:
            return False
        tokens = _WORD.findall(lowered)
        if len(tokens) < 3:
            return False
        parsed = [t for t in tokens if self.split(t) is not None]
        english = sum(t in _ENGLISH for t in tokens)
        return len(parsed) >= 0.85 * len(tokens) and english < 0.5 * len(tokens)

    def split(self, token: str) -> list[str] | None:
        """A run of letters as syllables ("tangniaobing" -> tang niao bing); ``None``
        when it is no pinyin. Longest syllable first, backing off when the rest fails."""
        memo: dict[int, list[str] | None] = {len(token): []}

        def rest(i: int) -> list[str] | None:
            if i in memo:
                return memo[i]
            out = None
            for j in range(min(len(token), i + 6), i, -1):
                if token[i:j] in self.syllables:
                    tail = rest(j)
                    if tail is not None:
                        out = [token[i:j], *tail]
                        break
            memo[i] = out
            return out

        return rest(0)

    def _decode(self, run: str) -> str:
        syllables: list[str] = []
        for token in _WORD.findall(run):
            parts = self.split(token)
            if parts is None:  # not pinyin: leave the run as typed
                return run
            syllables.extend(parts)
        n = len(syllables)
        best: list[tuple[float, str]] = [(0.0, "")] + [(-math.inf, "")] * n
        for i in range(n):
            score, text = best[i]
            if score == -math.inf:
                continue
            for length in range(1, min(MAX_WORD_SYLLABLES, n - i) + 1):
                key = " ".join(syllables[i:i + length])
                entry = self.words.get(key)
                if entry is None:
                    if length == 1:  # a syllable with no word: kept as typed
                        entry = (syllables[i] + " ", _UNKNOWN)
                    else:
                        continue
                candidate = score + entry[1]
                if candidate > best[i + length][0]:
                    best[i + length] = (candidate, text + entry[0])
        return best[n][1].strip()


def _jieba_words(limit: int) -> list[tuple[str, int]]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                rows.append((parts[0], int(parts[1])))
    rows.sort(key=lambda row: -row[1])
    words = rows[:limit]
    # every character, so that each syllable has at least its most frequent one
    words += [row for row in rows[limit:] if len(row[0]) == 1]
    return words
