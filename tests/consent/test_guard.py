"""Health-data consent is enforced at the core: every service that processes health
information refuses without current consent and works with it; proactive sends stop
at once on withdrawal. (Fails on main: none of the services asks for consent, issue 15
harmful case 2: a reminder was saved and sent after "不同意".)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.appointments.interface import PatientRef
from bot.consent.guard import protect, vital_interests
from bot.consent.rights import DataRightsService
from bot.errors import ConsentRequiredError, PermissionDeniedError
from bot.handoff.factory import consent_service
from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.kb.drugs import load_drugs
from bot.revisits.catalog import load_conditions
from bot.revisits.eligibility import EligibilityPolicy, Evidence, RevisitDraft
from bot.revisits.service import RevisitService
from bot.store.db import Database
from bot.store.reminder_models import Dose, FollowupEnrolment, MedicationReminder, Reading
from bot.store.revisit_models import RevisitRequest
from bot.store.triage_models import TriageRecord
from bot.triage.case import TriageCase, TriageResult
from bot.triage.pipeline import Assessment
from bot.triage.service import TriageService
from tests.consent.helpers import decide
from tests.reminders.conftest import Stack, local, make_stack

CH = "wechat"
_RESULT = TriageResult(level="routine", departments=("neurology",), reasons=(), red_flags=(),
                       safety_net=(), missing=(), ruleset="test")


@pytest.fixture
def real(db: Database):
    """A reminder stack with the real consent guard (not the tests' stand-in)."""
    s = make_stack(db, local(2026, 11, 22, 7, 0), consent=None)
    yield s
    for worker in s.workers:
        worker.close()


def _reminder(s: Stack, who: str):
    return s.service.create(CH, who, s.service.draft("缬沙坦", "80mg", "每天早上7点"), "zh")


def _count(db: Database, model) -> int:
    with db.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _revisit(s: Stack, who: str):
    service = RevisitService(s.db, EligibilityPolicy(load_conditions(), 180), load_drugs(),
                             clock=s.clock, screen=lambda _t: None)
    draft = RevisitDraft(condition_id="hypertension",
                         evidence=Evidence("示例市第一人民医院", date(2026, 9, 1), "原发性高血压",
                                           "MZ123"),
                         red_flags_negative=True, new_or_worse_symptoms=False,
                         drug_ids=("amlodipine",))
    return service.submit(PatientRef(CH, who), draft)


def _triage(s: Stack, who: str):
    """Stored through ``TriageService`` on a protected database (bot.triage cannot ask)."""
    assessment = Assessment(TriageCase(language="zh"), _RESULT)
    return TriageService(protect(s.db), triage=object()).record(  # type: ignore[arg-type]
        assessment, text="头痛三天", channel=CH, conversation_id=f"{CH}:{who}")


def _dose_answer(s: Stack, who: str):
    return s.service.respond(CH, who, "taken")


@dataclass(frozen=True)
class Use:
    name: str
    call: Callable[[Stack, str], object]
    table: type | None  # where it would store health information
    needs_reminder: bool = False


USES = [
    Use("reminder.create", _reminder, MedicationReminder),
    Use("reminder.list", lambda s, w: s.service.list(CH, w), None, needs_reminder=True),
    Use("reminder.resume", lambda s, w: s.service.set_status(CH, w, "active"), None,
        needs_reminder=True),
    Use("dose.taken", _dose_answer, None, needs_reminder=True),
    Use("reading.record", lambda s, w: s.readings.record(CH, w, "血压145/95"), Reading),
    Use("followup.enrol", lambda s, w: s.readings.enrol(CH, w, "hypertension", "zh"),
        FollowupEnrolment),
    Use("summary", lambda s, w: s.readings.summary(CH, w, "zh"), None),
    Use("revisit.submit", _revisit, RevisitRequest),
    Use("triage.record", _triage, TriageRecord),
]


def _prepare(s: Stack, who: str, use: Use, decision: str | None) -> None:
    if use.needs_reminder:  # set up while consent was given, then the decision changes
        decide(s.db, CH, who, "granted")
        _reminder(s, who)
        if use.name == "reminder.resume":
            s.service.set_status(CH, who, "paused")
        if use.name == "dose.taken":
            s.clock.set(local(2026, 11, 23, 6, 30))  # tomorrow's dose, taken early
        if decision is not None:
            decide(s.db, CH, who, decision)
    elif decision is not None:
        decide(s.db, CH, who, decision)


@pytest.mark.parametrize("decision", [None, "declined", "withdrawn"])
@pytest.mark.parametrize("use", USES, ids=[u.name for u in USES])
def test_every_health_service_refuses_without_current_consent(real: Stack, use: Use,
                                                                decision: str | None) -> None:
    if use.needs_reminder and decision is None:
        pytest.skip("a reminder exists only after consent")
    who = f"o_{use.name}_{decision}"
    _prepare(real, who, use, decision)
    before = _count(real.db, use.table) if use.table else 0
    with pytest.raises(ConsentRequiredError) as refused:
        use.call(real, who)
    assert isinstance(refused.value, PermissionDeniedError)
    if use.table:
        assert _count(real.db, use.table) == before  # nothing stored
    key = refused.value.message_key
    assert "同意" in t(key, "zh") and "agree" in t(key, "en")


@pytest.mark.parametrize("use", USES, ids=[u.name for u in USES])
def test_every_health_service_works_with_consent(real: Stack, use: Use) -> None:
    who = f"o_{use.name}_ok"
    _prepare(real, who, use, None)
    decide(real.db, CH, who, "granted")
    use.call(real, who)
    if use.table:
        assert _count(real.db, use.table) == 1


def test_emergency_records_do_not_wait_for_consent(real: Stack) -> None:
    with vital_interests():
        _triage(real, "o_emergency")
    assert _count(real.db, TriageRecord) == 1


def test_a_staff_triage_without_a_patient_is_not_refused(real: Stack) -> None:
    assessment = Assessment(TriageCase(language="zh"), _RESULT)
    TriageService(protect(real.db), triage=object()).record(  # type: ignore[arg-type]
        assessment, text="头痛", channel="cli")
    assert _count(real.db, TriageRecord) == 1


def _deliveries(s: Stack) -> list[str]:
    return [m.kind for m in s.sender.sent]


def test_reminders_and_followups_stop_at_once_on_withdrawal(real: Stack) -> None:
    who = "o_withdraws"
    decide(real.db, CH, who, "granted")
    _reminder(real, who)
    real.readings.enrol(CH, who, "hypertension", "zh")
    real.run_at(local(2026, 11, 23, 7, 1))  # the first 07:00 dose
    assert "reminder" in _deliveries(real)
    sent = len(real.sender.sent)
    DataRightsService(real.db, consent_service(), HospitalInfo.load()).withdraw(CH, who, "zh")
    for day in range(8):  # the nudge, a week of doses, Monday's follow-up: nothing is sent
        real.run_at(local(2026, 11, 23, 8, 30) + timedelta(days=day))
    assert len(real.sender.sent) == sent
    with real.db.begin() as session:
        assert session.execute(select(func.count()).select_from(Dose).where(
            Dose.status.in_(("scheduled", "snoozed")))).scalar_one() == 0


def test_the_worker_sends_nothing_after_a_refusal_recorded_without_withdrawal(
        real: Stack) -> None:
    """A decline recorded directly (e.g. by another path) still stops every send: the
    scheduler asks the guard before each proactive message."""
    who = "o_declines_later"
    decide(real.db, CH, who, "granted")
    _reminder(real, who)
    real.readings.enrol(CH, who, "hypertension", "zh")
    decide(real.db, CH, who, "declined")
    real.run_at(local(2026, 11, 22, 7, 1))
    real.run_at(local(2026, 11, 23, 8, 1))
    real.run_at(local(2026, 11, 24, 8, 1))
    assert real.sender.sent == []
    assert _count(real.db, MedicationReminder) == 1
