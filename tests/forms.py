"""Answer a form's question the way Rasa's form loop does, without a trained model.

Rasa fills the requested slot from the patient's text (``from_text``), then calls
the form's validation action; :func:`answer` builds that tracker and runs the
whole validation action (``MedbotFormValidation`` first, then ``validate_<slot>``),
so exits and questions inside a form are exercised as in a conversation.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.i18n.catalog import DOMAIN_DIR


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """The merged Rasa domain (slots and forms of every feature file)."""
    merged: dict[str, Any] = {"slots": {}, "forms": {}, "responses": {}}
    for file in sorted(DOMAIN_DIR.glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for key in merged:
            merged[key].update(data.get(key) or {})
    return merged


def form_tracker(form: str, slot: str, text: str, slots: dict[str, Any] | None = None, *,
                 lang: str = "zh", intent: str | None = None,
                 sender: str = "test:user-1") -> Tracker:
    values = {"language": lang, **(slots or {}), "requested_slot": slot, slot: text}
    return Tracker(
        sender_id=sender, slots=values,
        latest_message={"text": text, "intent": {"name": intent}, "entities": []},
        events=[{"event": "user", "text": text},
                {"event": "slot", "name": slot, "value": text}],
        paused=False, followup_action=None, active_loop={"name": form},
        latest_action_name="action_listen")


def answer(action, slot: str, text: str, slots: dict[str, Any] | None = None, *,
           lang: str = "zh", intent: str | None = None, sender: str = "test:user-1"
           ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``action`` (a form validation action) on ``text`` answering ``slot``.

    Returns:
        The messages sent and the slot updates, as Rasa would apply them.
    """
    tracker = form_tracker(action.form_name(), slot, text, slots, lang=lang, intent=intent,
                           sender=sender)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain()))
    return dispatcher.messages, {e["name"]: e["value"] for e in events
                                 if e.get("event") == "slot"}
