"""The clock every scheduling decision reads; injected, never ``datetime.now()`` in logic."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot.store.models import as_utc  # noqa: F401 - re-exported for the reminder modules


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


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
