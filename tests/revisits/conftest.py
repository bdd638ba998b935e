"""Fixtures: catalogues, the policy, a re-visit service with a fixed clock and fake screen."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.clock import FakeClock
from bot.kb.catalog import TermCatalog
from bot.kb.drugs import load_drugs
from bot.revisits.catalog import load_conditions
from bot.revisits.eligibility import EligibilityPolicy, Evidence, RevisitDraft
from bot.revisits.service import RevisitService
from tests.appointments.conftest import clock, schedule, services  # noqa: F401  (shared fixtures)
from tests.consent_double import GRANTED

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


class FakeHit:
    def __init__(self, zh: str, en: str) -> None:
        self.name = {"zh": zh, "en": en}

    def message(self, lang: str | None) -> str:
        return f"⚠️ {self.name.get(lang or 'zh')}"


def fake_screen(text: str):
    return FakeHit("胸痛", "chest pain") if ("胸痛" in text or "chest pain" in text) else None


@pytest.fixture(scope="session")
def conditions() -> TermCatalog:
    return load_conditions()


@pytest.fixture(scope="session")
def drugs() -> TermCatalog:
    return load_drugs()


@pytest.fixture
def policy(conditions) -> EligibilityPolicy:
    return EligibilityPolicy(conditions, validity_days=180)


@pytest.fixture
def revisit_service(db, policy, drugs) -> RevisitService:
    return RevisitService(db, policy, drugs, clock=FakeClock(NOW), screen=fake_screen,
                          expected_response_hours=24, consent=GRANTED)


def good_draft(**changes) -> RevisitDraft:
    base = dict(condition_id="hypertension",
                evidence=Evidence("示例市第一人民医院", date(2026, 9, 1), "原发性高血压", "MZ123"),
                red_flags_negative=True, new_or_worse_symptoms=False,
                drug_ids=("amlodipine",))
    base.update(changes)
    return RevisitDraft(**base)
