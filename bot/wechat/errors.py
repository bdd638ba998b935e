"""What a WeChat API error code means for sending: retry now, retry later, or never.

The sender retries within one send (after refreshing the token for a token error,
after a back-off for a busy system); the scheduler retries a failed job on a later
run unless the error can never succeed.
"""

from __future__ import annotations

# the access token was rejected: refresh it and send again
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# the platform is busy or rate-limited: back off and send again
TRANSIENT_ERRORS = frozenset({-1, 45009, 45011})
# trying again cannot help: the patient unfollowed (43004), the openid is not
# theirs (40003), the 48-hour customer-service window closed (45015)
PERMANENT_ERRORS = frozenset({43004, 40003, 45015})
# no customer-service message now: outside the window (45015) or its quota used up
# (45047); the message goes as a subscription/template message instead
QUOTA_ERRORS = frozenset({45015, 45047})


def is_token_error(errcode: int | None) -> bool:
    return errcode in TOKEN_ERRORS


def takes_fallback(errcode: int | None) -> bool:
    return errcode in QUOTA_ERRORS


def retry_now(errcode: int | None) -> bool:
    """Whether the same send may be attempted again at once (no code: not an API error)."""
    return errcode is None or errcode in TOKEN_ERRORS or errcode in TRANSIENT_ERRORS


def retry_later(errcode: int | None) -> bool:
    """Whether a later run may succeed where this send failed."""
    return errcode not in PERMANENT_ERRORS
