"""Home readings (BP, glucose): parse zh/en text, assess against KB thresholds, store.

"血压145/95", "高压150低压100", "空腹血糖7.8", "BP 150 over 100", "sugar 11 this
morning". Thresholds and the response for each level come from
``knowledge_base/followup_plans.yml``. An abnormal reading raises a care-team
flag and the patient is offered a human doctor (the handoff itself is another
issue's). Also: follow-up enrolment and the short health summary.

A number is read whole and with its sign ("血糖 1234" is 1234, "血糖 -5" is -5),
never trimmed into something plausible: :func:`read` refuses an implausible
reading (KB ``plausible`` ranges) with ``utter_reading_implausible`` showing
what the patient wrote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.clock import Clock, as_utc
from bot.consent.guard import ConsentCheck, HealthConsentGuard
from bot.errors import NotFoundError
from bot.i18n import t
from bot.reminders.config import ReminderConfig
from bot.reminders.kb import FollowupKB, FollowupPlan
from bot.reminders.planner import Planner
from bot.reminders.service import ReminderInputError
from bot.store.db import Database
from bot.store.reminder_models import CareTeamFlag, Dose, FollowupEnrolment, Reading
from bot.store.repositories import PatientRepository
from bot.text.normalise import normalise, too_long

# A number is [sign] digits, read whole: it starts at the start of a run of digits and
# ends at its end (longer runs are no reading at all). The sign is kept so that the
# plausibility check refuses "-5" instead of reading 5. BP numbers have 2-4 digits
# ("3/15" is a date, "1500/90" an implausible reading).
_N = r"([-−]?)(?<![\d.])(\d{2,4})(?!\.?\d)"
_N_DECIMAL = r"([-−]?)(?<![\d.])(\d{1,6}(?:\.\d{1,3})?)(?!\.?\d)"
_BP_SLASH = re.compile(rf"{_N}\s*(?:/|over|比|\\)\s*{_N}")
_BP_WORDS = re.compile(rf"(?:高压|收缩压|上压|systolic)\s*(?:是|为|:)?\s*{_N}.{{0,8}}?"
                       rf"(?:低压|舒张压|下压|diastolic)\s*(?:是|为|:)?\s*{_N}")
_GLUCOSE = re.compile(rf"(?:血糖|glucose|sugar|\bbg\b|\bbs\b)\D{{0,12}}?{_N_DECIMAL}\s*"
                      r"(mmol/?l|mg/?dl|毫摩尔)?")
_FASTING = re.compile(r"空腹|早餐前|fasting|before breakfast")
_AFTER_MEAL = re.compile(r"餐后|饭后|after (?:a )?(?:meals?|eating|food|lunch|dinner)|post-?meal")


@dataclass(frozen=True)
class ParsedReading:
    kind: str  # bp | glucose
    unit: str
    systolic: int | None = None
    diastolic: int | None = None
    value: float | None = None
    context: str | None = None  # fasting | postprandial | random
    written: str = ""  # the value as the patient wrote it ("1234", "-5", "150/-90")

    def display(self, lang: str) -> str:
        """The reading in words ("血压 145/95 mmHg", "fasting glucose 7.8 mmol/L")."""
        if self.kind == "bp":
            return t("utter_reading_value_bp", lang, systolic=self.systolic,
                     diastolic=self.diastolic)
        return t(f"utter_reading_value_glucose_{self.context or 'random'}", lang,
                 value=f"{self.value:g}")


def _signed(sign: str, digits: str) -> float:
    return -float(digits) if sign else float(digits)


def parse_reading(text: str, mg_dl_factor: float = 18.0) -> ParsedReading | None:
    """The reading in ``text`` (possibly implausible, see :func:`plausible`), or None
    when there is none (or the text is too long to be one)."""
    if too_long(text):
        return None
    s = normalise(text)  # also turns "−"/"－" into "-"
    m = _BP_WORDS.search(s) or _BP_SLASH.search(s)
    if m:
        systolic, diastolic = int(_signed(m[1], m[2])), int(_signed(m[3], m[4]))
        return ParsedReading("bp", "mmHg", systolic=systolic, diastolic=diastolic,
                             written=f"{systolic}/{diastolic} mmHg")
    m = _GLUCOSE.search(s)
    if m:
        value = _signed(m[1], m[2])
        unit = (m[3] or "").replace("/", "")
        written = f"{m[1]}{m[2]}" + (f" {m[3]}" if m[3] else "")
        if unit == "mgdl" or (not unit and value > 35):
            value = round(value / mg_dl_factor, 1)
        context = ("fasting" if _FASTING.search(s) else
                   "postprandial" if _AFTER_MEAL.search(s) else "random")
        return ParsedReading("glucose", "mmol/L", value=value, context=context,
                             written=written)
    return None


def read(text: str, thresholds: dict) -> ParsedReading:
    """Parse and check a reading, storing nothing.

    Raises:
        ReminderInputError: no reading in the text (``utter_reading_not_understood``) or
            an implausible one (``utter_reading_implausible`` with the value as written).
    """
    factor = float(thresholds["glucose"].get("mg_dl_factor", 18.0))
    reading = parse_reading(text, factor)
    if reading is None:
        raise ReminderInputError("utter_reading_not_understood", text.strip()[:40])
    if not plausible(reading, thresholds):
        raise ReminderInputError("utter_reading_implausible", reading.written)
    return reading


def assess(reading: ParsedReading, thresholds: dict) -> str:
    """"urgent", "high", "low" or "normal"."""
    if reading.kind == "bp":
        th = thresholds["bp"]
        sys_, dia = reading.systolic or 0, reading.diastolic or 0
        if sys_ >= th["urgent"]["systolic_at_least"] or dia >= th["urgent"]["diastolic_at_least"]:
            return "urgent"
        if sys_ >= th["high"]["systolic_at_least"] or dia >= th["high"]["diastolic_at_least"]:
            return "high"
        if sys_ < th["low"]["systolic_below"]:
            return "low"
        return "normal"
    th = thresholds["glucose"]
    value = reading.value or 0.0
    if value < th["low"]["below"]:
        return "low"
    if value >= th["urgent"]["at_least"]:
        return "urgent"
    limit = th["high"]["fasting_at_least" if reading.context == "fasting" else "other_at_least"]
    return "high" if value >= limit else "normal"


def plausible(reading: ParsedReading, thresholds: dict) -> bool:
    if reading.kind == "bp":
        p = thresholds["bp"]["plausible"]
        return (p["systolic"][0] <= (reading.systolic or 0) <= p["systolic"][1]
                and p["diastolic"][0] <= (reading.diastolic or 0) <= p["diastolic"][1]
                and (reading.systolic or 0) > (reading.diastolic or 0))
    low, high = thresholds["glucose"]["plausible"]["mmol_l"]
    return low <= (reading.value or 0) <= high


@dataclass(frozen=True)
class ReadingOutcome:
    reading: ParsedReading
    level: str
    response: str  # utter_* key
    flagged: bool

    @property
    def offer_doctor(self) -> bool:
        return self.level != "normal"


class ReadingService:
    """Record readings, enrol in follow-up plans, summarise recent health data."""

    def __init__(self, db: Database, clock: Clock, config: ReminderConfig, kb: FollowupKB,
                 planner: Planner | None = None, consent: ConsentCheck | None = None) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.kb = kb
        self.planner = planner or Planner(config.horizon, kb)
        self.consent = consent or HealthConsentGuard()
        self.patients = PatientRepository()

    def record(self, channel: str, external_id: str, text: str) -> ReadingOutcome:
        """Parse, check and store a reading; abnormal ones flag the care team.

        Raises:
            ReminderInputError: no reading in the text, or an implausible one (nothing stored).
        """
        reading = read(text, self.kb.thresholds)
        level = assess(reading, self.kb.thresholds)
        response = self.kb.thresholds[reading.kind]["responses"][level]
        now = self.clock.now()
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            self.consent.require(session, patient.id)
            session.add(Reading(
                patient_id=patient.id, kind=reading.kind, systolic=reading.systolic,
                diastolic=reading.diastolic, value=reading.value, unit=reading.unit,
                context=reading.context, level=level, source_text=text[:500], measured_at=now,
                created_at=now))
            flagged = level != "normal"
            if flagged:
                severity = "urgent" if level in ("urgent", "low") and (
                    reading.kind == "glucose" or level == "urgent") else "routine"
                session.add(CareTeamFlag(
                    patient_id=patient.id, reason="abnormal_reading", severity=severity,
                    status="open", created_at=now, detail_json=json.dumps(
                        {"kind": reading.kind, "level": level, "systolic": reading.systolic,
                         "diastolic": reading.diastolic, "value": reading.value,
                         "condition": self.kb.thresholds[reading.kind].get("condition")})))
        return ReadingOutcome(reading, level, response, flagged)

    def plan_for(self, condition_or_plan: str) -> FollowupPlan:
        plan = self.kb.plans.get(condition_or_plan) or self.kb.plan_for_condition(
            condition_or_plan)
        if plan is None:
            raise NotFoundError(f"no follow-up plan for {condition_or_plan!r}")
        return plan

    def enrol(self, channel: str, external_id: str, condition_or_plan: str, language: str,
              tz: str | None = None) -> tuple[FollowupPlan, datetime | None]:
        """Enrol (idempotently) and plan the prompts; returns the plan and the first prompt."""
        plan = self.plan_for(condition_or_plan)
        now = self.clock.now()
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            self.consent.require(session, patient.id)
            enrolment = session.execute(select(FollowupEnrolment).where(
                FollowupEnrolment.patient_id == patient.id, FollowupEnrolment.plan_id == plan.id,
                FollowupEnrolment.status == "active")).scalar_one_or_none()
            if enrolment is None:
                enrolment = FollowupEnrolment(
                    patient_id=patient.id, plan_id=plan.id, timezone=tz or self.config.timezone,
                    language=language, status="active", planned_until=now, created_at=now)
                session.add(enrolment)
                session.flush()
                self.planner.plan_enrolment(session, enrolment, now)
        zone = ZoneInfo(tz or self.config.timezone)
        local = now.astimezone(zone)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            candidate = datetime.combine(day, plan.at, tzinfo=zone)
            if candidate > local and day.weekday() in plan.weekdays:
                return plan, candidate
        return plan, None

    def summary(self, channel: str, external_id: str, lang: str, days: int = 7) -> str:
        now = self.clock.now()
        since = now - timedelta(days=days)
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            self.consent.require(session, patient.id if patient else None)
            pid = patient.id if patient else -1
            lines = {}
            for kind in ("bp", "glucose"):
                rows = session.execute(select(Reading).where(
                    Reading.patient_id == pid, Reading.kind == kind, Reading.measured_at >= since)
                    .order_by(Reading.measured_at.desc())).scalars().all()
                if not rows:
                    lines[kind] = t(f"utter_health_summary_none_{kind}", lang)
                    continue
                last = rows[0]
                parsed = ParsedReading(kind, last.unit, last.systolic, last.diastolic, last.value,
                                       last.context)
                when = as_utc(last.measured_at).astimezone(ZoneInfo(self.config.timezone))
                lines[kind] = t(f"utter_health_summary_{kind}", lang, count=len(rows),
                                last=parsed.display(lang), when=when.strftime("%m-%d %H:%M"))
            counts = dict(session.execute(select(Dose.status, func.count()).where(
                Dose.patient_id == pid, Dose.scheduled_at >= since, Dose.scheduled_at <= now)
                .group_by(Dose.status)).all())
        return t("utter_health_summary", lang, days=days, bp=lines["bp"], glucose=lines["glucose"],
                 taken=counts.get("taken", 0), skipped=counts.get("skipped", 0),
                 missed=counts.get("missed", 0))
