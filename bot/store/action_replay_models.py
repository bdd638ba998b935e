"""What each action answered in a turn, kept so that a retry replays it.

A channel that retries (WeChat) may run a turn twice: the process that ran it died
after an action had done its work (a booking saved, a reminder cancelled) but before
Rasa saved the turn. The retry on another process runs the turn again from the
saved tracker; each action then finds its earlier result here and answers with it
instead of acting twice (``bot.turns.replay``).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Text, UniqueConstraint

from bot.clock import utcnow
from bot.store.models import Base, BigId


class ActionReplay(Base):
    """One action's events and messages in one turn: the ``nth`` run of ``action``
    after the patient's message ``message_id`` of ``conversation_id``."""

    __tablename__ = "action_replays"
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_id", "action", "nth",
                         name="uq_action_replays_turn"),
        Index("ix_action_replays_created", "created_at"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    conversation_id = Column(String(200), nullable=False)
    message_id = Column(String(100), nullable=False)
    action = Column(String(100), nullable=False)
    nth = Column(Integer, nullable=False)
    events = Column(Text, nullable=False)  # JSON: the events the action returned
    messages = Column(Text, nullable=False)  # JSON: what it told the patient
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
