"""The composition root: one ``App`` per process, built from ``Settings``.

``App.from_settings(settings)`` owns the one ``Database`` (one engine per process),
the one clock, the knowledge-base loaders (rooted at ``settings.knowledge_base_dir``),
the hospital information, the outbound router and every service. Each part is built
on first use, so a process pays only for what it touches (the action server never
builds the console, the console never loads the reminder plans).

Entry points build it once and hand it down, as rasa_sdk's ``create_app`` and
Starlette's application object do:

- the action server (``components.action_server``) and the Rasa server
  (``components.rasa_server``) ``install`` it as the process's app, because rasa_sdk
  instantiates actions and Rasa instantiates channels without arguments; actions and
  channels read it with ``current_app()``, which says what is missing when no entry
  point installed one;
- the scheduler worker and the CLI commands build their own and pass it on.

Tests build an ``App`` on their own database and clock (``App(settings, db=...,
clock=...)``) or inject services directly into actions and channels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.errors import ConfigError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.appointments.bookable import BookableDepartments
    from bot.appointments.schedule import HospitalSchedule
    from bot.consent.confirm import SensitiveActions
    from bot.consent.rights import DataRightsService
    from bot.consent.service import ConsentService
    from bot.console.factory import ConsoleServices
    from bot.handoff.gate import ConversationGate
    from bot.handoff.offers import HandoffOffers
    from bot.handoff.service import HandoffService
    from bot.hospital import HospitalInfo
    from bot.info import HospitalInfoService
    from bot.outbound import OutboundRouter
    from bot.action_replay import ActionReplays
    from bot.clock import Clock
    from bot.reminders.config import ReminderConfig
    from bot.kb.drugs import DrugCatalog
    from bot.reminders.kb import FollowupKB
    from bot.reminders.outbox import OutboxSender
    from bot.reminders.planner import Planner
    from bot.reminders.readings import ReadingService
    from bot.reminders.service import ReminderService
    from bot.clinic import Services as BookingServices
    from bot.store.db import Database
    from bot.triage.case import RedFlagHit
    from bot.triage.pipeline import Triage
    from bot.triage.red_flags import RedFlagScreen
    from bot.triage.service import TriageService

T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801 - used like ``functools.cached_property``
    """A part built on first use, once, even when two threads ask at the same time
    (actions run their database work in threads)."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, app: Any, owner: type | None = None) -> T:
        if app is None:
            return self  # type: ignore[return-value]
        try:
            return app.__dict__[self.name]
        except KeyError:
            pass
        with app._lock:
            if self.name not in app.__dict__:
                app.__dict__[self.name] = self.build(app)
            return app.__dict__[self.name]


