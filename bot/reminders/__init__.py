"""Medication reminders and chronic follow-up on a persistent scheduler.

* ``clock``: the injected clock (``SystemClock``, ``FakeClock`` for tests).
* ``config``: ``ReminderConfig`` (reply window, grace, lease, ...) from ``MEDBOT_REMINDER_*``.
* ``kb``: drug names (drugs.yml), follow-up plans and thresholds (followup_plans.yml).
* ``sig``, ``readings``: deterministic zh/en parsers (schedules, course length,
  doses, snooze durations, BP and glucose readings).
* ``planner``: turns reminders and follow-up enrolments into due jobs.
* ``jobs``: what each due job does (dose reminder, nudge, miss, follow-up prompt).
* ``worker``: claims due jobs atomically, sends them, marks them.
* ``service``: reminder use cases behind the chat (create/list/cancel/pause/resume,
  taken/skipped/snoozed); ``readings``: readings, follow-up enrolment, summary.
* ``outbox``: the REST/terminal channel's ``OutboundSender`` and its poll endpoint.
"""
