"""One access_token for every process (wechatpy#684), in the database or in Redis.

Each ``/cgi-bin/token`` call invalidates the previous token, so processes that
fetch their own tokens keep breaking each other. ``SharedTokenClient`` reads the
token from a ``TokenStore`` and refreshes it under a lock that every process
shares: the first process fetches, the others find the new token and use it.

- ``DatabaseTokenStore``: the ``wechat_tokens`` row, locked by the refresh
  transaction (SQLite: the ``BEGIN IMMEDIATE`` write lock; PostgreSQL:
  ``SELECT ... FOR UPDATE``).
- ``RedisTokenStore``: a string key whose Redis TTL is the token's ``expires_in``
  (expiry is read with ``PTTL``, so the Redis server's clock is the only clock),
  refreshed under a redis-py ``Lock`` on ``<key>:lock``.

``token_store(settings, db, key)`` picks one: Redis when ``MEDBOT_REDIS_URL`` is
set, else the database. Every process of one deployment must see the same
``MEDBOT_REDIS_URL``, or the two stores hold two tokens that invalidate each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

import redis
from redis.exceptions import LockNotOwnedError, RedisError
from redis.lock import Lock
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy import WeChatClient

from bot.clock import as_utc, utcnow
from bot.errors import ServiceError
from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatToken

log = logging.getLogger(__name__)

EARLY_REFRESH = timedelta(seconds=120)


class TokenStore(Protocol):
    """Where the shared token lives; every process of a deployment uses the same one."""

    def get(self) -> str | None:
        """The token, or None when there is none or it expires within ``EARLY_REFRESH``."""

    def refresh(self, fetch: Callable[[], dict], stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""


class DatabaseTokenStore:
    """The shared token row of one app id."""

    def __init__(self, db: Database, key: str) -> None:
        self.db = db
        self.key = key

    def get(self) -> str | None:
        with self.db.begin() as session:
            row = session.get(WeChatToken, self.key)
            if row is None or as_utc(row.expires_at) - EARLY_REFRESH <= utcnow():
                return None
            return row.value

    def refresh(self, fetch: Callable[[], dict], stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""
        for _ in range(2):  # a lost first-insert race is retried once
            try:
                with self.db.begin() as session:
                    row = session.execute(select(WeChatToken).where(
                        WeChatToken.key == self.key).with_for_update()).scalar_one_or_none()
                    if (row is not None and row.value != stale
                            and as_utc(row.expires_at) - EARLY_REFRESH > utcnow()):
                        return row.value
                    result = fetch()
                    expires = utcnow() + timedelta(seconds=int(result.get("expires_in", 7200)))
                    if row is None:
                        row = WeChatToken(key=self.key, value=result["access_token"],
                                          expires_at=expires, updated_at=utcnow())
                        session.add(row)
                    else:
                        row.value, row.expires_at = result["access_token"], expires
                    session.flush()
                    log.info("wechat.token.refreshed key=%s", self.key)
                    return row.value
            except IntegrityError:
                continue
        raise RuntimeError("could not store the WeChat access token")


class RedisTokenStore:
    """The shared token of one app id as a Redis key with the token's TTL.

    Args:
        url: ``redis://`` URL; the client is built here, with socket timeouts so
            that a dead Redis fails a send instead of hanging it.
        key: the token's key; the refresh lock is ``<key>:lock``.
        lock_timeout: seconds after which a lock whose holder died is released
            (longer than a token fetch, which times out after 5 s).
        wait: seconds a refresh waits for another process's refresh before it
            gives up with ``ServiceError``.

    Redis failures are raised as ``ServiceError``, which ``WeChatSender`` records
    on the outbox row like any other failed attempt.
    """

    def __init__(self, url: str, key: str, *, lock_timeout: float = 30.0,
                 wait: float = 10.0) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                          socket_connect_timeout=5)
        self.key = key
        self.lock_key = f"{key}:lock"
        self.lock_timeout = lock_timeout
        self.wait = wait

    def get(self) -> str | None:
        try:
            with self.redis.pipeline() as pipe:  # MULTI: value and TTL of the same token
                value, ttl_ms = pipe.get(self.key).pttl(self.key).execute()
        except RedisError as exc:
            raise ServiceError(f"Redis: reading the WeChat access token failed: {exc}") from exc
        if value is None or ttl_ms < EARLY_REFRESH.total_seconds() * 1000:
            return None  # a key without TTL (-1) was not written by us: refresh it too
        return value

    def refresh(self, fetch: Callable[[], dict], stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""
        lock = self.redis.lock(self.lock_key, timeout=self.lock_timeout, sleep=0.05,
                               blocking_timeout=self.wait)
        try:
            if not lock.acquire():
                raise ServiceError(f"the WeChat access token lock {self.lock_key} was not "
                                   f"acquired within {self.wait:g} s")
        except RedisError as exc:
            raise ServiceError(f"Redis: locking the WeChat access token failed: {exc}") from exc
        try:
            current = self.get()
            if current is not None and current != stale:
                return current  # another process refreshed while we waited
            result = fetch()
            expires_in = int(result.get("expires_in", 7200))
            try:
                self.redis.set(self.key, result["access_token"], ex=max(expires_in, 1))
            except RedisError as exc:
                raise ServiceError(f"Redis: storing the WeChat access token failed: {exc}"
                                   ) from exc
            log.info("wechat.token.refreshed key=%s store=redis", self.key)
            return result["access_token"]
        finally:
            self._release(lock)

    def _release(self, lock: Lock) -> None:
        try:
            lock.release()
        except LockNotOwnedError:  # held past lock_timeout; another process may refresh too
            log.warning("wechat.token.lock_expired key=%s", self.lock_key)
        except RedisError:
            log.exception("wechat.token.unlock_failed key=%s", self.lock_key)


def token_store(settings: Settings, db: Database, key: str) -> TokenStore:
    """The one place that chooses: Redis when ``MEDBOT_REDIS_URL`` is set, else ``db``."""
    if settings.redis_url:
        return RedisTokenStore(settings.redis_url, f"medbot:{key}")
    return DatabaseTokenStore(db, key)


class SharedTokenClient(WeChatClient):
    """wechatpy's client with the shared token and a configurable API root.

    ``auto_retry`` is off: wechatpy would refresh and retry without bound;
    ``bot.wechat.sender`` retries a bounded number of times instead.
    """

    def __init__(self, app_id: str, secret: str, api_base: str, store: TokenStore,
                 timeout: float = 5.0) -> None:
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self.store = store

    @property
    def access_token(self) -> str:  # type: ignore[override]
        return self.store.get() or self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None) -> str:
        return self.store.refresh(self._fetch, stale)

    def fetch_access_token(self) -> dict:
        token = self.refresh_token(stale=self.store.get())
        return {"access_token": token}

    def _fetch(self) -> dict:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret},
        )
