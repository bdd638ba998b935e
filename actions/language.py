"""Language slot: detected on every message, or set explicitly by the patient."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.i18n import detect_language, requested_language, says_little


def language_events(text: str, intent: str | None, current: str | None,
                    locked: bool, answering: bool = False,
                    settled: bool = False) -> list[dict[str, Any]]:
    """Slot events for one user message.

    An explicit request ("English please", "请说中文") sets the language and
    locks it; otherwise the detected language of the message is used unless the
    patient locked a choice earlier. An id, or a bare short answer to the
    question a form asked (``answering``: "王芳" as the name in an English
    conversation, "any" in a Chinese one), keeps the conversation's language,
    and so does one English word once the patient has written before
    (``settled``; :func:`bot.i18n.says_little`).
    """
    if intent == "switch_language":
        wanted = requested_language(text)
        if wanted is None:  # "switch language" without saying which: toggle
            wanted = "en" if current == "zh" else "zh"
        return [SlotSet("language", wanted), SlotSet("language_locked", True)]
    if locked or text.startswith("/"):  # "/intent" payloads (buttons, menu clicks) say nothing
        return []
    if current and says_little(text, answering, settled):
        return []
    detected = detect_language(text)
    if detected and detected != current:
        return [SlotSet("language", detected)]
    return []


class ActionDetectLanguage(MedbotAction):
    """Custom slot mapping action: runs after every user message."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return language_events(
            self.latest_text(tracker), self.latest_intent(tracker),
            tracker.get_slot("language"), bool(tracker.get_slot("language_locked")),
            answering=bool((tracker.active_loop or {}).get("name")
                           and tracker.get_slot("requested_slot")),
            settled=sum(1 for e in tracker.events if e.get("event") == "user") > 1,
        )


class ActionSwitchLanguage(MedbotAction):
    """Confirms the switch in the newly chosen language."""

    def name(self) -> str:
        return "action_switch_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_language_switched")
        return []
