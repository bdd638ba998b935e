"""The hospital timetable knowledge base (``knowledge_base/hospital_schedule.yml``)
and the departments it refers to (``knowledge_base/departments.yml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.kb.departments import Department, load_departments

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SESSIONS = ("am", "pm")


@dataclass(frozen=True)
class SessionTimes:
    id: str
    start: time
    end: time
    names: dict[str, str]


@dataclass(frozen=True)
class Title:
    id: str
    names: dict[str, str]
    fee_cents: int


@dataclass(frozen=True)
class WeeklySession:
    weekday: int  # Monday = 0
    session: str
    capacity: int


@dataclass(frozen=True)
class DoctorSpec:
    id: str
    department: str
    title: str
    names: dict[str, str]
    schedule: tuple[WeeklySession, ...]


@dataclass(frozen=True)
class HospitalSchedule:
    """Doctors, weekly sessions, fees and booking/re-visit policy of one hospital."""

    version: str
    timezone: str
    horizon_days: int
    cancel_cutoff_hours: float
    sessions: dict[str, SessionTimes]
    titles: dict[str, Title]
    doctors: tuple[DoctorSpec, ...]
    departments: dict[str, Department]
    evidence_validity_days: int = 180
    expected_response_hours: int = 24

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def session_bounds(self, day: date, session: str) -> tuple[datetime, datetime]:
        """Start and end of a half-day session, timezone-aware (hospital time)."""
        times = self.sessions[session]
        return (datetime.combine(day, times.start, self.tz),
                datetime.combine(day, times.end, self.tz))

    def session_of(self, at: time) -> str:
        """The session a clock time falls in (before 12:45 is the morning)."""
        return "am" if at < time(12, 45) else "pm"

    def department_ids(self) -> set[str]:
        return {doctor.department for doctor in self.doctors}

    def match_department(self, text: str) -> str | None:
        """A department id named in ``text`` (id, zh/en name or synonym), longest match."""
        if not text:
            return None
        lowered = text.strip().lower()
        if lowered in self.departments:
            return lowered
        best: tuple[int, str] | None = None
        for dep in self.departments.values():
            for term in dep.terms():
                term_l = term.lower()
                if _contains(lowered, term_l) and (best is None or len(term_l) > best[0]):
                    best = (len(term_l), dep.id)
        return best[1] if best else None

    @classmethod
    def load(cls, kb_dir: Path | None = None) -> HospitalSchedule:
        """Load and check the timetable and departments.

        Raises:
            KnowledgeBaseError: missing keys, unknown department/title/weekday/session.
        """
        data = load_kb_file("hospital_schedule", kb_dir)
        departments = load_departments(kb_dir)
        try:
            return _parse(data, departments)
        except (KeyError, TypeError, ValueError) as exc:
            raise KnowledgeBaseError(f"hospital_schedule.yml: {exc!r}") from exc


def _contains(text: str, term: str) -> bool:
    if term.isascii():
        return re.search(rf"(?<![a-z]){re.escape(term)}(?![a-z])", text) is not None
    return term in text


def _hhmm(raw: str) -> time:
    hour, minute = str(raw).split(":")
    return time(int(hour), int(minute))


def _parse(data: dict[str, Any], departments: dict[str, Department]) -> HospitalSchedule:
    tz = str(data.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except ZoneInfoNotFoundError as exc:
        raise KnowledgeBaseError(f"hospital_schedule.yml: unknown timezone {tz!r}") from exc
    sessions = {
        sid: SessionTimes(sid, _hhmm(s["start"]), _hhmm(s["end"]), {"zh": s["zh"], "en": s["en"]})
        for sid, s in data["sessions"].items()
    }
    if set(sessions) != set(SESSIONS):
        raise KnowledgeBaseError(f"hospital_schedule.yml: sessions must be {SESSIONS}")
    titles = {
        tid: Title(tid, {"zh": t["zh"], "en": t["en"]}, round(float(t["fee"]) * 100))
        for tid, t in data["titles"].items()
    }
    doctors = []
    seen: set[str] = set()
    for d in data["doctors"]:
        if d["id"] in seen:
            raise KnowledgeBaseError(f"hospital_schedule.yml: doctor {d['id']!r} twice")
        seen.add(d["id"])
        if d["department"] not in departments:
            raise KnowledgeBaseError(
                f"hospital_schedule.yml: doctor {d['id']!r}: "
                f"unknown department {d['department']!r}")
        if d["title"] not in titles:
            raise KnowledgeBaseError(
                f"hospital_schedule.yml: doctor {d['id']!r}: unknown title {d['title']!r}")
        weekly = []
        for s in d.get("schedule") or []:
            if s["day"] not in WEEKDAYS or s["session"] not in SESSIONS or int(s["capacity"]) <= 0:
                raise KnowledgeBaseError(
                    f"hospital_schedule.yml: doctor {d['id']!r}: bad entry {s}")
            weekly.append(WeeklySession(WEEKDAYS.index(s["day"]), s["session"], int(s["capacity"])))
        keys = [(w.weekday, w.session) for w in weekly]
        if len(keys) != len(set(keys)):
            raise KnowledgeBaseError(f"hospital_schedule.yml: doctor {d['id']!r}: session twice")
        doctors.append(DoctorSpec(d["id"], d["department"], d["title"],
                                  {"zh": d["name"]["zh"], "en": d["name"]["en"]}, tuple(weekly)))
    booking = data.get("booking") or {}
    revisits = data.get("revisits") or {}
    return HospitalSchedule(
        version=data["version"], timezone=tz,
        horizon_days=int(booking.get("horizon_days", 14)),
        cancel_cutoff_hours=float(booking.get("cancel_cutoff_hours", 2)),
        sessions=sessions, titles=titles, doctors=tuple(doctors), departments=departments,
        evidence_validity_days=int(revisits.get("evidence_validity_days", 180)),
        expected_response_hours=int(revisits.get("expected_response_hours", 24)),
    )


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]
