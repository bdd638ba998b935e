"""The WeChat callback protocol: signatures, safe XML, AES envelopes, replies.

wechatpy's own helpers parse XML with xmltodict and compare signatures with
``!=``; here XML goes through defusedxml (no DTDs, no entities) and signatures
through ``hmac.compare_digest``. The AES work itself is ``wechatpy.crypto``; the
decrypted frame (16 random bytes, 4-byte length, XML, app id, PKCS#7 padding) is
checked here, so a garbled payload is a 400 and never an unhandled error.

Only plaintext mode accepts a plaintext body: in compatible and safe mode the query
``signature`` covers (token, timestamp, nonce) but not the body, so a body without
``encrypt_type=aes`` and a valid ``msg_signature`` is refused. Replays of a whole
push are refused by ``bot.wechat.replay`` (the connector asks it last).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
import time
from collections.abc import Mapping
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto, WeChatCipher
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage
from wechatpy.utils import random_string
from xml.etree.ElementTree import ParseError

from bot.errors import MedbotError


class ProtocolError(MedbotError):
    """A callback is malformed, forged or replayed; ``status`` is the HTTP answer."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


def sign(*parts: str) -> str:
    """WeChat's SHA1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected_parts: tuple[str, ...], signature: str | None) -> None:
    """403 unless ``signature`` is WeChat's SHA1 of the parts (any case; non-ASCII is forged)."""
    if not signature or not signature.isascii():
        raise ProtocolError("bad signature", 403)
    if not hmac.compare_digest(sign(*expected_parts).encode("ascii"),
                               signature.lower().encode("ascii")):
        raise ProtocolError("bad signature", 403)


def check_timestamp(timestamp: str | None, window: int, now: float | None = None) -> None:
    try:
        ts = int(timestamp or "")
    except ValueError as exc:
        raise ProtocolError("bad timestamp", 400) from exc
    if abs((time.time() if now is None else now) - ts) > window:
        raise ProtocolError("timestamp outside the replay window", 403)


def parse_xml(body: bytes | str) -> dict[str, str]:
    """``<xml>`` children to a dict (a child holding a list to JSON); DTDs, entities and
    external refs are refused."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise ProtocolError(f"unsafe or malformed XML: {type(exc).__name__}", 400) from exc
    if root.tag != "xml":
        raise ProtocolError("root element is not <xml>", 400)
    # a nested list (the answers of a subscribe_msg event) as JSON: [{tag: text}, ...]
    return {child.tag: (child.text or "") if len(child) == 0 else json.dumps(
        [{leaf.tag: (leaf.text or "") for leaf in item} for item in child],
        ensure_ascii=False) for child in root}


def to_message(fields: Mapping[str, str]) -> BaseMessage:
    """A wechatpy message/event object (``UnknownMessage`` for anything unknown)."""
    message = dict(fields)
    msg_type = (message.get("MsgType") or "").lower()
    if not msg_type or not message.get("FromUserName"):
        raise ProtocolError("message without MsgType or FromUserName", 400)
    if msg_type != "event":
        return MESSAGE_TYPES.get(msg_type, UnknownMessage)(message)
    event = (message.get("Event") or "").lower()
    key = message.get("EventKey") or ""
    if event == "subscribe" and key.startswith("qrscene_"):
        event, message["Event"], message["EventKey"] = "subscribe_scan", "subscribe_scan", key[8:]
    return EVENT_TYPES.get(event, UnknownMessage)(message)


def dedupe_key(fields: Mapping[str, str]) -> str:
    """``msg:<MsgId>``; events (which have none) ``evt:`` + a digest of FromUserName,
    CreateTime, Event and EventKey: two menu clicks in one second are two events, the
    key stays short (a VIEW event's EventKey is a URL) and holds no openid (it is logged)."""
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    parts = (fields.get("FromUserName") or "", fields.get("CreateTime") or "",
             (fields.get("Event") or "").lower(), fields.get("EventKey") or "")
    return "evt:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class Envelope:
    """AES envelope of compatible/safe mode (AES-CBC from ``wechatpy.crypto``)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.app_id = app_id
        self.key = base64.b64decode(encoding_aes_key + "=")

    def open(self, encrypted: str, msg_signature: str | None, timestamp: str, nonce: str) -> str:
        """The XML inside ``encrypted``.

        Raises:
            ProtocolError: 403 bad ``msg_signature`` or another app id; 400 a ciphertext
                or decrypted frame that is not WeChat's (wrong length, padding, UTF-8).
        """
        check_signature((self.token, timestamp, nonce, encrypted), msg_signature)
        try:
            raw = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("undecryptable message: not base64", 400) from exc
        if not raw or len(raw) % 16:
            raise ProtocolError("undecryptable message: not whole AES blocks", 400)
        xml, app_id = _unframe(WeChatCipher(self.key).decrypt(raw))
        if not hmac.compare_digest(app_id, self.app_id.encode("utf-8")):
            raise ProtocolError("message for another app id", 403)
        return xml

    def seal(self, xml: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        nonce = nonce or random_string(16)
        timestamp = timestamp or str(int(time.time()))
        encrypted = PrpCrypto(self.key).encrypt(xml, self.app_id).decode("ascii")
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def _unframe(plain: bytes) -> tuple[str, bytes]:
    """(xml, app id) of a decrypted frame: random(16) | len(4, big-endian) | xml | app id | pad."""
    padding = plain[-1]
    if not 1 <= padding <= 32 or plain[-padding:] != bytes([padding]) * padding:
        raise ProtocolError("undecryptable message: bad padding", 400)
    content = plain[16:-padding]
    if len(content) < 4:
        raise ProtocolError("undecryptable message: frame too short", 400)
    (length,) = struct.unpack(">I", content[:4])
    if length > len(content) - 4:
        raise ProtocolError("undecryptable message: length past the end", 400)
    try:
        xml = content[4:4 + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("undecryptable message: not UTF-8", 400) from exc
    return xml, content[4 + length:]


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, text: str, now: int | None = None) -> str:
    """A passive text reply."""
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{now or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(text)}</Content></xml>")


def open_request(config: Any, args: Mapping[str, str], body: bytes,
                 now: float | None = None) -> tuple[dict[str, str], bool]:
    """Verify and decode one POSTed callback.

    Returns the message fields and whether the reply must be encrypted.

    Raises:
        ProtocolError: 413 oversize, 403 forged/stale/downgraded/wrong app, 400 malformed.
    """
    if len(body) > config.max_body_bytes:
        raise ProtocolError("body too large", 413)
    timestamp, nonce = args.get("timestamp") or "", args.get("nonce") or ""
    check_signature((config.token, timestamp, nonce), args.get("signature"))
    check_timestamp(timestamp, config.replay_window, now)
    fields = parse_xml(body)
    aes = (args.get("encrypt_type") or "").lower() == "aes"
    if config.mode != "plaintext" and not aes:
        # ``signature`` does not cover the body: plaintext here would be a forgery
        raise ProtocolError(f"{config.mode} mode requires encrypt_type=aes", 403)
    if config.mode == "plaintext" and aes:
        raise ProtocolError("encrypted message in plaintext mode", 400)
    if aes:
        if "Encrypt" not in fields:
            raise ProtocolError("encrypt_type=aes without <Encrypt>", 400)
        envelope = Envelope(config.token, config.encoding_aes_key, config.app_id)
        plain = envelope.open(fields["Encrypt"], args.get("msg_signature"), timestamp, nonce)
        fields = parse_xml(plain.encode("utf-8"))
    return fields, aes
