"""The stable access token (getStableAccessToken) against the fake API over real HTTP:
shared by independent processes without a refresh race, force refresh only after 40001
and within the platform's limits (20 a Beijing day, 30 s apart), on an injected clock."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.clock import FakeClock
from bot.store import Base
from bot.store.db import Database
from bot.store.migrate import alembic_config, current_revision, upgrade
from bot.wechat.sender import WeChatSender
from bot.wechat.token import (
    DatabaseTokenStore, ForceLedger, ForceLimits, RedisTokenStore, SharedTokenClient,
    TokenStore,
)
from channels.wechat.testing import FakeWeChatAPI
from bot.wechat.state import WeChatState
from tests.channels.wechat.test_outbound import _inbound

# 09:00 in Beijing, the platform's day
START = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def api(clock: FakeClock):
    with FakeWeChatAPI(clock=clock) as fake:
        yield fake


def _sender(store: TokenStore, api: FakeWeChatAPI, clock: FakeClock, db: Database
            ) -> WeChatSender:
    client = SharedTokenClient(api.app_id, api.app_secret, api.base_url, store, clock=clock)
    return WeChatSender(client, db, backoff=0.0)


def _process(db_url: str, api: FakeWeChatAPI, clock: FakeClock) -> WeChatSender:
    """What a process has: its own engine (connection pool) on the shared database."""
    own = Database(db_url)
    return _sender(DatabaseTokenStore(own, f"wechat:{api.app_id}", clock), api, clock, own)


def _wrote(db: Database, openid: str) -> None:
    """The patient wrote again: a fresh customer-service quota for the next send."""
    WeChatState(db).claim(f"msg:{uuid.uuid4().hex}", openid)


def _stable(api: FakeWeChatAPI, force: bool = False) -> dict:
    return requests.post(api.base_url + "stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": api.app_id, "secret": api.app_secret,
        "force_refresh": force}).json()


def _race(senders: list[WeChatSender], openid: str, api: FakeWeChatAPI) -> list[str]:
    """Every sender sends at once; the API's slow answer makes all of them hold the
    same token when the first 40001 comes back."""
    api.delay = 0.3
    start = threading.Barrier(len(senders))
    statuses: list[str] = []

    def send(sender: WeChatSender, number: int) -> None:
        start.wait()
        statuses.append(sender.send(openid, f"race {number}").status)

    threads = [threading.Thread(target=send, args=(s, n)) for n, s in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    api.delay = 0.0
    return statuses


def test_stable_token_is_used_and_shared_by_two_processes(db: Database, db_url: str,
                                                          api: FakeWeChatAPI,
                                                          clock: FakeClock) -> None:
    first, second = _process(db_url, api, clock), _process(db_url, api, clock)
    _inbound(db, "oStable0001")
    for sender in (first, second, first, second):
        assert sender.send("oStable0001", "hi").status == "sent"
    assert (api.stable_calls, api.tokens_issued, api.force_refreshes) == (1, 1, 0)
    # both processes get 40001 for the same token at once: one of them asks the platform
    # (a normal call, then the force refresh), the other finds the new token in the store
    api.reject_current_token()
    _wrote(db, "oStable0001")
    assert _race([first, second], "oStable0001", api) == ["sent", "sent"]
    assert (api.stable_calls, api.force_refreshes, api.force_refused) == (3, 1, [])
    assert first.client.access_token == second.client.access_token == api._valid_token
    assert DatabaseTokenStore(db, f"wechat:{api.app_id}").ledger().count == 1
    for sender in (first, second):
        sender.db.dispose()


@pytest.mark.redis
def test_two_processes_sharing_redis_force_refresh_once(db: Database, api: FakeWeChatAPI,
                                                        clock: FakeClock, redis_url: str,
                                                        redis_prefix: str) -> None:
    key = f"{redis_prefix}:wechat"
    senders = [_sender(RedisTokenStore(redis_url, key), api, clock, db) for _ in range(2)]
    _inbound(db, "oStable0002")
    assert senders[0].send("oStable0002", "hi").status == "sent"
    api.reject_current_token()
    assert _race(senders, "oStable0002", api) == ["sent", "sent"]
    assert (api.stable_calls, api.tokens_issued, api.force_refreshes) == (3, 2, 1)
    assert api.force_refused == []
    ledger = RedisTokenStore(redis_url, key).ledger()
    assert (ledger.day, ledger.count) == ("2026-12-07", 1)


def test_force_refresh_only_within_the_limits(db: Database, db_url: str, api: FakeWeChatAPI,
                                              clock: FakeClock) -> None:
    first, second = _process(db_url, api, clock), _process(db_url, api, clock)
    _inbound(db, "oStable0003")
    assert first.send("oStable0003", "hi").status == "sent"
    api.fail_next(40001)
    _wrote(db, "oStable0003")
    assert first.send("oStable0003", "after 40001").status == "sent"
    assert api.force_refreshes == 1
    clock.advance(seconds=10)  # under 30 s since the last force: the retry reuses the token
    api.fail_next(40001)
    _wrote(db, "oStable0003")
    assert second.send("oStable0003", "10 s later").status == "sent"
    assert api.force_refreshes == 1 and api.force_refused == []
    for number in range(2, 21):  # 30 s apart: allowed, until 20 today
        clock.advance(seconds=30)
        api.fail_next(40001)
        _wrote(db, "oStable0003")
        assert (first, second)[number % 2].send("oStable0003", f"force {number}").status == \
            "sent"
        assert api.force_refreshes == number
    clock.advance(seconds=31)
    api.fail_next(40001)
    _wrote(db, "oStable0003")
    assert second.send("oStable0003", "21st").status == "sent"  # token still valid on retry
    assert api.force_refreshes == 20 and api.force_refused == []  # never asked past the limit
    ledger = DatabaseTokenStore(db, f"wechat:{api.app_id}").ledger()
    assert (ledger.day, ledger.count) == ("2026-12-07", 20)
    # the platform's day ends at midnight in Beijing (16:00 UTC), not UTC midnight
    clock.set(datetime(2026, 12, 7, 15, 59, tzinfo=timezone.utc))
    api.fail_next(40001)
    _wrote(db, "oStable0003")
    assert first.send("oStable0003", "still the 7th in Beijing").status == "sent"
    assert api.force_refreshes == 20
    clock.set(datetime(2026, 12, 7, 16, 0, 5, tzinfo=timezone.utc))
    api.fail_next(40001)
    _wrote(db, "oStable0003")
    assert first.send("oStable0003", "the 8th").status == "sent"
    assert api.force_refreshes == 21 and api.force_refused == []
    for sender in (first, second):
        sender.db.dispose()


def test_other_token_errors_and_a_changed_token_never_force(db: Database, api: FakeWeChatAPI,
                                                            clock: FakeClock) -> None:
    sender = _sender(DatabaseTokenStore(db, "wechat:x", clock), api, clock, db)
    _inbound(db, "oStable0004")
    assert sender.send("oStable0004", "hi").status == "sent"
    api.fail_next(42001)  # expired: a normal call is all it takes
    assert sender.send("oStable0004", "42001").status == "sent"
    assert api.force_refreshes == 0
    old = api._valid_token
    _stable(api, force=True)  # another system of the hospital forced a refresh
    assert sender.send("oStable0004", "stale").status == "sent"  # 40001, normal call: new token
    assert api.force_refreshes == 1 and sender.client.access_token not in (old, None)


def test_a_force_refused_by_the_platform_is_not_asked_again_today(
        db: Database, api: FakeWeChatAPI, clock: FakeClock) -> None:
    store = DatabaseTokenStore(db, "wechat:x", clock)
    sender = _sender(store, api, clock, db)
    _inbound(db, "oStable0005")
    assert sender.send("oStable0005", "hi").status == "sent"
    api._force_day, api._force_count = "2026-12-07", 20  # other systems used today's 20
    api.fail_next(40001)
    assert sender.send("oStable0005", "refused").status == "sent"
    assert api.force_refused == [45009] and store.ledger().count == 20
    clock.advance(minutes=5)
    api.fail_next(40001)
    assert sender.send("oStable0005", "not again").status == "sent"
    assert api.force_refused == [45009]


def test_a_token_the_api_keeps_rejecting_fails_after_bounded_attempts(
        db: Database, api: FakeWeChatAPI, clock: FakeClock) -> None:
    sender = _sender(DatabaseTokenStore(db, "wechat:x", clock), api, clock, db)
    _inbound(db, "oStable0006")
    api.fail_next(40001, times=10)
    result = sender.send("oStable0006", "hi")
    assert result.status == "failed" and "40001" in result.error
    assert api.force_refreshes == 1  # the second 40001 came within 30 s: no second force


def test_the_fake_api_keeps_the_stable_token_rules(api: FakeWeChatAPI, clock: FakeClock
                                                   ) -> None:
    first = _stable(api)
    assert first["expires_in"] == 7200
    clock.advance(seconds=100)
    assert _stable(api) == {"access_token": first["access_token"], "expires_in": 7100}
    clock.advance(seconds=6900)  # 200 s left: a normal call renews it, the old one still works
    renewed = _stable(api)
    assert renewed["access_token"] != first["access_token"]
    assert api._valid[first["access_token"]] > clock.now()
    forced = _stable(api, force=True)
    assert forced["access_token"] == api._valid_token
    assert renewed["access_token"] not in api._valid  # forcing invalidates the current token
    assert _stable(api, force=True)["errcode"] == 45011
    for _ in range(19):
        clock.advance(seconds=30)
        assert "access_token" in _stable(api, force=True)
    clock.advance(seconds=30)
    assert _stable(api, force=True)["errcode"] == 45009
    assert api.force_refused == [45011, 45009] and api.force_refreshes == 20
    assert _stable(api)["access_token"] == api._valid_token  # normal calls still answer
    assert requests.get(api.base_url + "token", timeout=5, params={
        "grant_type": "client_credential", "appid": api.app_id,
        "secret": api.app_secret}).json()["access_token"] != api._valid_token
    assert api._valid_token in api._valid  # the classic call leaves the stable token alone


def test_limits_count_per_beijing_day() -> None:
    limits = ForceLimits()
    late = datetime(2026, 12, 7, 15, 59, 50, tzinfo=timezone.utc)  # 23:59:50 in Beijing
    full = ForceLedger("2026-12-07", 20, late - timedelta(minutes=1))
    assert limits.refusal(full, late) is not None
    assert limits.refusal(full, late + timedelta(seconds=20)) is None  # 00:00:10 the 8th
    assert limits.record(full, late + timedelta(seconds=20)).count == 1
    assert limits.refusal(ForceLedger("2026-12-08", 1, late), late + timedelta(seconds=29))


def test_migration_0013_adds_the_ledger_and_downgrades(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "wechat_tokens" in str(d)]
    assert diffs == []
    store = DatabaseTokenStore(db, "wechat:m")
    assert store.refresh(lambda ledger: ({"access_token": "t1"}, ledger), None) == "t1"
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0012")
    assert current_revision(db) == "0012"
    assert "force_count" not in {c["name"] for c in inspect(db.engine).get_columns(
        "wechat_tokens")}
    upgrade(db)
    assert store.get() == "t1" and store.ledger() == ForceLedger()
