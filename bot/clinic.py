"""The outpatient clinic's services -- booking and online re-visits -- built from ``Settings``
(``bot.app`` builds them once per process).

The appointment and the re-visit actions share them (the re-visit form books too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.appointments.local import LocalScheduling
from bot.appointments.schedule import HospitalSchedule
from bot.appointments.service import AppointmentService
from bot.clock import Clock, service_clock
from bot.kb.drugs import load_drugs
from bot.revisits.catalog import load_conditions
from bot.revisits.eligibility import EligibilityPolicy
from bot.revisits.service import RevisitService
from bot.settings import Settings
from bot.store.db import Database


@dataclass(frozen=True)
class Services:
    appointments: AppointmentService
    revisits: RevisitService
    schedule: HospitalSchedule
    db: Database


def build_services(settings: Settings, db: Database, *,
                   schedule: HospitalSchedule | None = None,
                   clock: Clock | None = None,
                   screen: Callable[[str], object | None] | None = None) -> Services:
    """Services on ``db`` and the settings' knowledge base (no global state);
    ``screen`` finds an emergency in a re-visit's answers (the library default when
    omitted)."""
    kb = settings.knowledge_base_dir
    schedule = schedule or HospitalSchedule.load(kb)
    clock = clock or service_clock(settings)
    appointments = AppointmentService(LocalScheduling(db, schedule), schedule, clock,
                                      patient_timezone=settings.timezone)
    conditions = load_conditions(kb)
    revisits = RevisitService(
        db, EligibilityPolicy(conditions, schedule.evidence_validity_days), load_drugs(kb),
        clock=clock, timezone_name=settings.timezone,
        expected_response_hours=schedule.expected_response_hours, screen=screen)
    return Services(appointments, revisits, schedule, db)
