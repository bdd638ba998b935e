"""Answers to the offers the bot makes ("需要我帮您预约神经内科吗？").

An action that makes an offer records it in the ``offer_pending`` slot
(``booking``: book ``triage_department``; ``emergency_info``: send the
emergency address and phone). The patient's next message answers it: the
yes/no is read from the words (:func:`bot.nlp.replies.read_offer_reply`,
so "要", "好的", "no thanks", "不用了" work whatever the NLU made of them),
and the NLU intent only decides when the words do not.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments.booking import ActionStartAppointment
from actions.clinic import ClinicAction
from actions.handoff import ActionHandleFallback
from actions.handoff import Services as HandoffServices
from bot.app import current_app
from bot.clinic import Services
from bot.info import HospitalInfoService
from bot.nlp.replies import read_offer_reply
from bot.text.yesno import Reply, read_reply

OFFER_SLOT = "offer_pending"
BOOKING, EMERGENCY_INFO = "booking", "emergency_info"
_INTENT_ANSWER = {"affirm": True, "deny": False}


class ActionAnswerOffer(ClinicAction):
    """Yes starts what was offered (booking with the department filled in); no
    closes politely; an unclear message is handled as any other message."""

    def __init__(self, services: Services | None = None,
                 handoff: HandoffServices | None = None,
                 hospital: HospitalInfoService | None = None) -> None:
        super().__init__(services)
        self._handoff = handoff
        self._hospital = hospital

    def name(self) -> str:
        return "action_answer_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        offer = tracker.get_slot(OFFER_SLOT)
        intent = self.latest_intent(tracker)
        answer = read_offer_reply(self.latest_text(tracker))
        if answer is None:
            answer = _INTENT_ANSWER.get(intent or "")
        done = [SlotSet(OFFER_SLOT, None)]
        if offer == BOOKING and read_reply(self.latest_text(tracker)) is Reply.UNSURE:
            # "no idea", "不知道": no answer either way (the NLU may call it a deny), so
            # the offer is made again and stays open
            department = tracker.get_slot("triage_department")
            names = current_app().triage.knowledge.departments
            name = names[department].name.get(self.language(tracker)) \
                if department in names else ""
            dispatcher.utter_message(response="utter_triage_next_routine", department=name)
            return []
        if answer is None or offer not in (BOOKING, EMERGENCY_INFO):
            if intent in _INTENT_ANSWER:  # a yes/no with no offer open
                dispatcher.utter_message(response="utter_anything_else")
                return done
            # its events too: a late age redoes the assessment, symptoms start the interview
            events = await ActionHandleFallback(self._handoff).run(dispatcher, tracker, domain)
            return [*done, *events]
        if not answer:
            dispatcher.utter_message(response="utter_offer_declined_emergency"
                                     if offer == EMERGENCY_INFO else "utter_offer_declined")
            return done
        if offer == EMERGENCY_INFO:  # where the emergency department is, how to reach it
            reply = (self._hospital or current_app().info).topic_reply(
                "emergency", self.language(tracker))
            dispatcher.utter_message(response=reply.response, **reply.params)
            return done
        # yes to the booking: the booking form starts with the suggested department
        start = ActionStartAppointment(self._services)
        events = start.start_events(tracker, tracker.get_slot("triage_department"))
        return [*done, *events, FollowupAction("appointment_form")]
