"""The one reader of yes / no / not sure, in zh and en.

Every question the bot asks with a yes or a no for an answer (an offer, a
confirmation, "any new or worse symptoms?", a red-flag question of the triage
interview) is read here, from the same words:

* *not sure* ("不知道", "不确定", "说不好", "不记得", "not sure", "don't know",
  "maybe") outranks everything: "不知道有没有" is no yes;
* *no*: "没有", "没", "不是", "不要", "不用", "不行", a reply that opens with
  不, 否, 无 or 都不/都没 ("不", "无", "都没有"); "no", "nope", "none",
  "nothing", "not", "never", "neither";
* *yes*, a fact is so: "有", "是", "对", "嗯", "会", "没错" (it holds 没);
  "yes", "yeah", "correct", "i think so", "it does";
* *yes*, an offer or an action is accepted: "好", "行", "可以", "要", "确认",
  "没问题"; "sure", "ok", "go ahead".

A reply is read in one of two ways, and each caller says which:

* as a **sentence** (:func:`read_reply`; re-visit answers, offers,
  confirmations): a no anywhere outranks a yes ("没有" holds 有, "not worse"
  holds worse), "算了" (never mind) declines, and the words of change answer
  "new or worse?" ("还是老样子", "跟以前一样", "正常", "same as before" are no;
  "加重", "worse" are yes);
* by its **first word** (``leading=True``; the triage interview, whose
  questions are about facts): the first yes or no word decides, a Chinese one
  counts only where the reply opens, and only the words of a fact say yes
  ("胸口有点痛", "好的", "要带什么" are no answer to "do you have chest pain?"
  and are asked again; "yes, no vomiting" is yes).

A bare confirmation ("确认", "ok", "好的") agrees to an action but says nothing
about a symptom: :func:`read_symptom_reply` reads it as unclear in a sentence.
"""

from __future__ import annotations

import re
from enum import Enum

from bot.text.normalise import normalise, too_long


class Reply(Enum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


def _en(words: str) -> str:
    """English words, matched whole also inside mixed zh/en text ("好的ok")."""
    return rf"(?<![a-z])(?:{words})(?![a-z])"


_UNSURE = re.compile(r"不确定|不知道|不清楚|说不准|说不好|不好说|不记得|没量|"
                     + _en(r"not sure|unsure|don'?t know|no idea|no clue|idk|maybe|dunno|haven'?t decided|can'?t decide"))
_ZH_NO = r"没有|没|不是|不要|不用|不需要|不可以|不行|不对|不必"
_ZH_NO_OPENING = r"都?(?:不|否|无)"  # "不", "无", "都不是": only where the reply opens
_EN_NO = r"no|nope|nah|none|nothing|not|negative|never|neither|not really"
# words that say a fact is so ("do you have ...?", "are you ...?")
_ZH_YES = r"没错|好像(?:是|有)|有|是|对|嗯|会"
_EN_YES = r"yes|yeah|yep|yup|y|correct|i think so|it is|it does"
# words that accept an offer or an action ("要", "ok"), but say no fact is so
_ZH_ACCEPT = r"没问题|好|行|确定|确认|可以|需要|要|提交"
_EN_ACCEPT = r"sure|ok|okay|confirm|go ahead|book it"
# "算了" (never mind) declines an offer or an action, but answers no question about
# a fact: "算了，先说别的" to a red-flag question is asked again
_DECLINE = r"算了"
# the words of change, for "any new or worse symptoms?" (还是老样子: 还是 holds 是)
_UNCHANGED = (r"还好|一样|稳定|老样子|照旧|差不多|正常|"
              + _en(r"unchanged|same as (?:before|usual|always|last time)|about the same|no change"))
_WORSE = r"加重|变重|更严重|" + _en("worse")

_YES_DESPITE_NO = re.compile(r"没问题|没错")  # they hold 没
_SENTENCE_NO = re.compile(rf"{_ZH_NO}|^{_ZH_NO_OPENING}|{_DECLINE}|{_UNCHANGED}|{_en(_EN_NO)}")
_SENTENCE_YES = re.compile(rf"{_ZH_YES}|{_ZH_ACCEPT}|{_WORSE}|{_en(_EN_YES)}|{_en(_EN_ACCEPT)}")
# "没问题" opens with 没 but is no "no": it answers no question about a fact either
_FIRST_WORD = re.compile(rf"^(?P<accept>没问题)|^(?P<zh_yes>{_ZH_YES})|"
                         rf"^(?P<zh_no>都?(?:{_ZH_NO})|{_ZH_NO_OPENING})|"
                         rf"(?P<en_no>{_en(_EN_NO)})|(?P<en_yes>{_en(_EN_YES)})")

# confirming an action needs a clear yes: "有停车位吗" must not book anything
_CONFIRM = re.compile(r"确认|确定|是的|^是|^对|^好|^行|^可以|没问题|提交|^嗯|"
                      + _en(r"yes|yeah|yep|sure|ok|okay|confirm|go ahead|book it|do it"))
_QUESTION = re.compile(r"[?？吗]|" + _en(r"what|how|why|where|when|can|is|are|do"))
# words that confirm an action but do not say whether a symptom is there
_ONLY_CONFIRM = re.compile(r"^(确认|确定|提交|好的?|行|可以|ok|okay|confirm(ed)?|submit|sure)[\s!！。.~]*$")


def is_unsure(text: str | None) -> bool:
    """The patient does not know ("不知道", "说不好", "not sure"): an answer to any
    question, yes/no or not."""
    return not too_long(text) and bool(_UNSURE.search(normalise(text)))


def read_reply(text: str | None, *, leading: bool = False) -> Reply | None:
    """Yes, no or not sure; ``None`` when the reply says none of them (or is too
    long to be a reply). ``leading``: read by the first word, not as a sentence."""
    if too_long(text):
        return None
    s = normalise(text)
    if _UNSURE.search(s):
        return Reply.UNSURE
    if leading:
        first = _FIRST_WORD.search(s)
        if first is None or first["accept"]:
            return None
        return Reply.NO if first["zh_no"] or first["en_no"] else Reply.YES
    if _YES_DESPITE_NO.search(s):
        return Reply.YES
    if _SENTENCE_NO.search(s):
        return Reply.NO
    if _SENTENCE_YES.search(s):
        return Reply.YES
    return None


def read_yes_no(text: str | None) -> bool | None:
    """A sentence reply as ``True`` (yes), ``False`` (no) or ``None`` (unclear or not sure)."""
    return _as_bool(read_reply(text))


def read_confirmation(text: str | None) -> bool | None:
    """Like :func:`read_yes_no` but strict: only a clear yes confirms an action;
    a question ("有停车位吗？") or a doubt ("not sure": it holds "sure") is unclear."""
    if too_long(text):
        return None
    s = normalise(text)
    reply = read_reply(s)
    if reply is Reply.NO:
        return False
    if reply is Reply.UNSURE or _QUESTION.search(s) or not _CONFIRM.search(s):
        return None
    return True


def read_symptom_reply(text: str | None) -> Reply | None:
    """:func:`read_reply` for "do you have ...?" questions read as a sentence: a
    bare confirmation ("确认", "ok") answers no such question (``None``: asked
    again). Read by the first word, such words never say yes."""
    if too_long(text) or _ONLY_CONFIRM.match(normalise(text)):
        return None
    return read_reply(text)


def _as_bool(reply: Reply | None) -> bool | None:
    return {Reply.YES: True, Reply.NO: False}.get(reply) if reply else None


__all__ = ["Reply", "is_unsure", "read_confirmation", "read_reply", "read_symptom_reply", "read_yes_no"]
