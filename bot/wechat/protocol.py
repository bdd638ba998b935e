"""The WeChat callback protocol: signatures, safe XML, AES envelopes, replies.

wechatpy's own helpers parse XML with xmltodict and compare signatures with
``!=``; here XML goes through defusedxml (no DTDs, no entities) and signatures
through ``hmac.compare_digest``. The AES work itself is ``wechatpy.crypto``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.exceptions import InvalidAppIdException
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
    if not signature or not hmac.compare_digest(sign(*expected_parts), signature.lower()):
        raise ProtocolError("bad signature", 403)


def check_timestamp(timestamp: str | None, window: int, now: float | None = None) -> None:
    try:
        ts = int(timestamp or "")
    except ValueError as exc:
        raise ProtocolError("bad timestamp", 400) from exc
    if abs((time.time() if now is None else now) - ts) > window:
        raise ProtocolError("timestamp outside the replay window", 403)


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Flat ``<xml>`` children to a dict; DTDs, entities and external refs are refused."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise ProtocolError(f"unsafe or malformed XML: {type(exc).__name__}", 400) from exc
    if root.tag != "xml":
        raise ProtocolError("root element is not <xml>", 400)
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


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
    """MsgId, or FromUserName + CreateTime + Event for events (which have none)."""
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    return "evt:{}:{}:{}".format(fields.get("FromUserName", ""), fields.get("CreateTime", ""),
                                 (fields.get("Event") or "").lower())


class Envelope:
    """AES envelope of compatible/safe mode, with ``wechatpy.crypto.PrpCrypto``."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.app_id = app_id
        self.key = base64.b64decode(encoding_aes_key + "=")

    def open(self, encrypted: str, msg_signature: str | None, timestamp: str, nonce: str) -> str:
        check_signature((self.token, timestamp, nonce, encrypted), msg_signature)
        try:
            return PrpCrypto(self.key).decrypt(encrypted, self.app_id)
        except InvalidAppIdException as exc:
            raise ProtocolError("message for another app id", 403) from exc
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ProtocolError("undecryptable message", 400) from exc

    def seal(self, xml: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        nonce = nonce or random_string(16)
        timestamp = timestamp or str(int(time.time()))
        encrypted = PrpCrypto(self.key).encrypt(xml, self.app_id).decode("ascii")
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, text: str, now: int | None = None) -> str:
    """A passive text reply."""
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{now or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(text)}</Content></xml>")


def mask(openid: str | None) -> str:
    """An openid for logs: first 4 and last 2 characters."""
    if not openid:
        return "-"
    return openid[:4] + "***" + openid[-2:] if len(openid) > 8 else "***"


def metadata_of(message: Any) -> dict[str, Any]:
    """What the connector passes to Rasa as ``UserMessage.metadata``."""
    return {"message_id": getattr(message, "id", None), "msg_type": message.type}


def open_request(config: Any, args: Mapping[str, str], body: bytes,
                 now: float | None = None) -> tuple[dict[str, str], bool]:
    """Verify and decode one POSTed callback.

    Returns the message fields and whether the reply must be encrypted.

    Raises:
        ProtocolError: 413 oversize, 403 forged/replayed/wrong app, 400 malformed.
    """
    if len(body) > config.max_body_bytes:
        raise ProtocolError("body too large", 413)
    timestamp, nonce = args.get("timestamp") or "", args.get("nonce") or ""
    check_signature((config.token, timestamp, nonce), args.get("signature"))
    check_timestamp(timestamp, config.replay_window, now)
    fields = parse_xml(body)
    aes = (args.get("encrypt_type") or "").lower() == "aes"
    if config.mode == "safe" and not aes:
        raise ProtocolError("safe mode requires encrypt_type=aes", 403)
    if config.mode == "plaintext" and aes:
        raise ProtocolError("encrypted message in plaintext mode", 400)
    if aes:
        if "Encrypt" not in fields:
            raise ProtocolError("encrypt_type=aes without <Encrypt>", 400)
        envelope = Envelope(config.token, config.encoding_aes_key, config.app_id)
        plain = envelope.open(fields["Encrypt"], args.get("msg_signature"), timestamp, nonce)
        fields = parse_xml(plain.encode("utf-8"))
    return fields, aes
