"""No personal data or secrets in logs: every log record is redacted where it is made.

Our own log lines mask ids already; this is the net under everything else:
Sanic's access and error logs print request URLs (WeChat puts ``openid=`` in the
query), HTTP client errors print URLs with ``access_token=``, and a library may
log a message text. ``install()`` replaces the process's log record factory, so
every record -- ours, Rasa's, Sanic's, SQLAlchemy's -- is redacted before any
handler sees it, including the text of an exception's traceback.

Redacted: URL query values of ``openid``, ``access_token``, ``token``, ``secret``,
``signature``, ``msg_signature``, ``nonce``, ``echostr``; ``Bearer`` tokens;
WeChat openids (28 characters starting with ``o``); mainland mobile numbers.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

_RULES = (
    (re.compile(r"(?i)([?&](?:openid|access_token|token|secret|appsecret|signature|"
                r"msg_signature|nonce|echostr)=)([^&\s'\"<>]+)"), r"\1[redacted]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])"), "[openid]"),
    (re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"), "[phone]"),
)
_installed = False


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def install() -> None:
    """Redact every log record of this process (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep the record as it is
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)
                                             ).rstrip("\n"))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
