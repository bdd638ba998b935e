"""Human handoff to a licensed doctor: queue, claim, replies, close, timeout."""

from bot.handoff.config import HandoffConfig
from bot.handoff.service import HandoffService, HandoffView, QueuePosition

__all__ = ["HandoffConfig", "HandoffService", "HandoffView", "QueuePosition"]
