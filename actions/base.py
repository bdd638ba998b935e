"""Shared base for medbot actions."""

from __future__ import annotations

import abc
from typing import Any

from rasa_sdk import Action, Tracker

from bot.settings import SUPPORTED_LANGUAGES


class MedbotAction(Action, abc.ABC):
    """Base class: ``name()`` stays abstract, so rasa_sdk does not register it.

    rasa_sdk instantiates actions without arguments; subclasses accept an
    optional service in their constructor so tests can pass their own.
    """

    @abc.abstractmethod
    def name(self) -> str:  # pragma: no cover - abstract
        ...

    @staticmethod
    def language(tracker: Tracker) -> str:
        lang = tracker.get_slot("language")
        return lang if lang in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES[0]

    @staticmethod
    def latest_text(tracker: Tracker) -> str:
        return (tracker.latest_message or {}).get("text") or ""

    @staticmethod
    def latest_intent(tracker: Tracker) -> str | None:
        return ((tracker.latest_message or {}).get("intent") or {}).get("name")

    @staticmethod
    def entity_values(tracker: Tracker, entity: str) -> list[Any]:
        return list(tracker.get_latest_entity_values(entity))
