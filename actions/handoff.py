"""Doctor handoff offers and the patient's data rights: thin adapters.

The offer records a pending handoff consent question (``bot.handoff.offers``);
the channel boundary's conversation gate handles the answer, queues the
handoff and pauses this conversation.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.consent.confirm import SensitiveActions
from bot.consent.rights import DataRightsService
from bot.app import App, current_app
from bot.handoff.factory import sensitive_actions
from bot.handoff.offers import HandoffOffers

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Services:
    offers: HandoffOffers
    rights: DataRightsService
    confirmations: SensitiveActions | None = None  # None: built from ``rights``' database


def services_of(app: App) -> Services:
    """The handoff and data-rights services of the action server's app."""
    return Services(app.offers, app.rights, app.confirmations)


class HandoffAction(MedbotAction):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or services_of(current_app())

    @property
    def confirmations(self) -> SensitiveActions:
        services = self.services
        return services.confirmations or sensitive_actions(
            services.rights.db, None, services.rights.consent, services.rights.hospital)


async def offer_handoff(offers: HandoffOffers, tracker: Tracker,
                        dispatcher: CollectingDispatcher, reason: str, lang: str,
                        department: str | None = None,
                        extra: dict[str, Any] | None = None) -> None:
    """Utter the handoff explanation and consent question (shared by other features)."""
    channel, sender = MedbotAction.identity(tracker)
    texts = await asyncio.to_thread(offers.offer, channel, sender, reason, lang,
                                    department, extra)
    for text in texts:
        dispatcher.utter_message(text=text)


class ActionOfferHandoff(HandoffAction):
    """``request_human``: explain that a licensed doctor will read the chat, ask consent."""

    def name(self) -> str:
        return "action_offer_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        department = tracker.get_slot("triage_department")
        await offer_handoff(self.services.offers, tracker, dispatcher, "request_human",
                            self.language(tracker), department)
        return []


class ActionHandleFallback(HandoffAction):
    """Out of scope: the usual answer, and a doctor offer after two in a row."""

    def __init__(self, services: Services | None = None, reminders: Any = None,
                 triage: Any = None) -> None:
        super().__init__(services)
        self._reminders = reminders  # actions.reminders.Services (default: the process's)
        self._triage = triage  # bot.triage.Triage (default: the process's)

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        from actions.reminders import ActionCancelMedicationReminder
        from bot.reminders.request import pauses_a_reminder

        if pauses_a_reminder(self.latest_text(tracker)):
            # "resume reminders", "恢复提醒" the NLU was unsure of: about an existing
            # reminder, answered as such (never "I didn't get that")
            return await ActionCancelMedicationReminder(self._reminders).change_status(
                dispatcher, tracker)
        late = await self._late_age(tracker)
        if late:
            # "65" once the advice is out: the age the interview asked for, given late;
            # the assessment is redone with it (never "I didn't get that")
            return [*late, FollowupAction("action_triage_result")]
        from actions.triage import ActionStartTriage

        started = await ActionStartTriage().begin_if_symptoms(dispatcher, tracker, self._triage)
        if started:
            # "my 9 month old has a blocked nose…" the NLU did not recognise: the patient
            # is describing symptoms, so the interview starts (never "I didn't get that")
            return started
        if consecutive_fallbacks(tracker) >= 2:
            await offer_handoff(self.services.offers, tracker, dispatcher, "fallbacks",
                                self.language(tracker))
        else:
            dispatcher.utter_message(response="utter_default")
        return []


    async def _late_age(self, tracker: Tracker) -> list[dict[str, Any]]:
        """Slot updates when the message is the patient's age, sent right after a triage
        result given without it; otherwise none."""
        from bot.triage import interview

        text = self.latest_text(tracker)
        if (_last_action(tracker) != "action_triage_result" or not tracker.get_slot("triage_text")
                or tracker.get_slot("triage_age") not in (None, interview.UNKNOWN)
                or not _LATE_AGE.fullmatch(text.strip())):
            return []
        triage = self._triage or current_app().triage
        slots = {name: tracker.get_slot(name) for name in ("triage_text", "triage_asked_flag",
                                                           "triage_flag_answers")}
        updates = interview.record_answer(triage, slots, "triage_age", text)
        if not updates or updates.get("triage_age") in (None, interview.UNKNOWN):
            return []
        return [SlotSet(name, value) for name, value in updates.items()]


# a bare age: "65", "65岁", "六十五", "he's 65", "65 years old"
_LATE_AGE = re.compile(r"(?:(?:he|she|i|dad|mum|mom)(?:'s| is| am)\s*)?"
                       r"(?:\d{1,3}|[一二两三四五六七八九十百]{1,4})\s*(?:岁|周岁|了|years?(?: old)?|yrs?|yo)?[.。!！]?",
                       re.IGNORECASE)


def _last_action(tracker: Tracker) -> str | None:
    """The bot's last action before the patient's latest message (not listening)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood: a message
    the NLU could not classify but an active form took as its answer ("不知道" to
    "how old is the patient?") was understood."""
    count = 0
    answered_by = None  # the action that ran after the user message being looked at
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            answered_by = event.get("name")
            continue
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT or (
                answered_by is not None and answered_by != "action_handle_fallback"):
            break
        count += 1
        answered_by = None
    return count


class ActionWithdrawConsent(HandoffAction):
    """Asks to confirm, naming what stops; the conversation gate runs it on a clear yes
    to that question (``bot.consent.confirm``)."""

    def name(self) -> str:
        return "action_withdraw_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        channel, sender = self.identity(tracker)
        text = await asyncio.to_thread(self.confirmations.request_withdrawal, channel, sender,
                                       self.language(tracker))
        dispatcher.utter_message(text=text)
        return []


class ActionDeleteMyData(HandoffAction):
    """The core decides what the patient asked to delete: all data only on an explicit
    phrase ("删除我的所有数据"), then confirmed; "删了吧" after a reminder was set means
    that reminder; otherwise the patient is asked what to delete. The deletion runs in
    the conversation gate on the answer (which also erases Rasa's tracker)."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        channel, sender = self.identity(tracker)
        text = await asyncio.to_thread(self.confirmations.request_erasure, channel, sender,
                                       self.latest_text(tracker), self.language(tracker))
        dispatcher.utter_message(text=text)
        return []
