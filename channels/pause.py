"""Pause and resume a Rasa conversation around a doctor handoff.

While a handoff is open the channel boundary does not hand patient messages
to Rasa at all, and the tracker carries ``ConversationPaused`` so that nothing
else (a scheduled reminder intent, the red-flag interrupt's turn) makes Rasa
predict either. Closing, cancelling or expiring the handoff appends
``ConversationResumed``; the queued patient messages are in the transcript for
the doctor but were never Rasa turns, so nothing is replayed.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.shared.core.events import ConversationPaused, ConversationResumed

from bot.masking import mask_id

log = logging.getLogger(__name__)


async def set_paused(agent: Any, sender_id: str, paused: bool) -> bool:
    """Pause or resume ``sender_id``'s tracker; returns whether it changed."""
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id)
        if tracker.is_paused() == paused:
            return False
        tracker.update(ConversationPaused() if paused else ConversationResumed())
        await agent.processor.save_tracker(tracker)
    log.info("handoff.tracker_%s sender=%s", "paused" if paused else "resumed", mask_id(sender_id))
    return True
