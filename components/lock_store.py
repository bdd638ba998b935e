"""Rasa's Redis lock store with every change of a lock made atomically.

Rasa 3.6's ``RedisLockStore`` changes a conversation's ticket lock by reading it,
changing it in Python and writing it back (``issue_ticket``, ``update_lock``,
``finish_serving``, ``cleanup``). Two instances that take a message of the same patient
at the same moment can both read the lock before either writes it: one ticket is lost,
both turns run at once, and the SQL tracker store keeps only one of them (the
two-instance test saw a message missing from the tracker). Here each change is a Redis
transaction on the lock's key (``WATCH`` / ``MULTI`` / ``EXEC``, retried when another
process changed the key in between), so tickets are issued and removed one at a time
across every worker and instance. Reading the lock and the waiting loop are Rasa's.

``bot.service.runtime.write_endpoints`` names this class as the lock store whenever
``MEDBOT_REDIS_URL`` is set; it takes the same settings as Rasa's ``redis`` type.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

log = logging.getLogger(__name__)

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose lock changes are Redis transactions."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # as Rasa builds a lock store of a custom type
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str,
                change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Apply ``change`` to the stored lock atomically: it gets the lock (or None)
        and returns the lock to store (None: delete it) and a result."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed this lock in between: again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:  # noqa: BLE001 - Rasa's contract: a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def expire(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket and, in the same transaction, the lock when nobody else
        waits (Rasa's check-then-delete could delete a ticket issued in between)."""
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)
