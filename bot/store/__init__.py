"""Database access: engine/session factory, models, repositories, migrations."""

from bot.store.db import Database
from bot.store.models import Base, Message, Patient

__all__ = ["Database", "Base", "Message", "Patient"]

from bot.store import triage_models  # noqa: E402,F401  (registers TriageRecord on Base)
from bot.store import wechat_models  # noqa: E402,F401  (registers the WeChat tables on Base)
from bot.store import appointment_models  # noqa: E402,F401  (scheduling + re-visit models)
from bot.store import reminder_models  # noqa: E402,F401  (reminders, follow-up, job queue)
from bot.store import handoff_models  # noqa: E402,F401  (consent, handoff, console, audit)
