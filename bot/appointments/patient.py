"""Patient name and mobile number: validation and normalisation (masking: ``bot.masking``)."""

from __future__ import annotations

import re

from bot.appointments.errors import InvalidNameError, InvalidPhoneError
from bot.nlp.replies import is_question
from bot.text.normalise import normalise

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
_NAME_OK = re.compile(r"^[\w\u00b7\u30fb·'’.\- ]+$")
# a mobile number inside a sentence ("我的手机是 138 1234 5678"), with its optional +86
_PHONE_IN_TEXT = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?![\d])")
NAME_MAX = 40
CJK_NAME_MAX = 10  # 2-4 characters usually; minority names with "·" run longer
# "我叫张三", "my name is Li Wei": the name is what follows
_NAME_PREFIX = re.compile(r"^(?:我叫|我的名字是|我的名字叫|名字是|名字叫|姓名是|姓名[:：]?|就诊人是|就诊人[:：]?|"
                          r"患者是|病人是|叫|(?:my |his |her |the patient'?s )?name is |name[:：]? ?|"
                          r"i'?m |i am |it'?s |this is |patient[:：]? ?)", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")
# answers that are no one's name: yes/no, greetings, "me"
_NOT_NAMES = frozenset("""
是 是的 是滴 对 对的 对啊 嗯 嗯嗯 好 好的 好滴 行 可以 没问题 确定 确认 不是 不 不对 没有 无 否 不知道
不清楚 不用 不要 你好 您好 谢谢 在吗 我 我自己 自己 本人 本人就是 就是我 患者 病人 孩子 宝宝 老人 姓名 名字
yes yeah yep yup no nope ok okay sure fine hello hi hey thanks thank you me myself mine
i patient none n/a na unknown test
""".split()) | {"thank you", "not sure", "no idea", "same", "the patient", "my name"}


def normalise_phone(raw: str) -> str:
    """A mainland-China mobile number as 11 digits.

    Accepts spaces, dashes, full-width digits and a ``+86``/``86`` prefix, and
    one number inside a sentence ("我的手机是13812345678").

    Raises:
        InvalidPhoneError: not a CN mobile number (``1[3-9]`` + 9 digits).
    """
    text = normalise(raw, keep_case=True)
    text = _PHONE_NOISE.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if CN_MOBILE.match(text):
        return text
    found = {re.sub(r"\D", "", m[1]) for m in
             _PHONE_IN_TEXT.finditer(normalise(raw, keep_case=True)[:200])}
    if len(found) == 1 and CN_MOBILE.match(next(iter(found))):
        return found.pop()
    raise InvalidPhoneError("not a mainland China mobile number")


def normalise_name(raw: str) -> str:
    """The patient's name, trimmed; letters (any script), spaces, ·, ' and - only.

    "我叫张三" and "my name is Li Wei" give the name after the prefix.

    Raises:
        InvalidNameError: empty, too long, containing digits/symbols, or no
            name at all: "是的", "hello", a question ("how much is parking"), a
            sentence.
    """
    text = normalise(raw, keep_case=True).strip("。.!！,，~")
    text = _NAME_PREFIX.sub("", text, count=1).strip() if len(text) <= NAME_MAX + 10 else text
    if not text or len(text) > NAME_MAX or any(ch.isdigit() for ch in text) or "_" in text:
        raise InvalidNameError("name must be 1-40 letters")
    if not _NAME_OK.match(text) or text.casefold() in _NOT_NAMES or is_question(text):
        raise InvalidNameError("not a name")
    cjk = len(_CJK.findall(text))
    if cjk and (cjk < 2 or cjk > CJK_NAME_MAX):  # "张" alone or a sentence is no full name
        raise InvalidNameError("not a name")
    if not cjk and len(text.split()) > 5:
        raise InvalidNameError("not a name")
    return text


# a patient's name said with a marker inside a longer request ("就诊人王秀英，挂心内科",
# "my name is Helen Wang"): only after an explicit marker, and up to a boundary
_NAME_IN_ZH = re.compile(r"(?:我叫|名字叫|名字是|姓名是|姓名[:：]|就诊人是|就诊人[:：]?|患者叫|患者是|病人叫|病人是)\s*"
                         r"([\u4e00-\u9fff·]{2,5}?)(?=[，,。.；;！!\s]|$|想|要|挂|约|预约|看)")
_NAME_IN_EN = re.compile(r"(?i:my name is|the patient is|patient'?s name is|patient name is|"
                         r"patient[:：])\s+([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2})")


def name_in_text(text: str) -> str | None:
    """The patient's name when a longer message states it with a marker
    ("我叫王秀英，想挂心内科", "my name is Helen Wang, I need cardiology"), else None.
    A name without a marker is not guessed: the form asks for it."""
    raw = normalise(text, keep_case=True)[:200]
    for pattern in (_NAME_IN_ZH, _NAME_IN_EN):
        m = pattern.search(raw)
        if m:
            try:
                return normalise_name(m[1])
            except InvalidNameError:
                return None
    return None


def phone_in_text(text: str) -> str | None:
    """The one mainland mobile number a message carries, else None."""
    try:
        return normalise_phone(text)
    except InvalidPhoneError:
        return None
