"""Erase Rasa's copy of a conversation (every text and slot of the tracker).

``delete_my_data`` runs in the action server, in the middle of a turn; Rasa
saves the tracker at the end of that turn, re-inserting whatever was deleted
before. So the erasure runs when the patient confirms it, in the conversation
gate (``GateDecision.erase``, the message never reaches Rasa), or an action
signals (``bot.consent.rights.ERASE_SIGNAL``, a custom payload the channel
boundary intercepts and never forwards); either way the boundary erases the
tracker here, under the conversation's lock.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore

from bot.masking import mask_id

log = logging.getLogger(__name__)


async def erase_tracker(agent: Any, sender_id: str) -> int:
    """Delete the stored tracker of ``sender_id``; returns how many events went."""
    async with agent.lock_store.lock(sender_id):
        store = agent.tracker_store
        inner = getattr(store, "_tracker_store", store)  # Rasa's FailSafeTrackerStore
        deleted = 0
        if isinstance(inner, SQLTrackerStore):
            with inner.session_scope() as session:
                deleted = session.query(inner.SQLEvent).filter(
                    inner.SQLEvent.sender_id == sender_id).delete(synchronize_session=False)
                session.commit()
        elif isinstance(inner, InMemoryTrackerStore):
            deleted = int(inner.store.pop(sender_id, None) is not None)
        else:
            log.error("tracker.erase_unsupported store=%s", type(inner).__name__)
        fallback = getattr(store, "_fallback_tracker_store", None)
        if isinstance(fallback, InMemoryTrackerStore):
            fallback.store.pop(sender_id, None)
    log.info("tracker.erased conversation=%s events=%d", mask_id(sender_id), deleted)
    return deleted