class App:
    """Everything one process of medbot needs, built once from ``Settings``.

    Args:
        settings: the process's settings (``Settings.from_env()`` at the entry point).
        db: a database to use instead of ``settings.database_url`` (tests).
        clock: a clock to use instead of the service clock (tests).
    """

    def __init__(self, settings: Settings, *, db: Database | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._owns_db = db is None
        if db is not None:
            self.__dict__["db"] = db
        if clock is not None:
            self.__dict__["clock"] = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> App:
        return cls(settings)

    @property
    def kb_dir(self) -> Path:
        return self.settings.knowledge_base_dir

    # ---------------------------------------------------------------- infrastructure
    @lazy
    def db(self) -> Database:
        """The process's one database (one engine, one pool)."""
        from bot.store.db import Database

        return Database.from_settings(self.settings)

    @lazy
    def clock(self) -> Clock:
        """The service clock (``MEDBOT_CLOCK_OFFSET`` shifts it in every process alike)."""
        from bot.clock import service_clock

        return service_clock(self.settings)

    def dispose(self) -> None:
        """Close the database's connections (only a database this app opened)."""
        if self._owns_db and "db" in self.__dict__:
            self.db.dispose()

    # ---------------------------------------------------------------- knowledge base
    @lazy
    def hospital(self) -> HospitalInfo:
        from bot.hospital import HospitalInfo

        return HospitalInfo.load(self.kb_dir)

    @lazy
    def schedule(self) -> HospitalSchedule:
        from bot.appointments.schedule import HospitalSchedule

        return HospitalSchedule.load(self.kb_dir)

    @lazy
    def drugs(self) -> DrugCatalog:
        """The medicines reminders know (``drugs.yml``)."""
        from bot.kb.drugs import load_drugs

        return load_drugs(self.kb_dir)

    @lazy
    def followup_kb(self) -> FollowupKB:
        from bot.reminders.kb import FollowupKB

        return FollowupKB.load(self.kb_dir)

    @lazy
    def info(self) -> HospitalInfoService:
        """Answers to hospital questions (parking, fees, hours, ...)."""
        from bot.info import HospitalInfoService

        return HospitalInfoService.load(self.kb_dir, self.schedule)

    @lazy
    def bookable(self) -> BookableDepartments:
        """What triage may offer to book online."""
        from bot.appointments.bookable import BookableDepartments

        return BookableDepartments.load(self.schedule, self.kb_dir)

    @lazy
    def triage(self) -> Triage:
        """The triage pipeline: the rules of the settings' knowledge base and the
        understanding model of ``settings.models_dir`` (rules only, logged, when it
        has not been built), loaded once; ``screen`` is the pipeline's."""
        from bot.triage import learned
        from bot.triage.kb import default_knowledge
        from bot.triage.pipeline import Triage

        model = learned.load_for(self.settings.models_dir, self.settings.project_root)
        return Triage(default_knowledge(self.kb_dir), model)

    @lazy
    def screen(self) -> RedFlagScreen:
        """The pipeline's red-flag screen (same knowledge base and model)."""
        return self.triage.screen

    @lazy
    def screen_text(self) -> Callable[..., RedFlagHit | None]:
        """``screen_text(text, lang=None)``: the screen as a function that never raises
        (a screen that cannot load lets the message through, logged)."""
        from bot.triage.red_flags import screening

        return screening(lambda: self.screen)

    # ---------------------------------------------------------------- services
    @lazy
    def replays(self) -> ActionReplays:
        """Each action's result per turn, for a retry that runs the turn again."""
        from bot.action_replay import ActionReplays

        return ActionReplays(self.db, self.clock)

    @lazy
    def reminder_config(self) -> ReminderConfig:
        from bot.reminders.config import ReminderConfig

        return ReminderConfig.from_settings(self.settings)

    @lazy
    def planner(self) -> Planner:
        from bot.reminders.planner import Planner

        return Planner(self.reminder_config.horizon, self.followup_kb)

    @lazy
    def reminders(self) -> ReminderService:
        from bot.reminders.service import ReminderService

        return ReminderService(self.db, self.clock, self.reminder_config, self.drugs,
                               self.planner)

    @lazy
    def readings(self) -> ReadingService:
        from bot.reminders.readings import ReadingService

        return ReadingService(self.db, self.clock, self.reminder_config, self.followup_kb,
                              self.planner)

    @lazy
    def bookings(self) -> BookingServices:
        """Appointments and re-visits."""
        from bot.clinic import build_services

        return build_services(self.settings, self.db, schedule=self.schedule, clock=self.clock,
                              screen=self.screen_text)

    @lazy
    def consent(self) -> ConsentService:
        from bot.handoff.factory import consent_service

        return consent_service(self.settings)

    @lazy
    def handoffs(self) -> HandoffService:
        from bot.handoff.factory import handoff_service

        return handoff_service(self.db, self.settings, clock=self.clock, hospital=self.hospital)

    @lazy
    def offers(self) -> HandoffOffers:
        from bot.handoff.offers import HandoffOffers

        return HandoffOffers(self.consent, self.handoffs)

    @lazy
    def rights(self) -> DataRightsService:
        from bot.consent.rights import DataRightsService

        return DataRightsService(self.db, self.consent, self.hospital)

    @lazy
    def confirmations(self) -> SensitiveActions:
        """Confirmed erasure, consent withdrawal and reminder cancellation."""
        from bot.consent.confirm import SensitiveActions

        return SensitiveActions(self.db, self.rights, self.reminders)

    @lazy
    def gate(self) -> ConversationGate:
        """Consent and handoff state, before the bot sees a message (channels)."""
        from bot.handoff.factory import build_gate

        return build_gate(self.db, self.settings, consent=self.consent, handoffs=self.handoffs,
                          confirmations=self.confirmations, screen=lambda: self.screen)

    @lazy
    def triage_records(self) -> TriageService:
        """Stores triage decisions; health-data consent is enforced on the store."""
        from bot.consent.guard import protect
        from bot.triage.service import TriageService

        return TriageService(protect(self.db), self.triage)

    @lazy
    def outbox(self) -> OutboxSender:
        """The REST channel's outbox (proactive messages a REST client fetches)."""
        from bot.reminders.outbox import OutboxSender

        return OutboxSender(self.db, self.clock)

    @lazy
    def router(self) -> OutboundRouter:
        """Proactive messages, each through its patient's channel."""
        from bot.outbound import build_router

        return build_router(self.settings, self.db, self.outbox)

    @lazy
    def console(self) -> ConsoleServices:
        """The doctor console's services."""
        from bot.console.factory import build_console

        return build_console(self.settings, self.db, router=self.router,
                             handoffs=self.handoffs)


_current: App | None = None
_current_lock = threading.Lock()


def install(app: App) -> App:
    """Make ``app`` the process's app (the entry point of a server does this once)."""
    global _current
    with _current_lock:
        _current = app
    return app


def uninstall() -> None:
    global _current
    with _current_lock:
        _current = None


def current_app() -> App:
    """The app the process's entry point installed.

    Raises:
        ConfigError: none was installed: the code runs outside ``medbot run``'s
            servers (start them with ``python -m components.action_server`` or
            ``python -m components.rasa_server``), or a test did not install one.
    """
    app = _current
    if app is None:
        raise ConfigError("no medbot App in this process: the entry point must call "
                          "bot.app.install(App.from_settings(settings)) before serving "
                          "(components.action_server and components.rasa_server do)")
    return app
