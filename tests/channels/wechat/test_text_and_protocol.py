"""Plain-Python parts: splitting, merging, parsing, signatures (no HTTP)."""

from __future__ import annotations

import pytest

from bot.masking import mask_openid as mask
from bot.wechat.protocol import Envelope, ProtocolError, dedupe_key, parse_xml, sign
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
    click = {"FromUserName": "oSecretOpenid1", "CreateTime": "1", "Event": "CLICK",
             "EventKey": "MENU_BOOK"}
    key = dedupe_key(click)
    assert key.startswith("evt:") and key == dedupe_key({**click, "Event": "click"})
    assert key != dedupe_key({**click, "EventKey": "MENU_HUMAN"})
    assert key != dedupe_key({**click, "CreateTime": "2"})
    assert "oSecretOpenid1" not in key  # the key is logged
    view = {**click, "Event": "VIEW", "EventKey": "https://example.org/" + "a" * 2000}
    assert len(dedupe_key(view)) <= 200  # wechat_inbound.dedupe_key is VARCHAR(200)


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


@pytest.mark.parametrize("signature", ["签名" * 20, "é" * 40, "\x00" * 40, "", None])
def test_a_non_ascii_or_missing_signature_is_a_403(signature) -> None:
    from bot.wechat.protocol import check_signature

    with pytest.raises(ProtocolError) as err:
        check_signature(("tok123", "1", "n"), signature)
    assert err.value.status == 403


def test_the_signature_is_compared_case_insensitively() -> None:
    from bot.wechat.protocol import check_signature

    check_signature(("tok123", "1", "n"), sign("tok123", "1", "n").upper())


@pytest.mark.parametrize("ciphertext", [
    "", "AAAA", "not base64 at all!", "A" * 22 + "==",  # empty, short, junk, 16 bytes
])
def test_undecryptable_ciphertexts_are_a_400(ciphertext: str) -> None:
    env = Envelope("tok123", AES_KEY, "wxapp")
    with pytest.raises(ProtocolError) as err:
        env.open(ciphertext, sign("tok123", "1", "n", ciphertext), "1", "n")
    assert err.value.status == 400


def test_a_frame_for_another_app_is_a_403_and_a_broken_frame_a_400() -> None:
    import base64
    import struct

    from wechatpy.crypto import WeChatCipher
    from wechatpy.crypto.pkcs7 import PKCS7Encoder

    def sealed(frame: bytes) -> str:
        key = base64.b64decode(AES_KEY + "=")
        return base64.b64encode(WeChatCipher(key).encrypt(frame)).decode()

    env = Envelope("tok123", AES_KEY, "wxapp")
    xml = b"<xml><A>1</A></xml>"
    good = PKCS7Encoder.encode(b"r" * 16 + struct.pack(">I", len(xml)) + xml + b"wxapp")
    other = PKCS7Encoder.encode(b"r" * 16 + struct.pack(">I", len(xml)) + xml + b"wxother")
    cases = {good: 200, other: 403, bytes([32]) * 32: 400, b"\x00" * 47 + b"\x07": 400,
             PKCS7Encoder.encode(b"r" * 16 + b"\x00\x00"): 400,
             PKCS7Encoder.encode(b"r" * 16 + struct.pack(">I", 999) + xml + b"wxapp"): 400,
             PKCS7Encoder.encode(b"r" * 16 + struct.pack(">I", 2) + b"\xff\xfe" + b"wxapp"): 400}
    for frame, status in cases.items():
        encrypted = sealed(frame)
        try:
            opened = env.open(encrypted, sign("tok123", "1", "n", encrypted), "1", "n")
            got = 200 if opened == xml.decode() else 500
        except ProtocolError as exc:
            got = exc.status
        assert got == status, frame
