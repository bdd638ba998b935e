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

from bot.app import App, current_app
from bot.consent.guard import vital_interests
from bot.consent.rights import ERASE_SIGNAL
from bot.errors import MedbotError
from bot.fallback import StoreDownFallback
from bot.handoff.gate import ConversationGate, GateDecision
from bot.i18n import bilingual, detect_language, t
from bot.identity import conversation_id, split_conversation_id
from bot.masking import mask_id
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.spool import Spool
from bot.triage.case import RedFlagHit
from bot.triage.service import TriageService
from channels.emergency import EmergencyInterrupt
from channels.erase import erase_tracker
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
        fallback: the answer while the database is down; default: on the spool
            and hospital information of the process's app (``bot.app``).
    """

    def __init__(self, channel: str, transcripts: TranscriptService,
                 emergency: EmergencyInterrupt | None = None,
                 gate: ConversationGate | None = None,
                 fallback: StoreDownFallback | None = None) -> None:
        self.channel = channel
        self.transcripts = transcripts
        self.emergency = emergency or EmergencyInterrupt()
        self.gate = gate
        self.fallback = fallback or store_down_fallback(current_app(), self.emergency)
        self.triage: TriageService | None = None

    @classmethod
    def from_app(cls, channel: str, app: App) -> ChannelBoundary:
        """The boundary of ``channel`` on the app's database, with the app's gate."""
        emergency = EmergencyInterrupt()
        return cls(channel, TranscriptService(app.db), emergency, app.gate,
                   store_down_fallback(app, emergency))

    def attach(self, blueprint: Blueprint) -> Blueprint:
        """Give the boundary the server that mounts the channel's blueprint."""
        return self.emergency.attach(blueprint)

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """The channel calls the returned function with the id *it* authenticated as
        ``sender_id``; from here on the message belongs to this channel's namespace
        (``bot.identity``), whatever the request claimed about its channel.

        The red-flag screen runs first, in memory. When the database cannot log the
        message, the patient still gets the 120 advice for a red flag, else "service
        busy", and the message goes to the local spool (``bot.fallback``); when the
        bot itself fails, the patient gets "service busy" instead of an error.
        """
        async def handle(message: UserMessage) -> Any:
            external_id = message.sender_id
            sender = conversation_id(self.channel, external_id)
            message.sender_id = sender
            message.input_channel = self.channel
            metadata = message.metadata or {}
            channel_message_id = _str_or_none(metadata.get("message_id"))
            hit = self.emergency.check(message)
            logged = await self._logged_already(sender, channel_message_id) if metadata.get(
                "resumed") else None
            if logged is None:
                logged = await self._log(sender, LoggedMessage(
                    role="patient",
                    text=message.text,
                    language=detect_language(message.text or ""),
                    channel_message_id=channel_message_id,
                ))
            if logged is None:
                return await self._store_down(message, external_id, hit, channel_message_id)
            message.output_channel = RecordingOutputChannel(
                message.output_channel, lambda recipient, payload: self._log_bot(recipient, payload),
                {sender: external_id},
            )
            if hit is not None:
                await self.emergency.handle(message, hit)  # advice first, then the tracker
                await self._record_emergency(message)
                return None
            if self.gate is not None:
                decision = await self._gate(message, logged[0] if logged else None)
                for text in decision.replies:
                    await message.output_channel.send_response(sender, {"text": text})
                if decision.pause or decision.resume:
                    await self._set_paused(sender, decision.pause)
                if decision.erase:  # delete-my-data confirmed: Rasa's copy goes too
                    await self._erase_tracker(sender)
                if not decision.forward:
                    return None
            try:
                result = await on_new_message(message)
            except Exception as exc:  # noqa: BLE001 - the patient gets an answer, not an error
                log.error("bot.failed channel=%s conversation=%s error=%s", self.channel,
                          mask_id(sender), type(exc).__name__)
                await message.output_channel.send_response(sender, {"text": self._busy(
                    message.text)})
                return None
            if message.output_channel.erase_requested:  # delete-my-data in this turn
                await self._erase_tracker(sender)
            return result

        return handle

    def store_down_reply(self, external_id: str, text: str,
                         channel_message_id: str | None = None) -> list[str]:
        """What to answer when the channel itself cannot reach the database (e.g. the
        WeChat exactly-once claim failed): screen in memory, spool, answer."""
        return self.fallback.answer(self.channel, external_id, text, channel_message_id,
                                    self.emergency.screen_text(text))

    async def _store_down(self, message: UserMessage, external_id: str,
                          hit: RedFlagHit | None, channel_message_id: str | None) -> None:
        replies = self.fallback.answer(self.channel, external_id, message.text or "",
                                       channel_message_id, hit)
        for text in replies:  # the channel's own output: nothing to record in a dead store
            await message.output_channel.send_response(external_id, {"text": text})
        return None

    def _busy(self, text: str | None) -> str:
        lang = detect_language(text or "")
        hospital = self.fallback.hospital
        return (t("utter_service_busy", lang, **hospital.params(lang)) if lang
                else bilingual("utter_service_busy", hospital.params))

    async def _gate(self, message: UserMessage, message_id: int | None) -> GateDecision:
        """Consent and handoff state; on a database failure nothing is processed."""
        text = message.text or ""
        hint = detect_language(text)
        try:
            _, external_id = split_conversation_id(message.sender_id)
            return await asyncio.to_thread(self.gate.before_bot, self.channel,  # type: ignore
                                           external_id, text, message_id, hint)
        except (SQLAlchemyError, MedbotError) as exc:
            log.error("gate.failed channel=%s error=%s", self.channel, type(exc).__name__)
            return GateDecision([self._busy(text)], forward=False, language=hint or "zh")

    async def _erase_tracker(self, sender: str) -> None:
        try:
            await erase_tracker(self.emergency.agent(), sender)
        except (MedbotError, SQLAlchemyError) as exc:
            log.error("tracker.erase_failed channel=%s error=%s", self.channel,
                      type(exc).__name__)

    async def _set_paused(self, sender: str, paused: bool) -> None:
        try:
            await set_paused(self.emergency.agent(), sender, paused)
        except MedbotError:  # not mounted in a Rasa server (tests with a fake bot)
            log.warning("handoff.tracker_unavailable paused=%s", paused)

    async def _record_emergency(self, message: UserMessage) -> None:
        """Store the interrupt's decision as a TriageRecord (same engine as the interview)."""
        if self.triage is None:
            self.triage = TriageService(self.transcripts.db, current_app().triage)
        triage = self.triage

        def record() -> None:
            with vital_interests():  # emergency advice does not wait for consent
                triage.assess_text(message.text or "", None, channel=self.channel,
                                   conversation_id=message.sender_id)

        try:
            await asyncio.to_thread(record)
        except SQLAlchemyError:
            log.exception("triage.record_failed channel=%s", self.channel)

    async def _log_bot(self, recipient_id: str, payload: dict[str, Any]) -> None:
        text = payload.get("text")
        extra = {k: v for k, v in payload.items() if k != "text" and v}
        bot_message = LoggedMessage(
            role="bot",
            text=text,
            payload=json.dumps(extra, ensure_ascii=False) if extra else None,
            language=detect_language(text or ""),
        )
        if await self._log(recipient_id, bot_message) is None:  # sent, so keep it
            channel, external_id = split_conversation_id(recipient_id)
            self.fallback.spool_message(channel, external_id, bot_message)

    async def _logged_already(self, sender: str, channel_message_id: str | None
                              ) -> list[int] | None:
        """A turn run again after its process died (``metadata["resumed"]``): the
        patient's message is in the transcript already and is not logged twice."""
        if channel_message_id is None:
            return None
        try:
            found = await asyncio.to_thread(self.transcripts.patient_message_id, self.channel,
                                            sender, channel_message_id)
        except SQLAlchemyError:
            return None
        return None if found is None else [found]

    async def _log(self, sender: str, message: LoggedMessage) -> list[int] | None:
        """Log one message of the conversation ``sender`` (a namespaced id); ``None``
        when the database could not take it."""
        channel, external_id = split_conversation_id(sender)
        try:
            return await asyncio.to_thread(self.transcripts.log, channel, external_id, [message],
                                           sender)
        except SQLAlchemyError as exc:
            log.error("transcript.write_failed channel=%s role=%s error=%s", self.channel,
                      message.role, type(exc).__name__)
            return None


