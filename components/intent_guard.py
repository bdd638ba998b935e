"""Rasa graph component: out-of-scope look-alikes of irreversible intents, and numbers alone.

Runs after the intent classifier and before the ``FallbackClassifier``. When the
top intent is one that starts something irreversible or sensitive and the message
names only objects that are not ours ("cancel my Netflix subscription"), the
prediction becomes ``nlu_fallback``; the decision is
:func:`bot.nlp.intent_guard.overrule` (plain Python, tested without Rasa). A
message that is only a number ("65") asks for nothing and becomes ``nlu_fallback``
too, read in context by the fallback (:func:`bot.nlp.intent_guard.number_alone`).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.intent_guard import number_alone, overrule, second_guess

FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class RiskyIntentGuard(GraphComponent):
    """Turns a look-alike of a risky intent into ``nlu_fallback``."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> "RiskyIntentGuard":
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get("intent") or {}
            text = message.get("text") or ""
            if number_alone(text) and intent.get("name") != FALLBACK:
                self._fallback(message, 1.0)  # an answer to the question before it
                continue
            if not overrule(text, intent.get("name")):
                continue
            ranking = message.get("intent_ranking") or []
            guess = second_guess(text, intent.get("name"), ranking)
            if guess is not None:
                # the overruled intent goes last; the FallbackClassifier still judges the guess
                message.set("intent", guess, add_to_output=True)
                message.set("intent_ranking",
                            [guess] + [r for r in ranking if r.get("name") not in
                                       (guess["name"], intent.get("name"))]
                            + [r for r in ranking if r.get("name") == intent.get("name")],
                            add_to_output=True)
            else:
                self._fallback(message, float(intent.get("confidence") or 0.0))
        return messages

    @staticmethod
    def _fallback(message: Message, confidence: float) -> None:
        message.set("intent", {"name": FALLBACK, "confidence": confidence}, add_to_output=True)
        ranking = [r for r in (message.get("intent_ranking") or []) if r.get("name") != FALLBACK]
        message.set("intent_ranking", [{"name": FALLBACK, "confidence": confidence}] + ranking,
                    add_to_output=True)
