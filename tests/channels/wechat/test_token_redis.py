"""The access_token shared through Redis (``MEDBOT_REDIS_URL``): one token for every process."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, update

from bot.clock import utcnow
from bot.errors import ServiceError
from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatDelivery, WeChatQuota, WeChatSubscription
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.token import (
    EARLY_REFRESH, DatabaseTokenStore, ForceLedger, RedisTokenStore, SharedTokenClient, token_store,
)
from channels.wechat.testing import FakeWeChatAPI
from tests.channels.wechat.conftest import make_config


def _sender(db: Database, api: FakeWeChatAPI, store: RedisTokenStore) -> WeChatSender:
    client = SharedTokenClient(api.app_id, api.app_secret, api.base_url, store)
    return WeChatSender(client, db, backoff=0.0)


def _inbound(db: Database, openid: str) -> None:
    WeChatState(db).claim(f"msg:{openid}", openid)
    with db.begin() as s:
        s.execute(update(WeChatSubscription).where(WeChatSubscription.openid == openid)
                  .values(last_inbound_at=utcnow() - timedelta(minutes=1)))
        s.execute(update(WeChatQuota).where(WeChatQuota.openid == openid)
                  .values(message_at=utcnow() - timedelta(minutes=1)))


def _outbox(db: Database) -> WeChatDelivery:
    with db.begin() as s:
        row = s.execute(select(WeChatDelivery)).scalar_one()
        s.expunge(row)
        return row


class CountingFetch:
    """A token endpoint that counts its calls and takes ``delay`` seconds."""

    def __init__(self, delay: float = 0.0, expires_in: int = 7200) -> None:
        self.delay = delay
        self.expires_in = expires_in
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, ledger: ForceLedger) -> tuple[dict, ForceLedger]:
        with self._lock:
            self.calls += 1
            number = self.calls
        time.sleep(self.delay)
        return {"access_token": f"new-{number}", "expires_in": self.expires_in}, ledger


@pytest.mark.redis
def test_processes_share_one_token(db: Database, fake_api: FakeWeChatAPI, redis_url: str,
                                   redis_prefix: str) -> None:
    """Two senders with their own Redis clients = two processes: one token between them."""
    key = f"{redis_prefix}:wechat"
    first = _sender(db, fake_api, RedisTokenStore(redis_url, key))
    second = _sender(db, fake_api, RedisTokenStore(redis_url, key))
    _inbound(db, "oRedis0001")
    for sender in (first, second, first, second):
        assert sender.send("oRedis0001", "hi").status == "sent"
    assert fake_api.tokens_issued == 1
    assert 7100 < redis.Redis.from_url(redis_url).ttl(key) <= 7200  # Redis drops it at expiry


@pytest.mark.redis
def test_a_rejected_token_is_refreshed_once(db: Database, fake_api: FakeWeChatAPI,
                                            redis_url: str, redis_prefix: str) -> None:
    key = f"{redis_prefix}:wechat"
    first = _sender(db, fake_api, RedisTokenStore(redis_url, key))
    second = _sender(db, fake_api, RedisTokenStore(redis_url, key))
    _inbound(db, "oRedis0002")
    assert first.send("oRedis0002", "one").status == "sent"
    fake_api.fail_next(40001)
    result = first.send("oRedis0002", "two")
    assert result.status == "sent"
    assert fake_api.tokens_issued == 2
    assert second.send("oRedis0002", "three").status == "sent"  # uses the refreshed token
    assert fake_api.tokens_issued == 2
    assert [m.text for m in fake_api.sent] == ["one", "two", "three"]


@pytest.mark.redis
def test_concurrent_refreshes_of_the_same_stale_token_fetch_once(
        redis_url: str, redis_prefix: str) -> None:
    key = f"{redis_prefix}:wechat"
    redis.Redis.from_url(redis_url).set(key, "old", ex=7200)
    fetch = CountingFetch(delay=0.3)
    stores = [RedisTokenStore(redis_url, key) for _ in range(6)]
    start = threading.Barrier(len(stores))
    results: list[str] = []

    def refresh(store: RedisTokenStore) -> None:
        start.wait()
        results.append(store.refresh(fetch, stale="old"))

    threads = [threading.Thread(target=refresh, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert fetch.calls == 1
    assert results == ["new-1"] * len(stores)
    assert stores[0].get() == "new-1"


@pytest.mark.redis
def test_a_token_about_to_expire_counts_as_missing(redis_url: str, redis_prefix: str) -> None:
    store = RedisTokenStore(redis_url, f"{redis_prefix}:wechat")
    assert store.get() is None
    short = CountingFetch(expires_in=int(EARLY_REFRESH.total_seconds()) - 10)
    assert store.refresh(short, stale=None) == "new-1"
    assert store.get() is None  # inside EARLY_REFRESH: refreshed before WeChat rejects it
    assert store.refresh(short, stale=None) == "new-2"  # so a refresh fetches again
    assert 0 < store.redis.ttl(store.key) <= EARLY_REFRESH.total_seconds()
    long = CountingFetch()
    assert store.refresh(long, stale=None) == "new-1"
    assert store.get() == "new-1"
    assert store.refresh(long, stale=None) == "new-1" and long.calls == 1  # still valid
    store.redis.set(store.key, "no-ttl")  # not written by us: no expiry known
    assert store.get() is None


@pytest.mark.redis
def test_a_lock_held_too_long_fails_the_send_and_it_is_recorded(
        db: Database, fake_api: FakeWeChatAPI, redis_url: str, redis_prefix: str) -> None:
    store = RedisTokenStore(redis_url, f"{redis_prefix}:wechat", wait=0.2)
    holder = redis.Redis.from_url(redis_url).lock(store.lock_key, timeout=30)
    assert holder.acquire(blocking=False)  # another process is stuck refreshing
    try:
        with pytest.raises(ServiceError, match="not acquired within 0.2 s"):
            store.refresh(CountingFetch(), stale=None)
        _inbound(db, "oRedis0003")
        result = _sender(db, fake_api, store).send("oRedis0003", "hi")
    finally:
        holder.release()
    assert result.status == "failed" and "ServiceError" in result.error
    row = _outbox(db)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, result.error)
    assert fake_api.tokens_issued == 0 and fake_api.sent == []
    assert _sender(db, fake_api, store).retry_failed()[0].status == "sent"  # lock free again


def test_redis_down_fails_the_send_and_it_is_recorded(sqlite_db: Database,
                                                      fake_api: FakeWeChatAPI) -> None:
    store = RedisTokenStore("redis://127.0.0.1:1/0", "medbot:wechat:down")
    _inbound(sqlite_db, "oRedis0004")
    result = _sender(sqlite_db, fake_api, store).send("oRedis0004", "hi")
    assert result.status == "failed" and "ServiceError: Redis" in result.error
    assert _outbox(sqlite_db).status == "failed"


def test_the_store_is_redis_when_a_redis_url_is_set(sqlite_db: Database, tmp_path: Path,
                                                    fake_api: FakeWeChatAPI) -> None:
    plain = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)})
    scaled = plain.with_overrides(redis_url="redis://127.0.0.1:6379/15")
    in_db = token_store(plain, sqlite_db, "wechat:wx1")
    assert isinstance(in_db, DatabaseTokenStore) and in_db.key == "wechat:wx1"
    in_redis = token_store(scaled, sqlite_db, "wechat:wx1")  # connects on first use only
    assert isinstance(in_redis, RedisTokenStore) and in_redis.key == "medbot:wechat:wx1"
    config = make_config(fake_api)
    assert isinstance(WeChatSender.from_config(config, sqlite_db, plain).client.store,
                      DatabaseTokenStore)
    sender = WeChatSender.from_config(config, sqlite_db, scaled)
    assert isinstance(sender.client.store, RedisTokenStore)
    assert sender.client.store.key == f"medbot:wechat:{fake_api.app_id}"
