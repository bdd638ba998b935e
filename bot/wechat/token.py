"""One access_token for every process (wechatpy#684), in the database or in Redis.

The token comes from ``POST /cgi-bin/stable_token`` (getStableAccessToken): unlike
the classic ``/cgi-bin/token`` call (which wechatpy uses, and each call of which
invalidates the previous token), a normal call returns the same token while it is
valid, so medbot's processes and the hospital's other systems sharing the AppID do
not invalidate each other. ``force_refresh`` (which does invalidate the token for
everyone) is used only when the API rejected the token with 40001 *and* a normal
call hands out that same token again, and only within the platform's limits (20 a
day, 30 s apart), counted in a ledger every process shares (``ForceLimits``).

``SharedTokenClient`` reads the token from a ``TokenStore`` and refreshes it under
a lock that every process shares: the first process fetches, the others find the
new token and use it.

- ``DatabaseTokenStore``: the ``wechat_tokens`` row (token and force-refresh
  ledger), locked by the refresh transaction (SQLite: the ``BEGIN IMMEDIATE`` write
  lock; PostgreSQL: ``SELECT ... FOR UPDATE``).
- ``RedisTokenStore``: a string key whose Redis TTL is the token's ``expires_in``
  (expiry is read with ``PTTL``, so the Redis server's clock is the only clock),
  refreshed under a redis-py ``Lock`` on ``<key>:lock``; the ledger is the hash
  ``<key>:force``.

``token_store(settings, db, key)`` picks one: Redis when ``MEDBOT_REDIS_URL`` is
set, else the database. Every process of one deployment must see the same
``MEDBOT_REDIS_URL``, or the two stores hold two tokens that invalidate each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import redis
from redis.exceptions import LockNotOwnedError, RedisError
from redis.lock import Lock
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from requests import RequestException
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.clock import Clock, SystemClock, as_utc
from bot.errors import ServiceError
from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatToken

log = logging.getLogger(__name__)

EARLY_REFRESH = timedelta(seconds=120)
INVALID_CREDENTIAL = 40001
# the platform refused a force refresh: the day's 20 are used up / the last was < 30 s ago
FORCE_DAILY_LIMIT, FORCE_TOO_SOON = 45009, 45011


@dataclass(frozen=True)
class ForceLedger:
    """The force refreshes of one app id on the platform's day ``day``."""

    day: str | None = None  # ISO date in Beijing time
    count: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class ForceLimits:
    """getStableAccessToken's force-refresh limits (the platform's day is Beijing's)."""

    per_day: int = 20
    interval: timedelta = timedelta(seconds=30)
    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")

    def day(self, now: datetime) -> str:
        return now.astimezone(self.tz).date().isoformat()

    def refusal(self, ledger: ForceLedger, now: datetime) -> str | None:
        """Why a force refresh now would break the limits, or None."""
        if ledger.day == self.day(now) and ledger.count >= self.per_day:
            return f"{self.per_day} force refreshes today already"
        if ledger.last_at is not None and now - as_utc(ledger.last_at) < self.interval:
            return f"the last force refresh was less than {self.interval.seconds} s ago"
        return None

    def record(self, ledger: ForceLedger, now: datetime) -> ForceLedger:
        """The ledger with one more force refresh at ``now``."""
        count = ledger.count if ledger.day == self.day(now) else 0
        return ForceLedger(self.day(now), count + 1, now)

    def exhausted(self, ledger: ForceLedger, now: datetime) -> ForceLedger:
        """The ledger after the platform said the day's force refreshes are used up
        (by another system of the hospital sharing the AppID)."""
        return ForceLedger(self.day(now), max(ledger.count, self.per_day), ledger.last_at)


# ``fetch(ledger)`` runs under the store's lock: the token response and the ledger to keep
Fetch = Callable[[ForceLedger], tuple[dict, ForceLedger]]


class TokenStore(Protocol):
    """Where the shared token lives; every process of a deployment uses the same one."""

    def get(self) -> str | None:
        """The token, or None when there is none or it expires within ``EARLY_REFRESH``."""

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""


class DatabaseTokenStore:
    """The shared token row of one app id, with its force-refresh ledger."""

    def __init__(self, db: Database, key: str, clock: Clock | None = None) -> None:
        self.db = db
        self.key = key
        self.clock = clock or SystemClock()

    def get(self) -> str | None:
        with self.db.begin() as session:
            row = session.get(WeChatToken, self.key)
            if row is None or as_utc(row.expires_at) - EARLY_REFRESH <= self.clock.now():
                return None
            return row.value

    def ledger(self) -> ForceLedger:
        with self.db.begin() as session:
            row = session.get(WeChatToken, self.key)
            return ForceLedger() if row is None else _ledger_of(row)

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""
        for _ in range(2):  # a lost first-insert race is retried once
            try:
                with self.db.begin() as session:
                    row = session.execute(select(WeChatToken).where(
                        WeChatToken.key == self.key).with_for_update()).scalar_one_or_none()
                    now = self.clock.now()
                    if (row is not None and row.value != stale
                            and as_utc(row.expires_at) - EARLY_REFRESH > now):
                        return row.value
                    result, ledger = fetch(ForceLedger() if row is None else _ledger_of(row))
                    now = self.clock.now()
                    expires = now + timedelta(seconds=int(result.get("expires_in", 7200)))
                    if row is None:
                        row = WeChatToken(key=self.key, value=result["access_token"],
                                          expires_at=expires, updated_at=now)
                        session.add(row)
                    else:
                        row.value, row.expires_at = result["access_token"], expires
                    row.force_day, row.force_count = ledger.day, ledger.count
                    row.force_last_at = ledger.last_at
                    session.flush()
                    log.info("wechat.token.refreshed key=%s", self.key)
                    return row.value
            except IntegrityError:
                continue
        raise RuntimeError("could not store the WeChat access token")


