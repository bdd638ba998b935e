"""Database access: engine/session factory, models, repositories, migrations."""

from bot.store.db import Database
from bot.store.models import Base, Message, Patient

__all__ = ["Database", "Base", "Message", "Patient"]

from bot.store import triage_models  # noqa: E402,F401  (registers TriageRecord on Base)
from bot.store import wechat_models  # noqa: E402,F401  (registers the WeChat tables on Base)
from bot.store import appointment_models  # noqa: E402,F401  (scheduling)
from bot.store import revisit_models  # noqa: E402,F401  (re-visit requests)
from bot.store import reminder_models  # noqa: E402,F401  (reminders, follow-up, job queue)
from bot.store import consent_models  # noqa: E402,F401  (consent records and prompts)
from bot.store import handoff_models  # noqa: E402,F401  (handoffs)
from bot.store import staff_models  # noqa: E402,F401  (console accounts, sessions, throttle)
from bot.store import audit_models  # noqa: E402,F401  (audit log)
from bot.store import action_replay_models  # noqa: E402,F401  (actions' results per turn)
