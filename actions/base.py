"""Shared base for medbot actions."""

from __future__ import annotations

import abc
import functools
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.forms import FormValidationAction

from bot.errors import ConsentRequiredError
from bot.identity import split_conversation_id
from bot.settings import SUPPORTED_LANGUAGES


log = logging.getLogger(__name__)


def _answers_consent_refusal(run):
    """A service refused for lack of health-data consent (``bot.consent.guard``):
    nothing was processed; the patient is told why, in their language."""
    @functools.wraps(run)
    async def wrapped(self, dispatcher, tracker, domain):
        try:
            return await run(self, dispatcher, tracker, domain)
        except ConsentRequiredError as exc:
            log.info("consent.refused action=%s", self.name())
            dispatcher.utter_message(response=exc.message_key)
            return []
    wrapped.__consent_wrapped__ = True  # type: ignore[attr-defined]
    return wrapped


class MedbotAction(Action, abc.ABC):
    """Base class: ``name()`` stays abstract, so rasa_sdk does not register it.

    rasa_sdk instantiates actions without arguments; subclasses accept an
    optional service in their constructor so tests can pass their own.
    Every ``run`` answers a ``ConsentRequiredError`` of the core with its
    bilingual message (consent is enforced in the services, not per action).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is not None and not getattr(run, "__consent_wrapped__", False):
            cls.run = _answers_consent_refusal(run)  # type: ignore[method-assign]

    @abc.abstractmethod
    def name(self) -> str:  # pragma: no cover - abstract
        ...

    @staticmethod
    def language(tracker: Tracker) -> str:
        lang = tracker.get_slot("language")
        return lang if lang in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES[0]

    @staticmethod
    def identity(tracker: Tracker) -> tuple[str, str]:
        """The patient's ``(channel, external id)``, as the channel boundary logs them.

        Read from the tracker's sender id, which the channel boundary namespaced
        (``bot.identity``); never from the latest message's ``input_channel``, which
        a REST caller could choose.
        """
        return split_conversation_id(tracker.sender_id)

    @staticmethod
    def latest_text(tracker: Tracker) -> str:
        return (tracker.latest_message or {}).get("text") or ""

    @staticmethod
    def latest_intent(tracker: Tracker) -> str | None:
        return ((tracker.latest_message or {}).get("intent") or {}).get("name")

    @staticmethod
    def entity_values(tracker: Tracker, entity: str) -> list[Any]:
        return list(tracker.get_latest_entity_values(entity))


class MedbotFormValidation(FormValidationAction, abc.ABC):
    """Form validation that validates answers only.

    rasa_sdk validates every slot set since the last non-slot event, including
    slots an action just *cleared* (``SlotSet(slot, None)``), such as a form
    start resetting a previous run. A cleared slot is not an answer: validating
    it would make every ``validate_<slot>`` complain at once.
    """

    @abc.abstractmethod
    def name(self) -> str:  # pragma: no cover - abstract
        ...

    async def get_validation_events(self, dispatcher, tracker, domain):  # type: ignore[override]
        recently_set = tracker.slots_to_validate
        tracker.slots_to_validate = lambda: {  # type: ignore[method-assign]
            name: value for name, value in recently_set().items() if value is not None}
        try:
            return await super().get_validation_events(dispatcher, tracker, domain)
        finally:
            del tracker.slots_to_validate
