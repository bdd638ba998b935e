"""The clock every time-dependent decision reads, and the one reading of stored times.

Logic gets the clock injected and never calls ``datetime.now()``: tests move a
:class:`FakeClock`, and ``MEDBOT_CLOCK_OFFSET`` shifts every process of a service alike.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Protocol, overload
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """Now, timezone-aware UTC (column defaults and :class:`SystemClock`)."""
    return datetime.now(timezone.utc)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite drops it, and every value is written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class OffsetClock:
    """The system clock shifted by a fixed offset (``MEDBOT_CLOCK_OFFSET``): every
    process of a service given the same offset agrees on the simulated time, which
    runs at real speed."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def service_clock(settings: Settings) -> Clock:
    """The clock of a service built from ``settings`` (the system clock unless shifted)."""
    if not settings.clock_offset_seconds:
        return SystemClock()
    log.warning("clock.offset seconds=%d (simulated time; never in production)",
                settings.clock_offset_seconds)
    return OffsetClock(timedelta(seconds=settings.clock_offset_seconds))


def offset_until(time_of_day: time, tz: str, now: datetime) -> int:
    """Seconds from ``now`` to the next ``time_of_day`` in ``tz`` (0 if it is now): the
    ``MEDBOT_CLOCK_OFFSET`` that starts a service at that local time."""
    local = now.astimezone(ZoneInfo(tz))
    target = local.replace(hour=time_of_day.hour, minute=time_of_day.minute,
                           second=time_of_day.second, microsecond=0)
    if target < local.replace(microsecond=0):
        target += timedelta(days=1)
    return round((target - local).total_seconds())


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta or timedelta(**kwargs)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(timezone.utc)
