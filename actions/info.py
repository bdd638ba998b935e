"""Hospital information."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MedbotAction
from bot.hospital import HospitalInfo


class _HospitalAction(MedbotAction):
    response = ""

    def __init__(self, hospital: HospitalInfo | None = None) -> None:
        self._hospital = hospital

    @property
    def hospital(self) -> HospitalInfo:
        if self._hospital is None:
            self._hospital = HospitalInfo.load()
        return self._hospital

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response=self.response,
                                 **self.hospital.params(self.language(tracker)))
        return []


class ActionHospitalInfo(_HospitalAction):
    response = "utter_hospital_info"

    def name(self) -> str:
        return "action_hospital_info"

