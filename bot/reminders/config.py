"""Scheduler and reminder settings, read from ``Settings.extra`` (``MEDBOT_REMINDER_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.errors import ConfigError
from bot.settings import Settings


def _minutes(settings: Settings, key: str, default: float) -> timedelta:
    raw = settings.extra.get(key)
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number of minutes, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{key} must be positive")
    return timedelta(minutes=value)


@dataclass(frozen=True)
class ReminderConfig:
    """Attributes:
        reply_window: no reply this long after a reminder -> one nudge; as long again -> missed.
        grace: a reminder due longer ago than this (after downtime) is not sent but marked missed.
        lease: how long a claimed job is held before another worker may take it over.
        horizon: how far ahead doses and prompts are planned.
        default_snooze: "later" without a duration.
        miss_streak: consecutive missed doses that flag the patient for the care team.
        timezone: default patient time zone.
        idempotent_channels: channels whose sender drops a repeated idempotency key, so a
            send interrupted by a crash may be repeated; on the others it is not repeated.
    """

    reply_window: timedelta = timedelta(minutes=60)
    grace: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=2)
    horizon: timedelta = timedelta(hours=48)
    default_snooze: timedelta = timedelta(minutes=30)
    miss_streak: int = 3
    timezone: str = "Asia/Shanghai"
    idempotent_channels: frozenset[str] = frozenset({"rest", "cli"})

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderConfig:
        return cls(
            reply_window=_minutes(settings, "MEDBOT_REMINDER_REPLY_MINUTES", 60),
            grace=_minutes(settings, "MEDBOT_REMINDER_GRACE_MINUTES", 30),
            lease=_minutes(settings, "MEDBOT_REMINDER_LEASE_MINUTES", 2),
            default_snooze=_minutes(settings, "MEDBOT_REMINDER_SNOOZE_MINUTES", 30),
            timezone=settings.timezone,
        )
