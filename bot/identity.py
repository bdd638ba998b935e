"""Who a conversation belongs to: ``<channel>:<external id>``.

Rasa keys a tracker by its sender id alone. If a channel's raw user ids were
used as sender ids, a caller of one channel could name a user of another (a
REST request whose ``sender`` is a WeChat openid) and share that patient's
conversation, slots and records. So every channel's senders live in their own
namespace: the channel boundary turns the id the channel authenticated into
``conversation_id(channel, external_id)`` before Rasa sees it, and actions
recover ``(channel, external_id)`` from the tracker's sender id with
``split_conversation_id`` -- never from anything the request body says.
"""

from __future__ import annotations

import re

from bot.errors import ValidationError

SEPARATOR = ":"
MAX_EXTERNAL_ID = 128  # patients.external_id
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")  # conversation ids fit in 160 characters
# A namespace no channel produces: trackers of the time before namespaces whose
# channel could not be told apart (see migration 0009); nobody can continue them.
LEGACY_CHANNEL = "legacy"


def conversation_id(channel: str, external_id: str) -> str:
    """The conversation (and Rasa tracker) id of one channel identity.

    Raises:
        ValidationError: a malformed channel name, or an empty or too long id.
    """
    if not CHANNEL_NAME.fullmatch(channel or ""):
        raise ValidationError(f"bad channel name {channel!r}")
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise ValidationError("a sender id must have 1 to 128 characters")
    return f"{channel}{SEPARATOR}{external_id}"


def split_conversation_id(value: str) -> tuple[str, str]:
    """``(channel, external_id)`` of a conversation id made by ``conversation_id``.

    Raises:
        ValidationError: the id is not namespaced (it did not come through a channel).
    """
    channel, sep, external_id = (value or "").partition(SEPARATOR)
    if not sep or not CHANNEL_NAME.fullmatch(channel) or not external_id:
        # bot.masking reads this module's channel-name rule, so it is imported here
        from bot.masking import mask_id

        raise ValidationError(f"not a namespaced conversation id: {mask_id(value)}")
    return channel, external_id
