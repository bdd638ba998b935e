"""Scheduler and reminder settings, from the typed ``MEDBOT_REMINDER_*`` fields of ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.settings import Settings


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
            reply_window=timedelta(minutes=settings.reminder_reply_minutes),
            grace=timedelta(minutes=settings.reminder_grace_minutes),
            lease=timedelta(minutes=settings.reminder_lease_minutes),
            default_snooze=timedelta(minutes=settings.reminder_snooze_minutes),
            timezone=settings.timezone,
        )
