"""Detect the language of a patient message, and explicit language requests."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Function words: pronouns, particles, auxiliaries and the verbs of a request.
_ZH_FUNCTION = re.compile(r"[我你他她您的了吗呢吧啊要想帮请把给让能会在]|可以|一下|怎么|什么")
_EN_FUNCTION = frozenset(
    "i me my mine you your he she his her we our they their it its is am are was were be been "
    "have has had do does did can could would will should please want need the a an to of for "
    "with since and but in on at this that what how when where why".split())

# "English please", "说英文", "can you speak Chinese", "请说中文", "切换到英语" ...
_WANTS_EN = re.compile(
    r"(英文|英语|english|\ben\b)", re.IGNORECASE
)
_WANTS_ZH = re.compile(
    r"(中文|汉语|普通话|国语|chinese|mandarin|\bzh\b)", re.IGNORECASE
)


def detect_language(text: str, default: str | None = None) -> str | None:
    """Return "zh" or "en" for a message, or ``default`` when nothing tells.

    Code-mixed text goes to the language with more words: "帮我book明天
    cardiology的号" is Chinese, "I have 头痛 since yesterday" English. Digits,
    emoji and punctuation alone say nothing.
    """
    han = len(_HAN.findall(text or ""))
    latin_words = _LATIN_WORD.findall(text or "")
    if han == 0 and not latin_words:
        return default
    if han == 0:
        return "en"
    if not latin_words:
        return "zh"
    # Mixed: the language that gives the sentence its grammar is the patient's
    # ("我要withdraw consent", "帮我cancel明天的appointment": English nouns in a
    # Chinese sentence; "I have 头痛 since yesterday": the reverse). Only when the
    # function words do not tell, compare word counts (a Chinese word is ~1.5
    # characters); a tie goes to Chinese, the hospital's first language.
    zh_frame = len(_ZH_FUNCTION.findall(text))
    en_frame = sum(1 for word in latin_words if word.lower() in _EN_FUNCTION)
    if zh_frame != en_frame:
        return "zh" if zh_frame > en_frame else "en"
    return "zh" if han / 1.5 >= len(latin_words) else "en"


_IDENTIFIER = re.compile(r"^(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,24}$|^[A-Z0-9]{6,24}$")
_SHORT_HAN_ANSWER = 4  # a Chinese name is 2-4 characters


def says_little(text: str, answering: bool = False, settled: bool = False) -> bool:
    """Too little to switch an ongoing conversation to another language.

    An id or code ("A7K3M9PQ", "BK-2024-17") never does. Once the conversation
    has a language (``settled``: the patient wrote before), one English word
    ("OK", "thanks", "BP 150/95") does not either, nor a short code-mixed reply
    ("ok 要", "no 不用", "没有 never diagnosed"); a first "hello" still
    chooses English. When the patient is
    answering a question the bot asked (``answering``: a form's pending
    question), a bare short answer does not either: a name ("王芳" in an English
    conversation, "Kevin" or "Tom Li" in a Chinese one) or one or two words
    ("any", "ok", "stop"). The conversation's language is kept; a real
    sentence in the other language still switches it.
    """
    s = (text or "").strip().strip(".,!?。，！？~")
    if _IDENTIFIER.match(s):
        return True
    han = len(_HAN.findall(s))
    latin_words = _LATIN_WORD.findall(s)
    if settled and han == 0 and len(latin_words) == 1:
        return True
    if settled and 0 < han <= _SHORT_HAN_ANSWER and 0 < len(latin_words) <= 2:
        return True  # a short code-mixed reply ("ok 要", "no 不用", "算了 cancel") says little
    if not answering:
        return False
    if han == 0:
        return len(latin_words) <= 2 and len(s) <= 24
    return not latin_words and han <= _SHORT_HAN_ANSWER and len(s) <= _SHORT_HAN_ANSWER + 2


def requested_language(text: str) -> str | None:
    """The language a patient explicitly asks for ("English please" -> "en")."""
    wants_en = bool(_WANTS_EN.search(text or ""))
    wants_zh = bool(_WANTS_ZH.search(text or ""))
    if wants_en == wants_zh:
        return None
    return "en" if wants_en else "zh"
