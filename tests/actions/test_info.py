from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.info import ActionHospitalInfo
from bot.hospital import HospitalInfo


def tracker(lang: str) -> Tracker:
    return Tracker("rest:u1", {"language": lang}, {"text": "x", "intent": {"name": "ask_hospital_info"}},
                   [], False, None, {}, "action_listen")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_hospital_info_fills_the_template_in_the_patients_language(lang: str) -> None:
    hospital = HospitalInfo.load()
    dispatcher = CollectingDispatcher()
    await ActionHospitalInfo(hospital).run(dispatcher, tracker(lang), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_hospital_info"
    assert message["hospital_phone"] == hospital.phone
    assert message["hospital_address"] == hospital.address[lang]

