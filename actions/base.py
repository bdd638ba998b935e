"""Shared base for medbot actions."""

from __future__ import annotations

import abc
import asyncio
import contextvars
import functools
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from bot.action_replay import turn_key
from bot.app import current_app
from bot.errors import ConsentRequiredError
from bot.identity import split_conversation_id
from bot.nlp.replies import hospital_topic, is_exit, is_question
from bot.settings import SUPPORTED_LANGUAGES

log = logging.getLogger(__name__)
# set to the form's name when the patient left it; the action after the form reads it
FORM_EXIT_SLOT = "form_exit"


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


_REPLAYING: contextvars.ContextVar[frozenset] = contextvars.ContextVar("replaying",
                                                                       default=frozenset())


def _replayed(run):
    """Exactly once across a crash (``bot.action_replay``): in a turn of a channel that
    retries, an action that already ran in this turn (its process died before Rasa
    saved the turn) answers with what it answered then, without acting again."""
    @functools.wraps(run)
    async def wrapped(self, dispatcher, tracker, domain):
        key = turn_key(self.name(), tracker.sender_id, tracker.latest_message, tracker.events)
        if key is None or key in _REPLAYING.get():  # a subclass's run calling super().run
            return await run(self, dispatcher, tracker, domain)
        replays = current_app().replays
        earlier = await asyncio.to_thread(replays.recall, key)
        if earlier is not None:
            log.warning("action.replayed action=%s", self.name())
            dispatcher.messages.extend(earlier.messages)
            return earlier.events
        before = len(dispatcher.messages)
        token = _REPLAYING.set(_REPLAYING.get() | {key})
        try:
            events = await run(self, dispatcher, tracker, domain)
        finally:
            _REPLAYING.reset(token)
        await asyncio.to_thread(replays.keep, key, list(events or []),
                                dispatcher.messages[before:])
        return events
    return wrapped


class MedbotAction(Action, abc.ABC):
    """Base class: ``name()`` stays abstract, so rasa_sdk does not register it.

    rasa_sdk instantiates actions without arguments; subclasses accept an
    optional service in their constructor so tests can pass their own.
    Every ``run`` answers a ``ConsentRequiredError`` of the core with its
    bilingual message (consent is enforced in the services, not per action), and
    replays its earlier result when a retry runs the same turn again (``bot.action_replay``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is not None and not getattr(run, "__consent_wrapped__", False):
            cls.run = _replayed(_answers_consent_refusal(run))  # type: ignore[method-assign]

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
    """Form validation shared by every form: exits, questions, answers only.

    Before any ``validate_<slot>`` runs on the patient's answer to the requested slot:

    * **Exit.** A message that is *only* an exit ("算了", "算了 不用了", "stop",
      "never mind"; :func:`bot.nlp.replies.is_exit`) ends the form:
      ``requested_slot`` is cleared, :data:`FORM_EXIT_SLOT` names the form and
      :attr:`exit_updates` are applied, so the action after the form says what
      was kept (nothing saved). "算了还是说中文吧 妇产科" is an answer, not an exit.
    * **A question inside the form** ("how much is parking", "要带什么") is
      answered with the hospital information and the same question is asked
      again; the question is never stored as the answer.

    It then validates answers only: rasa_sdk validates every slot set since the
    last non-slot event, including slots an action just *cleared*
    (``SlotSet(slot, None)``), such as a form start resetting a previous run. A
    cleared slot is not an answer: validating it would make every
    ``validate_<slot>`` complain at once.
    """

    #: slot values that tell the action after the form that the patient stopped
    exit_updates: dict[str, Any] = {}

    @abc.abstractmethod
    def name(self) -> str:  # pragma: no cover - abstract
        ...

    def cancel_is_exit(self, slot: str) -> bool:
        """Whether "取消"/"cancel" leaves the form at ``slot`` (not where it may be the answer)."""
        return True

    @staticmethod
    def answered_slot(tracker: Tracker) -> str | None:
        """The requested slot, when the patient's latest message was just read into it."""
        requested = tracker.get_slot("requested_slot")
        if not requested:
            return None
        value = tracker.slots_to_validate().get(requested)
        return requested if isinstance(value, str) and value.strip() else None

    def looks_like_answer(self, slot: str, text: str, tracker: Tracker) -> bool:
        """Whether ``text`` answers the question at ``slot`` ("下周六上午可以吗？"
        asked for the day); forms override it. Default: cannot tell."""
        return False

    def is_digression(self, text: str, tracker: Tracker, slot: str | None = None) -> bool:
        """A hospital-information question asked instead of an answer.

        A named topic (parking, fees, ...) is one; a question the NLU took for
        hospital information is one only when it does not answer the question
        asked (a date put as a question is the date)."""
        if hospital_topic(text) is not None:
            return True
        if MedbotAction.latest_intent(tracker) != "ask_hospital_info" or not is_question(text):
            return False
        return not (slot and self.looks_like_answer(slot, text, tracker))

    async def answer_digression(self, dispatcher, tracker: Tracker, domain) -> None:
        from actions.info import ActionHospitalInfo  # actions.info imports this module

        await ActionHospitalInfo().run(dispatcher, tracker, domain)

    async def next_requested_slot(self, dispatcher, tracker, domain):  # type: ignore[override]
        """No next question after an exit: forms with their own ``required_slots``
        (triage) would otherwise ask the pending question again and never end."""
        if (tracker.get_slot(FORM_EXIT_SLOT) == self.form_name()
                and tracker.get_slot("requested_slot") is None):
            return None
        return await super().next_requested_slot(dispatcher, tracker, domain)

    async def get_validation_events(self, dispatcher, tracker, domain):  # type: ignore[override]
        answered = self.answered_slot(tracker)
        if answered is not None:
            text = tracker.slots_to_validate()[answered]
            if is_exit(text, cancel=self.cancel_is_exit(answered)):
                log.info("form.exit form=%s slot=%s", self.form_name(), answered)
                updates = {answered: None, **self.exit_updates, "requested_slot": None,
                           FORM_EXIT_SLOT: self.form_name()}
                return [SlotSet(slot, value) for slot, value in updates.items()]
            if self.is_digression(text, tracker, answered):
                log.info("form.digression form=%s slot=%s", self.form_name(), answered)
                await self.answer_digression(dispatcher, tracker, domain)
                dispatcher.utter_message(response="utter_form_resume")
                return [SlotSet(answered, None)]
        recently_set = tracker.slots_to_validate
        tracker.slots_to_validate = lambda: {  # type: ignore[method-assign]
            name: value for name, value in recently_set().items() if value is not None}
        try:
            return await super().get_validation_events(dispatcher, tracker, domain)
        finally:
            del tracker.slots_to_validate
