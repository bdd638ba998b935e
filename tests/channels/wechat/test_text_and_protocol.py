"""Plain-Python parts: splitting, merging, parsing, signatures (no HTTP)."""

from __future__ import annotations

import pytest

from bot.wechat.protocol import Envelope, ProtocolError, dedupe_key, mask, parse_xml, sign
from bot.wechat.text import merge_messages, split_text
from tests.channels.wechat.conftest import AES_KEY


def test_short_text_is_not_split() -> None:
    assert split_text("你好。", 2048) == ["你好。"]


def test_split_at_sentence_and_line_boundaries_with_numbering() -> None:
    text = "\n".join(f"第{i}行：请按时服药。" for i in range(400))
    parts = split_text(text, 2048)
    assert len(parts) > 2
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert [p.split(" ", 1)[0] for p in parts] == [f"({i}/{len(parts)})"
                                                   for i in range(1, len(parts) + 1)]
    for part in parts:
        assert part.rstrip().endswith(("。", "服药。")), part[-20:]
    assert "".join(p.split(" ", 1)[1] for p in parts).replace("\n", "") == text.replace("\n", "")


def test_max_parts_cuts_with_a_note() -> None:
    text = "A sentence that is rather long. " * 400
    parts = split_text(text, 2048, max_parts=2, overflow_note="(see the menu)")
    assert len(parts) == 2 and parts[1].endswith("(see the menu)")
    assert all(len(p.encode()) <= 2048 for p in parts)


def test_a_single_huge_sentence_is_hard_cut_within_the_limit() -> None:
    parts = split_text("字" * 3000, 2048)
    assert all(len(p.encode()) <= 2048 for p in parts)


def test_merge_bot_messages() -> None:
    merged = merge_messages([{"text": "请选择："}, {"text": "科室", "buttons": [
        {"title": "内科", "payload": "/a"}, {"title": "外科", "payload": "/b"}]}])
    assert merged == "请选择：\n\n科室\n1. 内科\n2. 外科"


def test_dedupe_keys() -> None:
    assert dedupe_key({"MsgId": "7", "FromUserName": "o"}) == "msg:7"
    assert dedupe_key({"FromUserName": "o", "CreateTime": "1", "Event": "CLICK"}) == "evt:o:1:click"


def test_envelope_roundtrip_and_forgery() -> None:
    env = Envelope("tok123", AES_KEY, "wxapp")
    sealed = parse_xml(env.seal("<xml><A>1</A></xml>", nonce="n", timestamp="1"))
    assert env.open(sealed["Encrypt"], sealed["MsgSignature"], "1", "n") == "<xml><A>1</A></xml>"
    with pytest.raises(ProtocolError) as err:
        env.open(sealed["Encrypt"], sign("other", "1", "n", sealed["Encrypt"]), "1", "n")
    assert err.value.status == 403


def test_openids_are_masked() -> None:
    assert mask("oAbCdEfGhIjKlMnOp") == "oAbC***Op"
    assert "EfGhIj" not in mask("oAbCdEfGhIjKlMnOp")
