"""Patient name and mobile number: validation, normalisation, log masking."""

from __future__ import annotations

import re
import unicodedata

from bot.appointments.errors import InvalidNameError, InvalidPhoneError

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
_NAME_OK = re.compile(r"^[\w\u00b7\u30fb·'’.\- ]+$")
_PHONE_ANYWHERE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
NAME_MAX = 40


def normalise_phone(raw: str) -> str:
    """A mainland-China mobile number as 11 digits.

    Accepts spaces, dashes, full-width digits and a ``+86``/``86`` prefix.

    Raises:
        InvalidPhoneError: not a CN mobile number (``1[3-9]`` + 9 digits).
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = _PHONE_NOISE.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not CN_MOBILE.match(text):
        raise InvalidPhoneError("not a mainland China mobile number")
    return text


def normalise_name(raw: str) -> str:
    """The patient's name, trimmed; letters (any script), spaces, ·, ' and - only.

    Raises:
        InvalidNameError: empty, too long, or containing digits/symbols.
    """
    text = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not text or len(text) > NAME_MAX or any(ch.isdigit() for ch in text) or "_" in text:
        raise InvalidNameError("name must be 1-40 letters")
    if not _NAME_OK.match(text):
        raise InvalidNameError("name must be 1-40 letters")
    return text


def mask_phone(phone: str | None) -> str:
    """``13812345678`` -> ``138****5678``; anything else is fully masked."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(digits)


def mask_name(name: str | None) -> str:
    """Keep each word's first character: ``张三丰`` -> ``张**``, ``John Smith`` -> ``J*** S****``."""
    if not name:
        return ""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def mask_text(text: str | None) -> str:
    """Mask every CN mobile number inside free text (for logging patient messages)."""
    if not text:
        return ""
    return _PHONE_ANYWHERE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
