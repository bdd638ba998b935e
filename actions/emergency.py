"""The red-flag interrupt as a Rasa action.

Channels run the interrupt before Rasa (channels/emergency.py) and record this
action in the tracker. The action also runs when a message reaches Rasa by
another route (e.g. its HTTP API), with the same screen and the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from actions.offers import EMERGENCY_INFO, OFFER_SLOT
from bot.app import current_app
from bot.triage.case import RedFlagHit

Screen = Callable[[str], "RedFlagHit | None"]


class ActionRedFlagInterrupt(MedbotAction):
    def __init__(self, screen: Screen | None = None) -> None:
        """``screen``: the process app's (``App.screen_text``) when omitted."""
        self._screen = screen

    def name(self) -> str:
        return "action_red_flag_interrupt"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        screen = self._screen or current_app().screen_text
        hit = screen(self.latest_text(tracker))
        if hit is None:
            return []
        dispatcher.utter_message(text=hit.message(self.language(tracker)))
        dispatcher.utter_message(response="utter_triage_next_emergency")  # the offer
        events: list[dict[str, Any]] = [SlotSet(OFFER_SLOT, EMERGENCY_INFO)]
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
