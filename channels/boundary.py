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

from bot.i18n import detect_language
from bot.settings import Settings
from bot.store.db import Database
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.triage.service import TriageService
from channels.emergency import EmergencyInterrupt

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class ChannelBoundary:
    """Logs both directions of every turn for one channel, and screens every
    patient message for red flags before the bot sees it."""

    def __init__(self, channel: str, transcripts: TranscriptService,
                 emergency: EmergencyInterrupt | None = None) -> None:
        self.channel = channel
        self.transcripts = transcripts
        self.emergency = emergency or EmergencyInterrupt()
        self.triage: TriageService | None = None

    @classmethod
    def from_settings(cls, channel: str, settings: Settings) -> ChannelBoundary:
        return cls(channel, TranscriptService(Database.from_settings(settings)))

    def attach(self, blueprint: Blueprint) -> Blueprint:
        """Give the boundary the server that mounts the channel's blueprint."""
        return self.emergency.attach(blueprint)

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        async def handle(message: UserMessage) -> Any:
            sender = message.sender_id
            metadata = message.metadata or {}
            await self._log(sender, LoggedMessage(
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
            return await on_new_message(message)

        return handle

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

    async def _log(self, sender: str, message: LoggedMessage) -> None:
        try:
            await asyncio.to_thread(self.transcripts.log, self.channel, sender, [message])
        except SQLAlchemyError:
            # The patient is still answered; the failure is loud in the logs.
            log.exception("transcript.write_failed channel=%s role=%s", self.channel, message.role)


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
