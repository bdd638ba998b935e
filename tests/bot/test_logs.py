"""Log records are redacted where they are made: openids, phone numbers, tokens."""

from __future__ import annotations

import logging

import pytest

from bot.logs import install, redact

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz1"  # 28 characters, as WeChat's


@pytest.mark.parametrize("raw, secret", [
    (f"POST /webhooks/wechat/webhook?signature=abc&openid={OPENID}&nonce=123", OPENID),
    ("https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=ACCESS-123", "ACCESS-123"),
    ("patient wrote 我的电话是13812345678", "13812345678"),
    ("call me on +86 138 1234 5678 please", "138 1234 5678"),
    ("Authorization: Bearer s3cret-token-for-tests-0123456789", "s3cret-token"),
    (f"user {OPENID} said hi", OPENID),
])
def test_redact(raw: str, secret: str) -> None:
    assert secret not in redact(raw)


def test_ordinary_numbers_and_ids_stay() -> None:
    for text in ("took 1733500000000 ms", "record 12345", "ruleset 2026.11.1", "seq=13"):
        assert redact(text) == text


def test_every_record_is_redacted_including_tracebacks(caplog) -> None:
    install()
    logger = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        logger.info("GET %s", f"/x?openid={OPENID}")
        try:
            raise ValueError(f"bad url https://a/b?access_token=TOKEN-999 for {OPENID}")
        except ValueError:
            logger.exception("failed for 13912345678")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert OPENID not in text and "TOKEN-999" not in text and "13912345678" not in text
    assert "openid=[redacted]" in text
