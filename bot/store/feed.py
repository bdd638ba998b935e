"""Which conversations have new transcript rows: a wake-up call for live views.

Every append to ``messages`` (``MessageRepository.append``) announces its
conversation id; the doctor console's live stream waits on it instead of asking
the database every second, and still re-reads the database after each wake-up
(the announcement carries no data, only "look again").

- PostgreSQL: ``pg_notify`` inside the writing transaction, so the call goes out
  when (and only if) the rows are committed, to every process that listens on the
  same database -- a patient message logged by one Rasa server wakes the stream
  a doctor holds open on another. One listening connection per process (a
  thread), opened by the first subscriber; after it reconnects, every subscriber
  is woken once (a call may have been missed while it was down).
- SQLite (one process): the announcement is kept on the session and delivered
  in-process after the commit.

Subscribers also wake on their own timeout, so a lost call costs latency, not data.
"""

from __future__ import annotations

import asyncio
import logging
import select
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from bot.store.db import Database

log = logging.getLogger(__name__)

CHANNEL = "medbot_transcript"
PENDING = "medbot_feed_pending"  # session.info key: conversations announced in it (SQLite)
DATABASE = "medbot_database"  # session.info key: the Database the session belongs to
RECONNECT_SECONDS = 2.0


def announce(session: Session, conversation_id: str) -> None:
    """Say, when ``session`` commits, that ``conversation_id`` has new rows."""
    if session.get_bind().dialect.name == "postgresql":
        # NOTIFY is transactional: delivered on commit, dropped on rollback, and a
        # repeated payload in one transaction is delivered once.
        session.execute(text("SELECT pg_notify(:channel, :conversation)"),
                        {"channel": CHANNEL, "conversation": conversation_id})
    else:
        session.info.setdefault(PENDING, set()).add(conversation_id)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    database = session.info.get(DATABASE)
    if pending and database is not None:
        database.feed.publish(pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


class Subscription:
    """Wake-ups for one conversation, on the event loop that subscribed.

    Starts "woken": the caller's first ``wait`` returns at once, so a row written
    between the caller's last read and the subscription is never missed.
    """

    def __init__(self, feed: TranscriptFeed, conversation_id: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.feed = feed
        self.conversation_id = conversation_id
        self.loop = loop
        self._event = asyncio.Event()
        self._event.set()

    def wake(self) -> None:
        """Thread-safe: from the listener thread or a committing worker thread."""
        try:
            self.loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    async def wait(self, timeout: float) -> bool:
        """True when woken (something may have changed), False after ``timeout``."""
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), max(timeout, 0))
            except asyncio.TimeoutError:
                return False
        self._event.clear()
        return True

    def close(self) -> None:
        self.feed._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class TranscriptFeed:
    """The announcements of one database, as seen by this process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self._listener: _Listener | None = None

    @property
    def shared(self) -> bool:
        """Announcements reach other processes (PostgreSQL)."""
        return self.db.dialect == "postgresql"

    def subscribe(self, conversation_id: str,
                  loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        """Wake-ups for ``conversation_id`` on ``loop`` (default: the running one).

        On PostgreSQL the first subscriber starts the listener and waits until
        ``LISTEN`` is in place (a few seconds at most): from a coroutine, call it in a
        thread with the loop given.
        """
        sub = Subscription(self, conversation_id, loop or asyncio.get_running_loop())
        with self._lock:
            self._subscribers.setdefault(conversation_id, set()).add(sub)
            if self.shared and self._listener is None:
                self._listener = _Listener(self)
                self._listener.start()
            listener = self._listener
        if listener is not None:
            listener.ready.wait(5.0)  # a listener still connecting: subscribers time out instead
        return sub

    def publish(self, conversation_ids: Iterable[str]) -> None:
        """Wake the subscribers of these conversations (in this process)."""
        with self._lock:
            subs = [s for c in set(conversation_ids) for s in self._subscribers.get(c, ())]
        for sub in subs:
            sub.wake()

    def wake_all(self) -> None:
        with self._lock:
            subs = [s for group in self._subscribers.values() for s in group]
        for sub in subs:
            sub.wake()

    def listeners(self) -> int:
        """Subscriptions open in this process (tests, health)."""
        with self._lock:
            return sum(len(group) for group in self._subscribers.values())

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            group = self._subscribers.get(sub.conversation_id)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._subscribers[sub.conversation_id]

    def close(self) -> None:
        """Stop the listener (``Database.dispose``)."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()


class _Listener(threading.Thread):
    """``LISTEN medbot_transcript`` on a connection of its own, for the process's life."""

    def __init__(self, feed: TranscriptFeed) -> None:
        super().__init__(name="medbot-transcript-feed", daemon=True)
        self.feed = feed
        self.ready = threading.Event()
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(5.0)

    def run(self) -> None:
        first = True
        while not self._halt.is_set():
            try:
                self._listen(first)
            except Exception as exc:  # noqa: BLE001 - the database went away: reconnect
                log.warning("transcript_feed.disconnected error=%s", type(exc).__name__)
            first = False
            self._halt.wait(RECONNECT_SECONDS)

    def _listen(self, first: bool) -> None:
        pooled = self.feed.db.engine.raw_connection()
        pooled.detach()  # its own connection for good, never back in the pool
        conn = pooled.connection
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            if not first:  # calls made while it was reconnecting are lost: look again
                self.feed.wake_all()
            log.info("transcript_feed.listening")
            while not self._halt.is_set():
                readable, _, _ = select.select([conn], [], [], 1.0)
                if not readable:
                    continue
                conn.poll()
                if conn.notifies:
                    payloads = [n.payload for n in conn.notifies]
                    conn.notifies.clear()
                    self.feed.publish(payloads)
        finally:
            pooled.close()
