"""Hospital information: a thin adapter over ``bot.info.HospitalInfoService``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.app import current_app
from bot.info import HospitalInfoService


class ActionHospitalInfo(MedbotAction):
    """Answers the topic asked about (parking, fees, hours, ...), or gives the
    general card and the list of topics."""

    def __init__(self, service: HospitalInfoService | None = None) -> None:
        self._service = service

    @property
    def service(self) -> HospitalInfoService:
        return self._service or current_app().info

    def name(self) -> str:
        return "action_hospital_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        department = next(iter(self.entity_values(tracker, "department")), None)
        for reply in self.service.answer(self.latest_text(tracker), self.language(tracker),
                                         department):
            dispatcher.utter_message(response=reply.response, **reply.params)
        return []
