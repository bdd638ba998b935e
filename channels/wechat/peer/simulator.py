"""WeChat's server side of the callback protocol, for tests, bench and wechat-sim.

It builds the XML WeChat pushes, signs the query (``signature`` over token,
timestamp, nonce; ``msg_signature`` over the ciphertext too), encrypts in
compatible/safe mode, gives each attempt 5 s and retries like WeChat (each retry
signed anew: new timestamp and nonce), and opens the (encrypted) passive reply,
checking its signature.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.wechat.protocol import Envelope, cdata, check_signature, parse_xml, sign

_ids = itertools.count(int(time.time() * 1000) * 1000)


@dataclass
class SimulatedReply:
    status: int
    body: str
    text: str | None  # the passive reply's Content, None for "success"/empty
    attempts: int
    msg_type: str | None = None


class WeChatSimulator:
    """Signs, encrypts and delivers messages to a webhook as WeChat does."""

    def __init__(self, url: str, token: str, app_id: str, encoding_aes_key: str = "",
                 mode: str = "safe", to_user: str = "gh_medbot0000",
                 attempt_timeout: float = 5.0, attempts: int = 3) -> None:
        self.url = url
        self.token = token
        self.app_id = app_id
        self.mode = mode
        self.to_user = to_user
        self.attempt_timeout = attempt_timeout
        self.attempts = attempts
        self.envelope = Envelope(token, encoding_aes_key, app_id) if mode != "plaintext" else None

    # -- messages ---------------------------------------------------------------------
    def fields(self, openid: str, msg_type: str, create_time: int | None = None,
               msg_id: int | None = None, **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"ToUserName": self.to_user, "FromUserName": openid,
                                  "CreateTime": create_time or int(time.time()),
                                  "MsgType": msg_type}
        fields.update(extra)
        if msg_type != "event":
            fields["MsgId"] = msg_id or next(_ids)
        return fields

    def text(self, openid: str, content: str, **kw: Any) -> dict[str, Any]:
        return self.fields(openid, "text", Content=content, **kw)

    def event(self, openid: str, event: str, key: str | None = None, **kw: Any) -> dict[str, Any]:
        extra = {"Event": event, **({"EventKey": key} if key is not None else {})}
        return self.fields(openid, "event", **extra, **kw)

    def subscribe_answers(self, openid: str, answers: dict[str, str], change: bool = False,
                          **kw: Any) -> dict[str, Any]:
        """The event WeChat pushes when the patient answers the subscription prompt
        (``change``: later, in WeChat's settings): template id -> accept|reject."""
        event, key = (("subscribe_msg_change_event", "SubscribeMsgChangeEvent") if change
                      else ("subscribe_msg_popup_event", "SubscribeMsgPopupEvent"))
        items = [{"TemplateId": tid, "SubscribeStatusString": status, "PopupScene": 2}
                 for tid, status in answers.items()]
        return self.fields(openid, "event", Event=event, **{key: items}, **kw)

    @staticmethod
    def to_xml(fields: dict[str, Any]) -> str:
        def one(k: str, v: Any) -> str:
            if isinstance(v, list):  # WeChat's nested lists: <K><List>...</List>...</K>
                return f"<{k}>" + "".join(
                    "<List>" + "".join(one(ik, iv) for ik, iv in item.items()) + "</List>"
                    for item in v) + f"</{k}>"
            if isinstance(v, int | float):
                return f"<{k}>{v}</{k}>"
            return f"<{k}>{cdata(str(v))}</{k}>"
        return "<xml>" + "".join(one(k, v) for k, v in fields.items()) + "</xml>"

    # -- the signed request ---------------------------------------------------------------
    def sign_request(self, xml: str, timestamp: int | None = None,
                     nonce: str | None = None) -> tuple[dict[str, str], str]:
        """Query parameters and body for one push, as WeChat signs them."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))  # numeric and random, as WeChat's
        params = {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        found = re.search(r"<FromUserName>(?:<!\[CDATA\[)?([^<\]]*)", xml)
        if found:
            params["openid"] = found.group(1)
        if self.envelope is None:
            return params, xml
        sealed = parse_xml(self.envelope.seal(xml, nonce=nonce, timestamp=ts))
        encrypted = sealed["Encrypt"]
        params["encrypt_type"] = "aes"
        params["msg_signature"] = sign(self.token, ts, nonce, encrypted)
        if self.mode == "safe":
            body = (f"<xml><ToUserName>{cdata(self.to_user)}</ToUserName>"
                    f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")
        else:
            body = xml.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")
        return params, body

    def verify_params(self, params: dict[str, str]) -> tuple[dict[str, str], str]:
        """Query for the GET server check."""
        echostr = str(next(_ids))
        ts = str(int(time.time()))
        nonce = echostr[-8:]
        return ({"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "echostr": echostr, **params}, echostr)

    # -- delivery -----------------------------------------------------------------------
    async def send(self, fields: dict[str, Any], session: aiohttp.ClientSession | None = None,
                   **sign_kw: Any) -> SimulatedReply:
        """Deliver one message; retry after ``attempt_timeout`` like WeChat.

        Each attempt is a new push of the same message (same MsgId/CreateTime), signed
        anew with a fresh timestamp and nonce unless ``sign_kw`` fixes them: medbot
        refuses a (timestamp, nonce, signature) it has seen (``bot.wechat.replay``).
        """
        xml = self.to_xml(fields)
        own = session is None
        session = session or aiohttp.ClientSession()
        try:
            for attempt in range(1, self.attempts + 1):
                params, body = self.sign_request(xml, **sign_kw)
                try:
                    return await self._post(session, params, body, attempt)
                except asyncio.TimeoutError:
                    continue
            return SimulatedReply(0, "", None, self.attempts)
        finally:
            if own:
                await session.close()

    async def post_raw(self, params: dict[str, str], body: bytes | str,
                       session: aiohttp.ClientSession | None = None) -> SimulatedReply:
        own = session is None
        session = session or aiohttp.ClientSession()
        try:
            return await self._post(session, params, body, 1)
        finally:
            if own:
                await session.close()

    async def _post(self, session: aiohttp.ClientSession, params: dict[str, str],
                    body: bytes | str, attempt: int) -> SimulatedReply:
        timeout = aiohttp.ClientTimeout(total=self.attempt_timeout)
        async with session.post(self.url, params=params, data=body, timeout=timeout,
                                headers={"Content-Type": "text/xml"}) as resp:
            text = await resp.text()
            return self.open_reply(resp.status, text, attempt)

    def open_reply(self, status: int, body: str, attempt: int = 1) -> SimulatedReply:
        if status != 200 or body.strip() in ("", "success"):
            return SimulatedReply(status, body, None, attempt)
        fields = parse_xml(body)
        if "Encrypt" in fields:
            assert self.envelope is not None, "encrypted reply in plaintext mode"
            check_signature((self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]),
                            fields.get("MsgSignature"))
            fields = parse_xml(self.envelope.open(fields["Encrypt"], fields["MsgSignature"],
                                                  fields["TimeStamp"], fields["Nonce"]))
        return SimulatedReply(status, body, fields.get("Content"), attempt, fields.get("MsgType"))
