"""Reminder settings from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import ConfigError
from bot.reminders.config import ReminderConfig
from bot.settings import Settings


def test_defaults_and_overrides() -> None:
    assert ReminderConfig.from_settings(Settings.from_env({})).reply_window == timedelta(hours=1)
    config = ReminderConfig.from_settings(Settings.from_env({
        "MEDBOT_REMINDER_REPLY_MINUTES": "45", "MEDBOT_REMINDER_GRACE_MINUTES": "10",
        "MEDBOT_TIMEZONE": "Asia/Urumqi"}))
    assert (config.reply_window, config.grace, config.timezone) == (
        timedelta(minutes=45), timedelta(minutes=10), "Asia/Urumqi")


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_bad_values_fail_at_start(value: str) -> None:
    with pytest.raises(ConfigError):
        ReminderConfig.from_settings(Settings.from_env({"MEDBOT_REMINDER_REPLY_MINUTES": value}))
