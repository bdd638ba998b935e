"""The atomic Redis lock store (components/lock_store.py) against a real Redis, with
several processes taking one conversation's lock at once."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from urllib.parse import urlsplit

import pytest
import redis

PROCESSES, TURNS = 4, 8


def _store(redis_url: str):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    parts = urlsplit(redis_url)
    # built the way Rasa builds a lock store of a custom type from endpoints.yml
    return LockStore.create(EndpointConfig(
        url=parts.hostname, type="components.lock_store.AtomicRedisLockStore",
        port=parts.port or 6379, db=int(parts.path.lstrip("/") or 0), key_prefix="medbottest"))


def _turns(redis_url: str, conversation: str, counter: str) -> None:
    """TURNS turns of one conversation, each a read-then-write that a second turn
    running at the same time would lose."""
    store = _store(redis_url)
    red = redis.Redis.from_url(redis_url)

    async def turn() -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            value = int(red.get(counter) or 0)
            await asyncio.sleep(0.005)
            red.set(counter, value + 1)

    async def run() -> None:
        for _ in range(TURNS):
            await turn()

    asyncio.run(run())


def test_rasa_builds_it_from_the_endpoints(redis_url: str) -> None:
    from rasa.core.lock_store import RedisLockStore

    from components.lock_store import AtomicRedisLockStore

    store = _store(redis_url)
    assert isinstance(store, AtomicRedisLockStore) and isinstance(store, RedisLockStore)
    assert store.key_prefix.startswith("medbottest:")


def test_one_conversations_turns_run_one_at_a_time_across_processes(redis_url: str) -> None:
    conversation, counter = f"c-{uuid.uuid4().hex}", f"medbottest-counter-{uuid.uuid4().hex}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_turns, args=(redis_url, conversation, counter))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert all(worker.exitcode == 0 for worker in workers)
    red = redis.Redis.from_url(redis_url)
    try:
        assert int(red.get(counter)) == PROCESSES * TURNS  # no turn ran beside another
        assert _store(redis_url).get_lock(conversation) is None  # the last one cleaned up
    finally:
        red.delete(counter)


def test_tickets_issued_at_once_are_all_kept(redis_url: str) -> None:
    store = _store(redis_url)
    conversation = f"c-{uuid.uuid4().hex}"

    def issue(_: int) -> int:
        return store.issue_ticket(conversation)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        tickets = list(pool.map(issue, range(40)))
    assert sorted(tickets) == list(range(40))
    lock = store.get_lock(conversation)
    assert lock is not None and len(lock.tickets) == 40
    for ticket in tickets:
        store.cleanup(conversation, ticket)
    assert store.get_lock(conversation) is None


@pytest.mark.parametrize("ticket_left", [True, False])
def test_cleanup_keeps_the_lock_only_while_someone_waits(redis_url: str, ticket_left) -> None:
    store = _store(redis_url)
    conversation = f"c-{uuid.uuid4().hex}"
    first = store.issue_ticket(conversation)
    if ticket_left:
        store.issue_ticket(conversation)
    store.cleanup(conversation, first)
    assert (store.get_lock(conversation) is not None) is ticket_left
    store.delete_lock(conversation)
