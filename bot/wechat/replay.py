"""Each signed WeChat push is accepted once: a nonce cache shared by every process.

``check_timestamp`` bounds a push's age to ``replay_window``; within it, a push
captured on the wire could be sent again, and in plaintext mode (where the query
``signature`` covers token, timestamp and nonce, not the body) with another body.
The guard remembers the (timestamp, nonce, signature) of every accepted push until
its timestamp leaves the window, in a store that every process shares:

- ``DatabaseReplayGuard``: one ``wechat_replay`` row per push; its primary key makes
  the second use fail in any process (SQLite and PostgreSQL). Rows whose window has
  passed are pruned, at most once a minute per process.
- ``RedisReplayGuard``: ``SET key NX EX <rest of the window>``; Redis expires it.

``replay_guard(settings, db, window)`` picks Redis when ``MEDBOT_REDIS_URL`` is set.
A store that cannot answer refuses the push (503) instead of accepting it unchecked.

WeChat's own retries of one message (same MsgId, ~5 s apart) are assumed to be signed
anew, with a new timestamp and nonce, like every push; they pass the guard and the
exactly-once claim (``WeChatState.claim``) answers them without running the bot again.
A retry that reused its first attempt's query would be refused (403) here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

import redis
from redis.exceptions import RedisError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatReplay
from bot.wechat.protocol import ProtocolError

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 60.0
Clock = Callable[[], float]


class ReplayGuard(Protocol):
    def first_use(self, timestamp: str, nonce: str, signature: str,
                  now: float | None = None) -> bool:
        """Remember the push; False when it was seen before within the window.

        Raises:
            ProtocolError: 503 when the store cannot answer.
        """


def replay_key(timestamp: str, nonce: str, signature: str) -> str:
    """A fixed-size key for the triple (the signature's case does not matter)."""
    raw = "\n".join((timestamp, nonce, signature.lower()))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _expiry(timestamp: str, window: int) -> int:
    """When the push's timestamp leaves the window (``check_timestamp`` refuses it then)."""
    try:
        return int(timestamp) + window
    except ValueError as exc:
        raise ProtocolError("bad timestamp", 400) from exc


class DatabaseReplayGuard:
    """The nonce cache in the ``wechat_replay`` table."""

    def __init__(self, db: Database, window: int, clock: Clock = time.time,
                 prune_every: float = PRUNE_EVERY_SECONDS) -> None:
        self.db = db
        self.window = window
        self.clock = clock
        self.prune_every = prune_every
        self._pruned_at = -math.inf

    def first_use(self, timestamp: str, nonce: str, signature: str,
                  now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        expires = datetime.fromtimestamp(_expiry(timestamp, self.window), timezone.utc)
        try:
            with self.db.begin() as session:
                session.add(WeChatReplay(replay_key=replay_key(timestamp, nonce, signature),
                                         expires_at=expires))
                session.flush()
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise ProtocolError(f"replay cache unavailable: {type(exc).__name__}", 503) from exc
        if now - self._pruned_at >= self.prune_every:
            self._pruned_at = now
            try:  # its own transaction: the push is accepted whatever happens here
                self.prune(now)
            except SQLAlchemyError:
                log.exception("wechat.replay.prune_failed")
        return True

    def prune(self, now: float | None = None) -> int:
        """Delete the entries whose window has passed; returns how many."""
        moment = datetime.fromtimestamp(self.clock() if now is None else now, timezone.utc)
        with self.db.begin() as session:
            result = session.execute(delete(WeChatReplay).where(
                WeChatReplay.expires_at < moment))
            return result.rowcount or 0


class RedisReplayGuard:
    """The nonce cache as Redis keys that expire with the push's window."""

    def __init__(self, url: str, window: int, prefix: str = "medbot:wechat:replay",
                 clock: Clock = time.time) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.window = window
        self.prefix = prefix
        self.clock = clock

    def first_use(self, timestamp: str, nonce: str, signature: str,
                  now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        ttl = max(math.ceil(_expiry(timestamp, self.window) - now), 1)
        key = f"{self.prefix}:{replay_key(timestamp, nonce, signature)}"
        try:
            return bool(self.redis.set(key, b"1", nx=True, ex=ttl))
        except RedisError as exc:
            raise ProtocolError(f"replay cache unavailable: {type(exc).__name__}", 503) from exc


def replay_guard(settings: Settings, db: Database, window: int) -> ReplayGuard:
    """The one place that chooses: Redis when ``MEDBOT_REDIS_URL`` is set, else ``db``.

    Every process of a deployment must see the same ``MEDBOT_REDIS_URL`` (as for the
    shared access token), or a push replayed to the other store is not recognised.
    """
    if settings.redis_url:
        return RedisReplayGuard(settings.redis_url, window)
    return DatabaseReplayGuard(db, window)
