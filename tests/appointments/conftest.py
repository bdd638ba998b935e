"""Fixtures: the demo timetable, a fixed clock, a loaded database, the service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.appointments.interface import PatientRef
from bot.appointments.loader import load_schedule
from bot.appointments.local import LocalScheduling
from bot.appointments.schedule import HospitalSchedule
from bot.appointments.service import AppointmentService
from bot.store.db import Database

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Sunday 22 November 2026, 10:00 in Shanghai
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


@pytest.fixture(scope="session")
def schedule() -> HospitalSchedule:
    return HospitalSchedule.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def loaded_db(db: Database, schedule: HospitalSchedule) -> Iterator[Database]:
    load_schedule(db, schedule, NOW)
    yield db


@pytest.fixture
def backend(loaded_db: Database, schedule: HospitalSchedule) -> LocalScheduling:
    return LocalScheduling(loaded_db, schedule)


@pytest.fixture
def service(backend: LocalScheduling, schedule: HospitalSchedule,
            clock: FakeClock) -> AppointmentService:
    return AppointmentService(backend, schedule, clock)


def patient(n: int = 1) -> PatientRef:
    return PatientRef("test", f"user-{n}")


def make_tracker(slots: dict | None = None, text: str = "", *, intent: str | None = None,
                 entities: list[dict] | None = None, active_loop: str | None = None,
                 sender: str = "user-1", lang: str = "zh"):
    """A rasa_sdk Tracker as the action server receives it."""
    from rasa_sdk import Tracker

    all_slots = {"language": lang, **(slots or {})}
    return Tracker(
        sender_id=f"test:{sender}", slots=all_slots,  # namespaced by the channel boundary
        latest_message={"text": text, "intent": {"name": intent}, "entities": entities or []},
        events=[{"event": "user", "text": text, "input_channel": "test"}], paused=False,
        followup_action=None, active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen")


@pytest.fixture
def services(sqlite_db: Database, schedule: HospitalSchedule, clock: FakeClock):
    """Services on a loaded SQLite database with the fixed clock (for action tests)."""
    from bot.kb.drugs import load_drugs
    from bot.revisits.catalog import load_conditions
    from bot.revisits.eligibility import EligibilityPolicy
    from bot.clinic import Services
    from bot.revisits.service import RevisitService
    from tests.consent_double import GRANTED

    load_schedule(sqlite_db, schedule, NOW)
    appointments = AppointmentService(LocalScheduling(sqlite_db, schedule), schedule, clock)
    revisits = RevisitService(sqlite_db, EligibilityPolicy(load_conditions(), 180), load_drugs(),
                              clock=clock, expected_response_hours=24, consent=GRANTED)
    return Services(appointments, revisits, schedule, sqlite_db)


_MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image",
                 "attachment"}


def texts(dispatcher, lang: str = "zh") -> list[str]:
    """What the dispatcher sent, rendered like Rasa would (responses with their params)."""
    from bot.i18n import t

    out = []
    for message in dispatcher.messages:
        if message.get("response"):
            params = {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}
            out.append(t(message["response"], lang, **params))
        else:
            out.append(message.get("text") or "")
    return out