def _ledger_of(row: WeChatToken) -> ForceLedger:
    return ForceLedger(row.force_day, row.force_count or 0, as_utc(row.force_last_at))


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
        self.force_key = f"{key}:force"
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

    def ledger(self) -> ForceLedger:
        try:
            raw = self.redis.hgetall(self.force_key)
        except RedisError as exc:
            raise ServiceError(f"Redis: reading the force-refresh ledger failed: {exc}") from exc
        if not raw:
            return ForceLedger()
        last = raw.get("last_at")
        return ForceLedger(raw.get("day") or None, int(raw.get("count") or 0),
                           datetime.fromisoformat(last) if last else None)

    def _keep_ledger(self, ledger: ForceLedger) -> None:
        if ledger.day is None:
            return
        mapping = {"day": ledger.day, "count": str(ledger.count),
                   "last_at": ledger.last_at.isoformat() if ledger.last_at else ""}
        with self.redis.pipeline() as pipe:  # MULTI; kept two days, past the platform's day
            pipe.hset(self.force_key, mapping=mapping).expire(self.force_key, 2 * 86400)
            pipe.execute()

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
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
            result, ledger = fetch(self.ledger())
            expires_in = int(result.get("expires_in", 7200))
            try:
                self._keep_ledger(ledger)
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


def token_store(settings: Settings, db: Database, key: str,
                clock: Clock | None = None) -> TokenStore:
    """The one place that chooses: Redis when ``MEDBOT_REDIS_URL`` is set, else ``db``."""
    if settings.redis_url:
        return RedisTokenStore(settings.redis_url, f"medbot:{key}")
    return DatabaseTokenStore(db, key, clock)


class SharedTokenClient(WeChatClient):
    """wechatpy's client with the shared stable token and a configurable API root.

    ``auto_retry`` is off: wechatpy would refresh and retry without bound;
    ``bot.wechat.sender`` retries a bounded number of times instead.
    """

    def __init__(self, app_id: str, secret: str, api_base: str, store: TokenStore,
                 timeout: float = 5.0, clock: Clock | None = None,
                 limits: ForceLimits | None = None) -> None:
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self.store = store
        self.clock = clock or SystemClock()
        self.limits = limits or ForceLimits()

    @property
    def access_token(self) -> str:  # type: ignore[override]
        return self.store.get() or self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None, errcode: int | None = None) -> str:
        """A token other than ``stale``, if the platform gives one; ``errcode`` is the
        API's answer to ``stale`` (only 40001 may lead to a force refresh)."""
        return self.store.refresh(lambda ledger: self._fetch(ledger, stale, errcode), stale)

    def fetch_access_token(self) -> dict:
        token = self.refresh_token(stale=self.store.get())
        return {"access_token": token}

    def _fetch(self, ledger: ForceLedger, stale: str | None, errcode: int | None
               ) -> tuple[dict, ForceLedger]:
        result = self._stable_token(force=False)
        if errcode != INVALID_CREDENTIAL or stale is None or result["access_token"] != stale:
            return result, ledger  # a token the API has not rejected
        # the platform hands out again the token its API just rejected: only a force
        # refresh replaces it, and it invalidates the token for every system on the AppID
        now = self.clock.now()
        refusal = self.limits.refusal(ledger, now)
        if refusal is not None:
            log.warning("wechat.token.force_refresh_skipped reason=%s", refusal)
            return result, ledger
        ledger = self.limits.record(ledger, now)  # counted even if the call fails
        try:
            forced = self._stable_token(force=True)
        except WeChatClientException as exc:
            if exc.errcode == FORCE_DAILY_LIMIT:
                ledger = self.limits.exhausted(ledger, now)
            log.warning("wechat.token.force_refresh_refused errcode=%s", exc.errcode)
            return result, ledger
        except RequestException as exc:
            log.warning("wechat.token.force_refresh_failed error=%s", type(exc).__name__)
            return result, ledger
        log.info("wechat.token.force_refreshed count_today=%d", ledger.count)
        return forced, ledger

    def _stable_token(self, force: bool) -> dict:
        """``POST stable_token``; raises ``WeChatClientException`` on an error code."""
        res = self._http.post(
            url=self.API_BASE_URL + "stable_token", timeout=self.timeout,
            json={"grant_type": "client_credential", "appid": self.appid,
                  "secret": self.secret, "force_refresh": force})
        try:
            res.raise_for_status()
        except RequestException as exc:
            raise WeChatClientException(errcode=None, errmsg=None, client=self,
                                        request=exc.request, response=exc.response) from exc
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self,
                                        request=res.request, response=res)
        return result
