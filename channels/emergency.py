"""The red-flag interrupt: runs on every patient message before Rasa sees it.

When the red-flag screen (``App.screen``) finds an emergency, the patient gets the
emergency advice at once, in the conversation's language, whatever the bot was
doing (a booking form, a reminder reply...). The turn is written to the Rasa
tracker as it happened — the patient's message, any active form cancelled,
``action_red_flag_interrupt`` and its advice — so the dialogue continues from
a consistent state, and no policy can answer before the advice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
)
from sanic import Blueprint, Sanic

from bot.errors import ServiceError
from bot.i18n import detect_language, t
from bot.triage.case import RedFlagHit
from bot.app import current_app

log = logging.getLogger(__name__)

INTERRUPT_ACTION = "action_red_flag_interrupt"
EMERGENCY_OFFER = "utter_triage_next_emergency"  # "... I can send you the emergency address"
OFFER_SLOT, EMERGENCY_INFO = "offer_pending", "emergency_info"  # as in actions/offers.py
INTERRUPT_INTENT = "report_symptoms"

Screen = Callable[[str], "RedFlagHit | None"]


def conversation_language(text: str, slot_language: str | None, locked: bool) -> str:
    """The language to answer in: a locked choice, else the message's, else the slot's."""
    if locked and slot_language:
        return slot_language
    return detect_language(text) or slot_language or "zh"


class EmergencyInterrupt:
    """Screens a message and, on a red flag, answers and updates the tracker."""

    def __init__(self, screen: Screen | None = None,
                 agent_provider: Callable[[], Any] | None = None) -> None:
        """``screen``: the process app's (``App.screen_text``) when omitted."""
        self._preload: Callable[[], Any] | None = None
        if screen is None:
            app = current_app()
            screen, self._preload = app.screen_text, lambda: app.screen
        self.screen = screen
        self._agent_provider = agent_provider or self._app_agent
        self._app: Sanic | None = None

    def attach(self, blueprint: Blueprint) -> Blueprint:
        """Remember the Sanic app that serves ``blueprint``; its ``ctx.agent`` is Rasa's."""

        async def remember(app: Sanic, _loop: Any) -> None:
            self._app = app
            if self._preload is not None:
                # load the knowledge base and the learned layer now, not on the
                # first patient's message (WeChat waits 5 s for the answer)
                await asyncio.to_thread(self._preload)

        blueprint.listener("before_server_start")(remember)
        return blueprint

    def agent(self) -> Any:
        """Rasa's agent of the server this interrupt is attached to.

        Raises:
            ServiceError: not attached to a running server.
        """
        return self._agent_provider()

    def _app_agent(self) -> Any:
        if self._app is None:
            raise ServiceError("the red-flag interrupt is not attached to a running server")
        return self._app.ctx.agent

    def check(self, message: UserMessage) -> RedFlagHit | None:
        return self.screen_text(message.text or "")

    def screen_text(self, text: str) -> RedFlagHit | None:
        """The screen, in memory; never raises (a failure is no hit: the message goes on)."""
        if not text.strip() or text.startswith("/"):  # "/intent" payloads are buttons
            return None
        try:
            return self.screen(text)
        except Exception as exc:  # noqa: BLE001 - the turn must never go down here
            log.error("triage.red_flag.screen_failed error=%s length=%d",
                      type(exc).__name__, len(text))
            return None

    async def handle(self, message: UserMessage, hit: RedFlagHit) -> bool:
        """Answer with the emergency advice, then record the turn in the tracker.

        The advice goes out even when the tracker cannot be loaded or saved (the
        database is down): in the message's language, or in both.

        Returns:
            whether the tracker was updated.
        """
        sender = message.sender_id
        sent = False
        try:
            agent = self._agent_provider()
            async with agent.lock_store.lock(sender):
                tracker = await agent.processor.fetch_tracker_and_update_session(
                    sender, message.output_channel, message.metadata
                )
                lang = conversation_language(message.text or "", tracker.get_slot("language"),
                                             bool(tracker.get_slot("language_locked")))
                # the advice, and the offer to send the emergency entrance ("好的" answers it)
                advice = f"{hit.message(lang)}\n{t(EMERGENCY_OFFER, lang)}"
                await message.output_channel.send_response(sender, {"text": advice})
                sent = True
                tracker.update_with_events(self._events(message, hit, lang, advice, tracker),
                                           agent.domain)
                await agent.processor.save_tracker(tracker)
        except Exception as exc:  # noqa: BLE001 - the advice must go out whatever failed
            log.error("triage.red_flag.tracker_failed error=%s", type(exc).__name__)
            if not sent:
                lang = detect_language(message.text or "")
                advice = hit.message(lang) if lang else "\n\n".join(
                    hit.message(code) for code in ("zh", "en"))
                await message.output_channel.send_response(sender, {"text": advice})
            return False
        finally:
            log.warning("triage.red_flag.interrupt category=%s action=%s channel=%s",
                        hit.category, hit.action, message.input_channel)
        return True

    @staticmethod
    def _events(message: UserMessage, hit: RedFlagHit, lang: str, advice: str,
                tracker: Any) -> list:
        events: list = [
            UserUttered(
                message.text,
                intent={"name": INTERRUPT_INTENT, "confidence": 1.0},
                parse_data={
                    "text": message.text,
                    "intent": {"name": INTERRUPT_INTENT, "confidence": 1.0},
                    "entities": [],
                    "red_flag": hit.category,
                },
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            ),
            SlotSet("language", lang),
        ]
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events + [
            ActionExecuted(INTERRUPT_ACTION),
            BotUttered(advice, {"red_flag": hit.category}),
            SlotSet(OFFER_SLOT, EMERGENCY_INFO),  # answered by action_answer_offer
            ActionExecuted("action_listen"),
        ]
