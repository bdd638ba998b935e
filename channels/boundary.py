"""The channel boundary: what every input channel does around the bot.

``ChannelBoundary.wrap(on_new_message)`` returns the callable a channel's
blueprint hands its ``UserMessage`` to; ``attach(blueprint)`` lets it reach
the server's Rasa agent. It logs the patient's message, runs
the bot, and logs each bot message as it is sent, through the plain-Python
``TranscriptService``. Database work runs in a thread, off Sanic's loop.
Before the bot, ``EmergencyInterrupt`` screens the message for red flags.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import MedbotError
from bot.handoff.factory import build_gate
from bot.handoff.gate import ConversationGate, GateDecision
from bot.i18n import detect_language, t
from bot.settings import Settings
from bot.store.db import Database
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.triage.service import TriageService
from channels.emergency import EmergencyInterrupt
from channels.pause import set_paused

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class ChannelBoundary:
    """Logs both directions of every turn for one channel, screens every
    patient message for red flags, then lets the conversation gate (consent,
    doctor handoff) decide whether the bot sees it.

    Args:
        gate: consent and handoff state (``bot.handoff.gate``); ``None`` only
            for channel-protocol tests that drive a fake bot.
    """

    def __init__(self, channel: str, transcripts: TranscriptService,
                 emergency: EmergencyInterrupt | None = None,
                 gate: ConversationGate | None = None) -> None:
        self.channel = channel
        self.transcripts = transcripts
        self.emergency = emergency or EmergencyInterrupt()
        self.gate = gate
        self.triage: TriageService | None = None

    @classmethod
    def from_settings(cls, channel: str, settings: Settings) -> ChannelBoundary:
        db = Database.from_settings(settings)
        return cls(channel, TranscriptService(db), gate=build_gate(db, settings))

    def attach(self, blueprint: Blueprint) -> Blueprint:
        """Give the boundary the server that mounts the channel's blueprint."""
        return self.emergency.attach(blueprint)

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        async def handle(message: UserMessage) -> Any:
            sender = message.sender_id
            metadata = message.metadata or {}
            logged = await self._log(sender, LoggedMessage(
                role="patient",
                text=message.text,
                language=detect_language(message.text or ""),
                channel_message_id=_str_or_none(metadata.get("message_id")),
            ))
            message.output_channel = RecordingOutputChannel(
                message.output_channel, lambda recipient, payload: self._log_bot(recipient, payload)
            )
            hit = self.emergency.check(message)
            if hit is not None:
                result = await self.emergency.handle(message, hit)  # advice first
                await self._record_emergency(message)
                return result
            if self.gate is not None:
                decision = await self._gate(message, logged[0] if logged else None)
                for text in decision.replies:
                    await message.output_channel.send_response(sender, {"text": text})
                if decision.pause or decision.resume:
                    await self._set_paused(sender, decision.pause)
                if not decision.forward:
                    return None
            return await on_new_message(message)

        return handle

    async def _gate(self, message: UserMessage, message_id: int | None) -> GateDecision:
        """Consent and handoff state; on a database failure nothing is processed."""
        text = message.text or ""
        hint = detect_language(text)
        try:
            return await asyncio.to_thread(self.gate.before_bot, self.channel,  # type: ignore
                                           message.sender_id, text, message_id, hint)
        except (SQLAlchemyError, MedbotError):
            log.exception("gate.failed channel=%s", self.channel)
            lang = hint or "zh"
            return GateDecision([t("utter_error_generic", lang)], forward=False, language=lang)

    async def _set_paused(self, sender: str, paused: bool) -> None:
        try:
            await set_paused(self.emergency.agent(), sender, paused)
        except MedbotError:  # not mounted in a Rasa server (tests with a fake bot)
            log.warning("handoff.tracker_unavailable paused=%s", paused)

    async def _record_emergency(self, message: UserMessage) -> None:
        """Store the interrupt's decision as a TriageRecord (same engine as the interview)."""
        if self.triage is None:
            self.triage = TriageService(self.transcripts.db)
        try:
            await asyncio.to_thread(self.triage.assess_text, message.text or "", None,
                                    channel=self.channel, conversation_id=message.sender_id)
        except SQLAlchemyError:
            log.exception("triage.record_failed channel=%s", self.channel)

    async def _log_bot(self, recipient_id: str, payload: dict[str, Any]) -> None:
        text = payload.get("text")
        extra = {k: v for k, v in payload.items() if k != "text" and v}
        await self._log(recipient_id, LoggedMessage(
            role="bot",
            text=text,
            payload=json.dumps(extra, ensure_ascii=False) if extra else None,
            language=detect_language(text or ""),
        ))

    async def _log(self, sender: str, message: LoggedMessage) -> list[int]:
        try:
            return await asyncio.to_thread(self.transcripts.log, self.channel, sender, [message])
        except SQLAlchemyError:
            # The patient is still answered; the failure is loud in the logs.
            log.exception("transcript.write_failed channel=%s role=%s", self.channel, message.role)
            return []


class RecordingOutputChannel(OutputChannel):
    """Delegates to the channel's own output channel and records what was sent."""

    def __init__(self, inner: OutputChannel,
                 record: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None:
        self.inner = inner
        self._record = record

    def name(self) -> str:  # type: ignore[override] - instance, like the inner channel
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        sent = dict(message)  # OutputChannel.send_response pops keys off its argument
        await self.inner.send_response(recipient_id, message)
        await self._record(recipient_id, sent)

    def __getattr__(self, item: str) -> Any:  # e.g. CollectingOutputChannel.messages
        return getattr(self.inner, item)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)[:128]
