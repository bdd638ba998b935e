"""Which departments can be booked online, and the nearest bookable one when not.

What can be booked is the timetable (``HospitalSchedule.department_ids()``: a
department with at least one doctor in ``hospital_schedule.yml``). Where to go
instead, and why, is data: ``knowledge_base/booking_alternatives.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.appointments.schedule import HospitalSchedule
from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.settings import SUPPORTED_LANGUAGES


@dataclass(frozen=True)
class Alternative:
    """Bookable departments to offer instead of one, nearest first, and why."""

    to: tuple[str, ...]
    reason: dict[str, str]


@dataclass(frozen=True)
class BookingChoice:
    """What to offer for booking when triage suggests ``ideal``.

    ``department`` is bookable, or None when nothing can be booked online
    (``reason`` then says what to do instead). ``reason`` is None when
    ``ideal`` itself is bookable.
    """

    ideal: str
    department: str | None
    reason: dict[str, str] | None = None

    @property
    def substituted(self) -> bool:
        return self.department != self.ideal


class BookableDepartments:
    """The bookable departments of one hospital and the way round the others."""

    def __init__(self, bookable: set[str], known: set[str],
                 alternatives: Mapping[str, Alternative], default: Alternative,
                 version: str = "") -> None:
        self.bookable = frozenset(bookable)
        self.known = frozenset(known)
        self.alternatives = dict(alternatives)
        self.default = default
        self.version = version

    @classmethod
    def load(cls, schedule: HospitalSchedule | None = None,
             kb_dir: Path | None = None) -> BookableDepartments:
        """From the timetable and ``booking_alternatives.yml``.

        Raises:
            KnowledgeBaseError: unknown department ids, a reason without zh or en.
        """
        schedule = schedule or HospitalSchedule.load(kb_dir)
        data = load_kb_file("booking_alternatives", kb_dir)
        known = set(schedule.departments)
        try:
            default = _alternative("default", data["default"], known)
            alternatives = {dep: _alternative(dep, entry, known)
                            for dep, entry in (data.get("alternatives") or {}).items()}
        except (KeyError, TypeError) as exc:
            raise KnowledgeBaseError(f"booking_alternatives.yml: {exc!r}") from exc
        unknown = set(alternatives) - known
        if unknown:
            raise KnowledgeBaseError(
                f"booking_alternatives.yml: unknown departments {sorted(unknown)}")
        return cls(schedule.department_ids(), known, alternatives, default, data["version"])

    def is_bookable(self, department_id: str | None) -> bool:
        return department_id in self.bookable

    def bookable_alternative(self, department_id: str) -> BookingChoice:
        """The department to offer for booking instead of ``department_id``, and why.

        A bookable department is offered itself. Otherwise the first bookable
        department of its alternatives (or the default's) is offered with the
        reason; when none is bookable, ``department`` is None.
        """
        if department_id in self.bookable:
            return BookingChoice(department_id, department_id)
        alternative = self.alternatives.get(department_id, self.default)
        offered = next((d for d in alternative.to if d in self.bookable), None)
        if offered is None and department_id not in self.alternatives:
            return BookingChoice(department_id, None, self.default.reason)
        return BookingChoice(department_id, offered, alternative.reason)


def _alternative(name: str, entry: Mapping[str, Any], known: set[str]) -> Alternative:
    to = tuple(entry.get("to") or ())
    unknown = [d for d in to if d not in known]
    if unknown:
        raise KnowledgeBaseError(f"booking_alternatives.yml: {name}: unknown departments {unknown}")
    reason = dict(entry["reason"])
    missing = set(SUPPORTED_LANGUAGES) - {lang for lang, text in reason.items() if text}
    if missing:
        raise KnowledgeBaseError(f"booking_alternatives.yml: {name}: reason lacks {sorted(missing)}")
    return Alternative(to, reason)
