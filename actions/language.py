"""Language slot: detected on every message, or set explicitly by the patient."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.i18n import detect_language, requested_language, says_little


# what a request to switch says: a language, or the words of a switch ("切换语言")
_TOGGLE = re.compile(r"语言|語言|中文|英文|英语|汉语|普通话|国语|切换|换成|换回|"
                     r"(?<![a-z])(?:languages?|lang|english|chinese|mandarin|switch|change|"
                     r"qie ?huan|zhong ?wen|ying ?wen|ying ?yu)(?![a-z])", re.IGNORECASE)


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
    wanted = requested_language(text) if intent == "switch_language" else None
    if intent == "switch_language" and _TOGGLE.search(text or ""):
        if wanted is None:  # "switch language" without saying which: toggle
            wanted = "en" if current == "zh" else "zh"
        return [SlotSet("language", wanted), SlotSet("language_locked", True)]
    # otherwise the NLU's switch_language names no language and no switch ("Emily
    # Zhang" as the patient's name): read as any other message
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
