"""Build the conversation gate and its services from settings (``bot.app`` builds them once)."""

from __future__ import annotations

from collections.abc import Callable

from bot.consent.confirm import SensitiveActions
from bot.consent.guard import protect
from bot.consent.rights import DataRightsService
from bot.consent.service import ConsentService
from bot.consent.texts import RETENTION_YEARS_DEFAULT, ConsentTexts
from bot.handoff.config import HandoffConfig
from bot.handoff.gate import ConversationGate
from bot.handoff.service import HandoffService
from bot.hospital import HospitalInfo
from bot.clock import Clock, service_clock
from bot.reminders.readings import parse_reading
from bot.reminders.service import ReminderService
from bot.settings import Settings
from bot.store.db import Database
from bot.triage.red_flags import RedFlagScreen, default_screen


def health_detector(load_screen: Callable[[], RedFlagScreen] = default_screen,
                    ) -> Callable[[str], bool]:
    """``mentions_health(text)`` over the knowledge base of the screen ``load_screen``
    returns (loaded on the first message, not when the gate is built)."""

    def detect(text: str) -> bool:
        return mentions_health(text, load_screen())

    return detect


def mentions_health(text: str, screen: RedFlagScreen | None = None) -> bool:
    """Whether a message carries health information: a symptom, finding or condition
    from the triage knowledge base, or a blood pressure / glucose reading."""
    if not text or text.startswith("/"):
        return False
    if (screen or default_screen()).scan(text).present_ids():
        return True
    return parse_reading(text) is not None


def retention_years(settings: Settings | None) -> int:
    """Whole years of ``MEDBOT_RETENTION_DAYS`` the consent text promises (at least 3)."""
    if settings is None:
        return RETENTION_YEARS_DEFAULT
    return max(RETENTION_YEARS_DEFAULT, settings.retention_days // 365)


def consent_service(settings: Settings | None = None) -> ConsentService:
    kb = settings.knowledge_base_dir if settings else None
    return ConsentService(ConsentTexts.load(kb, retention_years(settings)))


def handoff_service(db: Database, settings: Settings | None = None, *,
                    clock: Clock | None = None,
                    hospital: HospitalInfo | None = None) -> HandoffService:
    kb = settings.knowledge_base_dir if settings else None
    return HandoffService(db, HandoffConfig.load(kb, settings),
                          clock or (service_clock(settings) if settings else None),
                          hospital=hospital or HospitalInfo.load(kb))


def sensitive_actions(db: Database, settings: Settings | None = None,
                      consent: ConsentService | None = None,
                      hospital: HospitalInfo | None = None) -> SensitiveActions:
    """Confirmed erasure, withdrawal and reminder cancellation (``bot.consent.confirm``)."""
    from bot.clock import SystemClock
    from bot.reminders.config import ReminderConfig
    from bot.kb.drugs import load_drugs

    kb = settings.knowledge_base_dir if settings else None
    consent = consent or consent_service(settings)
    rights = DataRightsService(db, consent, hospital or HospitalInfo.load(kb))
    config = ReminderConfig.from_settings(settings) if settings else ReminderConfig()
    # the service clock (MEDBOT_CLOCK_OFFSET): "just set" and the answer window are
    # measured on the clock the reminders were created with
    clock = service_clock(settings) if settings else SystemClock()
    return SensitiveActions(db, rights, ReminderService(db, clock, config, load_drugs(kb)))


def build_gate(db: Database, settings: Settings | None = None, *,
               consent: ConsentService | None = None,
               handoffs: HandoffService | None = None,
               confirmations: SensitiveActions | None = None,
               screen: Callable[[], RedFlagScreen] = default_screen) -> ConversationGate:
    """The gate on ``db``; the parts given are shared with the process's other
    services (``bot.app``), the others are built from ``settings``; ``screen`` loads
    the red-flag screen whose knowledge base says what is health information."""
    protect(db)  # no health row without consent on the boundary's database either
    consent = consent or consent_service(settings)
    handoffs = handoffs or handoff_service(db, settings)
    return ConversationGate(db, consent, handoffs, health_detector(screen),
                            confirmations=confirmations or sensitive_actions(
                                db, settings, consent, handoffs.hospital))
