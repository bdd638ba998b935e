"""Exactly once across a crash: an action's result is kept per turn and replayed.

WeChat retries a message that got no answer. When the process that ran the turn died
(SIGKILL, a lost machine) after an action had done its work but before Rasa saved
the turn, the retry runs the turn again on another process from the saved tracker.
Each action asks :meth:`ActionReplays.recall` first: the events and messages of its
earlier run in the same turn come back, and it does not act twice (a booking is not
saved twice, a cancellation not repeated).

A turn is named by the conversation, the channel's own message id (only a channel
that retries gives one) and which run of the action it is in the turn (the same
action may run twice in one turn). Replays are service data of the patient (erased by
``delete_my_data``, ``bot.store.registry``); only the last day's are needed, so each
store also drops the conversation's older ones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.clock import Clock, SystemClock
from bot.store.db import Database
from bot.store.action_replay_models import ActionReplay

log = logging.getLogger(__name__)
KEEP = timedelta(days=1)  # far longer than WeChat's retries (3 tries, 5 s apart)


@dataclass(frozen=True)
class TurnKey:
    conversation_id: str
    message_id: str
    action: str
    nth: int


@dataclass(frozen=True)
class Replay:
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def turn_key(action: str, sender_id: str, latest_message: dict[str, Any] | None,
             events: list[dict[str, Any]]) -> TurnKey | None:
    """The key of this run of ``action`` in the current turn, or None when the
    channel gave no message id of its own (no retries: nothing to replay)."""
    metadata = (latest_message or {}).get("metadata") or {}
    message_id = metadata.get("message_id")
    if not message_id or not sender_id:
        return None
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    nth = sum(1 for e in events[last_user + 1:]
              if e.get("event") == "action" and e.get("name") == action)
    return TurnKey(sender_id, str(message_id)[:100], action, nth)


class ActionReplays:
    """Kept results per turn. A database that cannot answer never stops a turn: the
    action runs (and its result is not kept), as it did before replays existed."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def recall(self, key: TurnKey) -> Replay | None:
        try:
            with self.db.begin() as session:
                row = session.execute(select(ActionReplay.events, ActionReplay.messages).where(
                    ActionReplay.conversation_id == key.conversation_id,
                    ActionReplay.message_id == key.message_id,
                    ActionReplay.action == key.action, ActionReplay.nth == key.nth)).first()
        except SQLAlchemyError as exc:
            log.error("action_replay.recall_failed action=%s error=%s", key.action,
                      type(exc).__name__)
            return None
        return None if row is None else Replay(json.loads(row.events), json.loads(row.messages))

    def keep(self, key: TurnKey, events: list[dict[str, Any]],
             messages: list[dict[str, Any]]) -> None:
        """Store one run's result (a concurrent run that stored it first wins)."""
        now = self.clock.now()
        try:
            with self.db.begin() as session:
                session.execute(delete(ActionReplay).where(
                    ActionReplay.conversation_id == key.conversation_id,
                    ActionReplay.created_at < now - KEEP))
                session.add(ActionReplay(
                    conversation_id=key.conversation_id, message_id=key.message_id,
                    action=key.action, nth=key.nth, events=json.dumps(events, ensure_ascii=False),
                    messages=json.dumps(messages, ensure_ascii=False), created_at=now))
        except IntegrityError:
            pass  # a concurrent run of the same turn kept it first
        except SQLAlchemyError as exc:
            log.error("action_replay.keep_failed action=%s error=%s", key.action,
                      type(exc).__name__)
