"""How a patient's identifiers appear where they must not be read in full.

One function per thing, each with one format:

* :func:`mask_id` -- a conversation id (or a bare channel user id) in a log line:
  ``wechat:oV…Id``;
* :func:`mask_openid` -- a WeChat openid in the WeChat channel's log lines and its
  operator commands: ``oAbC***Op``;
* :func:`mask_patient` -- a patient as staff see them in a list (console, CLI):
  ``wechat:oAbC***``;
* :func:`mask_phone`, :func:`mask_name`, :func:`mask_text` -- a mobile number, a
  name, and the mobile numbers inside free text: ``138****5678``, ``张**``.

``bot.logs`` is the net under all of them: it redacts whatever reaches a log record.
"""

from __future__ import annotations

import re

from bot.identity import CHANNEL_NAME, SEPARATOR

_PHONE_ANYWHERE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(value: str | None) -> str:
    """A short, non-identifying form of an id for logs: ``rest:ab…yz``."""
    if not value:
        return "-"
    channel, sep, rest = value.partition(SEPARATOR)
    if sep and CHANNEL_NAME.fullmatch(channel):
        return f"{channel}:{_ends(rest)}"
    return _ends(value)


def _ends(value: str) -> str:
    return value[:2] + "…" + value[-2:] if len(value) > 6 else "…"


def mask_openid(openid: str | None) -> str:
    """An openid for logs: first 4 and last 2 characters."""
    if not openid:
        return "-"
    return openid[:4] + "***" + openid[-2:] if len(openid) > 8 else "***"


def mask_patient(channel: str, external_id: str) -> str:
    """A patient in a staff list: the channel and the first 4 characters of the id."""
    masked = external_id[:4] + "***" if len(external_id) > 4 else "***"
    return f"{channel}:{masked}"


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
