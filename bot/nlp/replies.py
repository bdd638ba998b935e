"""Short replies that steer a conversation: leaving a form, answering an offer,
asking a question in the middle of one.

These readers decide from the patient's words alone (no NLU model), so every
form and every offer behaves the same:

* :func:`is_exit`: the *whole* message is a way of saying "stop" ("算了",
  "算了 不用了", "never mind", "stop please"). "算了还是说中文吧 妇产科 下周一上午"
  carries new content and is **not** an exit: the form reads the rest.
* :func:`read_offer_reply`: yes/no to an offer the bot just made ("要",
  "好的", "no thanks", "不用了"), through the one yes/no reader
  (:func:`bot.text.yesno.read_yes_no`); a question is no answer.
* :func:`is_question` and :func:`hospital_topic`: "how much is parking",
  "要带什么" inside a form are questions to answer, not answers to store.
"""

from __future__ import annotations

import re

from bot.text.normalise import normalise, too_long
from bot.text.yesno import read_yes_no

# Ways of saying "stop this": the message must consist of these (and fillers) only.
_EXIT = re.compile(
    r"算了|退出|停止|结束|别弄了|没事了|先这样|不必了|不要(?:这个|这条|这些)|"
    r"先?不(?:用|要|需要|约|挂|预约|挂号|办|弄|问|看|申请|设|设置|提醒|填|做|继续|聊)了|"
    r"(?<![a-z])(?:stop(?: it| this| that| now)?|quit|exit|abort|never ?mind|nvm|forget (?:it|about it)|"
    r"i'?m done|leave it|don'?t bother|not now|let'?s stop)(?![a-z])")
_CANCEL = re.compile(r"取消|(?<![a-z])cancel(?: it| this| that)?(?![a-z])")
# words that may surround an exit without adding content ("那算了吧", "ok never mind thanks")
_FILLER = re.compile(
    r"那就|那|还是|就|我|吧|了|啊|呀|哦|噢|嗯|哈|呢|谢谢|谢了|好的|好|不对|"
    r"(?<![a-z])(?:please|pls|ok|okay|oh|actually|just|thanks|thank you|thx|then|"
    r"i|let'?s|um+|uh+|hmm+|well|no|sorry|you know what)(?![a-z])")
_NOISE = re.compile(r"[\W_]+")

# A question: punctuation, sentence-final particles, question words.
_QUESTION = re.compile(
    r"[?？]|吗|呢\s*$|什么|怎么|怎样|哪(?![个天位]?都)|几点|几时|多少|多久|是否|能不能|可不可以|有没有|"
    r"(?<![a-z])(?:what|how|where|when|which|why|who|is there|are there|can i|could i|"
    r"do i|do you|should i|may i)(?![a-z])")
# what a question inside a form may be about (hospital information)
_TOPICS = (
    ("parking", re.compile(r"停车|车位|parking|park(?:\s|$)")),
    ("fees", re.compile(r"费用|收费|多少钱|挂号费|价格|\bfees?\b|\bcost|how much|price")),
    ("insurance", re.compile(r"医保|社保|报销|insurance")),
    ("hours", re.compile(r"几点|开门|关门|上班|营业|门诊时间|时间段|\bhours\b|\bopen\b|\bclose")),
    ("bring", re.compile(r"带什么|要带|需要带|准备什么|\bbring\b")),
    ("address", re.compile(r"地址|在哪|怎么走|怎么去|位置|地铁|公交|\baddress\b|where is|"
                           r"get there|directions")),
    ("phone", re.compile(r"电话多少|电话是多少|联系电话|phone number|call you")),
)


def is_exit(text: str | None, *, cancel: bool = True) -> bool:
    """The whole message says "stop" ("算了", "算了 不用了", "never mind", "stop please").

    Args:
        cancel: whether "取消"/"cancel" count (not where "取消" may answer the
            question, such as "cancel this booking?").

    Returns:
        ``True`` only when nothing but exit phrases and fillers is left: a
        message that also carries content ("算了还是说中文吧 妇产科") is no exit.
    """
    s = normalise(text)
    if not s or too_long(s, 60):
        return False
    s, exits = _EXIT.subn(" ", s)
    if cancel:
        s, cancels = _CANCEL.subn(" ", s)
        exits += cancels
    if not exits:
        return False
    return not _NOISE.sub("", _FILLER.sub(" ", s))


def is_question(text: str | None) -> bool:
    """The message asks something ("停车方便吗", "how much is parking", "要带什么")."""
    return bool(_QUESTION.search(normalise(text)))


def hospital_topic(text: str | None) -> str | None:
    """What a hospital-information question is about (``parking``, ``fees``,
    ``insurance``, ``hours``, ``bring``, ``address``, ``phone``); ``None`` when
    the message is no such question."""
    s = normalise(text)
    if not s or too_long(s) or not is_question(s):
        return None
    return next((topic for topic, pattern in _TOPICS if pattern.search(s)), None)


def read_offer_reply(text: str | None) -> bool | None:
    """Yes (``True``) or no (``False``) to an offer the bot just made; ``None`` when unclear.

    "要", "好的", "可以", "yes please" are yes; "不用了", "no thanks", "算了" are
    no; a question ("要带什么", "can I come tomorrow?") or "not sure" is unclear.
    """
    s = normalise(text)
    if not s or too_long(s, 60):
        return None
    if is_exit(s):
        return False
    answer = read_yes_no(s)
    if answer is True and is_question(s):
        return None
    return answer


__all__ = ["hospital_topic", "is_exit", "is_question", "read_offer_reply"]
