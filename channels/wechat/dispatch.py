"""What each WeChat message type turns into: a bot turn, a direct answer, or nothing.

Text, recognised voice and menu CLICKs (as ``/<intent>``; the language button as
``/switch_language{"language": ...}``) go to Rasa. Media,
location and links get a polite bilingual answer unless a doctor handoff takes
them (``HandoffRouter``). ``subscribe``
greets with the privacy notice, ``unsubscribe`` stops proactive messages.
Direct answers are logged in the transcript like bot turns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from wechatpy import events, messages

from bot.handoff.gate import ConversationGate
from bot.hospital import HospitalInfo
from bot.i18n import detect_language
from bot.masking import mask_openid
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.wechat.state import WeChatState
from bot.wechat.subscribe import SubscribeAnswers, answers_in
from bot.wechat.text import bilingual

log = logging.getLogger(__name__)

RunBot = Callable[[str], Awaitable[str]]
Produce = Callable[[], Awaitable[str | None]]

MEDIA_TYPES = (messages.ImageMessage, messages.VideoMessage, messages.ShortVideoMessage,
               messages.LocationMessage, messages.LinkMessage)
_SAFE_FIELDS = ("MsgType", "Event", "EventKey", "PicUrl", "MediaId", "Format", "Title", "Url",
                "Label", "Location_X", "Location_Y")


class HandoffRouter(Protocol):
    """Forwards a patient's message to a doctor during a handoff."""

    async def route(self, openid: str, fields: Mapping[str, str]) -> bool:
        """True when the message was forwarded (then the bot does not answer)."""


class NoHandoff:
    """Nothing is ever forwarded (channel-protocol tests without a conversation gate)."""

    async def route(self, openid: str, fields: Mapping[str, str]) -> bool:
        return False


class GateHandoffRouter:
    """During an open handoff, media go to the doctor: the dispatcher logs them in
    the transcript (with PicUrl/MediaId) that the console shows, and the bot
    does not answer."""

    def __init__(self, gate: ConversationGate) -> None:
        self.gate = gate

    async def route(self, openid: str, fields: Mapping[str, str]) -> bool:
        return await asyncio.to_thread(self.gate.in_handoff, "wechat", openid)


class Dispatcher:
    def __init__(self, state: WeChatState, hospital: HospitalInfo, menu_texts: dict[str, str],
                 handoff: HandoffRouter, transcripts: TranscriptService | None = None) -> None:
        """``menu_texts``: CLICK key -> the bot's message (``Menu.texts()``)."""
        self.state = state
        self.hospital = hospital
        self.menu_texts = menu_texts
        self.answers = SubscribeAnswers(state.db, state.clock)
        self.handoff = handoff
        self.transcripts = transcripts

    def plan(self, message, fields: Mapping[str, str], run_bot: RunBot) -> Produce:
        """A coroutine factory producing the reply text (None: no reply)."""
        openid = fields["FromUserName"]
        text = self._bot_text(message)
        if text is not None:
            return lambda: run_bot(text)
        return lambda: self._direct(message, openid, fields)

    def _bot_text(self, message) -> str | None:
        if isinstance(message, messages.TextMessage):
            return message.content or ""
        if isinstance(message, messages.VoiceMessage) and (message.recognition or "").strip():
            return message.recognition.strip()
        if isinstance(message, events.ClickEvent) and message.key in self.menu_texts:
            return self.menu_texts[message.key]
        return None

    async def _direct(self, message, openid: str, fields: Mapping[str, str]) -> str | None:
        reply: str | None = None
        if isinstance(message, (events.SubscribeEvent, events.SubscribeScanEvent)):
            await asyncio.to_thread(self.state.set_subscribed, openid, True)
            reply = bilingual("utter_wechat_welcome", self.hospital)
        elif isinstance(message, events.UnsubscribeEvent):
            await asyncio.to_thread(self.state.set_subscribed, openid, False)
            log.info("wechat.unsubscribed openid=%s", mask_openid(openid))
        elif answers_in(fields):  # the patient answered a subscription prompt
            for template_id, status in answers_in(fields):
                await asyncio.to_thread(self.answers.record, openid, template_id, status)
            log.info("wechat.subscribe.answered openid=%s answers=%s", mask_openid(openid),
                     ",".join(status for _, status in answers_in(fields)))
        elif isinstance(message, messages.VoiceMessage):
            reply = bilingual("utter_wechat_voice_unrecognized", self.hospital)
        elif isinstance(message, MEDIA_TYPES) or isinstance(message, messages.UnknownMessage) \
                and fields.get("MsgType") != "event":
            if await self.handoff.route(openid, fields):
                log.info("wechat.handoff.forwarded openid=%s type=%s", mask_openid(openid),
                         message.type)
            else:
                reply = bilingual("utter_wechat_media_unsupported", self.hospital)
        await self._log(openid, fields, reply)
        return reply

    async def _log(self, openid: str, fields: Mapping[str, str], reply: str | None) -> None:
        if self.transcripts is None:
            return
        msg_type = fields.get("MsgType", "")
        label = fields.get("Event") if msg_type == "event" else msg_type
        payload = {k: fields[k] for k in _SAFE_FIELDS if fields.get(k)}
        rows = [LoggedMessage(role="patient", text=f"[{label}]",
                              payload=json.dumps(payload, ensure_ascii=False),
                              channel_message_id=fields.get("MsgId") or None)]
        if reply:
            rows.append(LoggedMessage(role="bot", text=reply, language=detect_language(reply)))
        try:
            await asyncio.to_thread(self.transcripts.log, "wechat", openid, rows)
        except SQLAlchemyError:
            log.exception("transcript.write_failed channel=wechat openid=%s", mask_openid(openid))