def store_down_fallback(app: App, emergency: EmergencyInterrupt) -> StoreDownFallback:
    return StoreDownFallback(Spool(app.settings.spool_path), app.hospital,
                             emergency.screen_text)


class RecordingOutputChannel(OutputChannel):
    """Delegates to the channel's own output channel and records what was sent.

    Rasa addresses the conversation (``<channel>:<id>``); the channel's own output
    channel gets the id it knows (``recipients`` maps one to the other).
    """

    def __init__(self, inner: OutputChannel,
                 record: Callable[[str, dict[str, Any]], Awaitable[None]],
                 recipients: dict[str, str] | None = None) -> None:
        self.inner = inner
        self._record = record
        self._recipients = recipients or {}
        self.erase_requested = False

    def name(self) -> str:  # type: ignore[override] - instance, like the inner channel
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("custom") == ERASE_SIGNAL:  # for the boundary, not the patient
            self.erase_requested = True
            message = {k: v for k, v in message.items() if k != "custom"}
            if not any(message.get(k) for k in ("text", "image", "buttons", "attachment",
                                                  "elements", "quick_replies")):
                return
        sent = dict(message)  # OutputChannel.send_response pops keys off its argument
        await self.inner.send_response(self._recipients.get(recipient_id, recipient_id), message)
        await self._record(recipient_id, sent)

    def __getattr__(self, item: str) -> Any:  # e.g. CollectingOutputChannel.messages
        return getattr(self.inner, item)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)[:128]
