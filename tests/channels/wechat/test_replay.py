"""Downgrade and replay: compatible/safe mode refuse plaintext bodies, and a signed
(timestamp, nonce, signature) is accepted once, in any process, within the window."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatReplay
from bot.wechat.protocol import ProtocolError, sign
from bot.wechat.replay import DatabaseReplayGuard, RedisReplayGuard, replay_guard
from tests.channels.wechat.conftest import AES_KEY, TOKEN, FakeBot, Served

NOW = 1_750_000_000  # the clock of the unit tests


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


# -- downgrade --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["compatible", "safe"])
async def test_encrypted_modes_refuse_a_body_without_encrypt_type(served: Served) -> None:
    """A captured push with ``encrypt_type``/``msg_signature`` dropped and a forged
    plaintext body: the query ``signature`` does not cover the body."""
    params, _ = served.sim.sign_request(served.sim.to_xml(served.sim.text("oVictim001", "hi")))
    forged = served.sim.to_xml(served.sim.text("oVictim001", "cancel all my appointments"))
    for key in ("encrypt_type", "msg_signature"):
        params.pop(key)
    reply = await served.sim.post_raw(params, forged)
    assert reply.status == 403, reply.body
    assert served.bot.calls == []


@pytest.mark.parametrize("mode", ["compatible"])
async def test_compatible_mode_answers_encrypted_pushes(served: Served) -> None:
    reply = await served.sim.send(served.sim.text("oCompat001", "你好"))
    assert reply.text == "echo: 你好" and served.bot.calls == ["你好"]


# -- replay over HTTP ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["safe", "compatible", "plaintext"])
async def test_a_replayed_push_is_refused(served: Served) -> None:
    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oReplay002", "a")))
    first = await served.sim.post_raw(params, body)
    assert first.status == 200 and first.text == "echo: a"
    again = await served.sim.post_raw(params, body)
    assert again.status == 403, again.body
    assert served.bot.calls == ["a"]


@pytest.mark.parametrize("mode", ["plaintext"])
async def test_a_captured_plaintext_signature_cannot_carry_another_body(
        served: Served) -> None:
    """Plaintext mode signs only (token, timestamp, nonce): the nonce cache is what stops
    a captured query from carrying a forged message."""
    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oPlain0002", "a")))
    assert (await served.sim.post_raw(params, body)).status == 200
    forged = served.sim.to_xml(served.sim.text("oPlain0002", "forged"))
    assert (await served.sim.post_raw(params, forged)).status == 403
    assert served.bot.calls == ["a"]


async def test_a_push_replayed_to_another_process_is_refused(served: Served) -> None:
    """A second channel instance on the same database stands for a second process."""
    from channels.wechat import WeChatInput
    from channels.wechat.testing import WeChatSimulator
    from channels.wechat.testing.harness import serve_channel

    other_bot = FakeBot()
    other = WeChatInput(served.channel.config, served.db, gate=False)
    async with serve_channel(other, other_bot) as url:
        other_sim = WeChatSimulator(url, TOKEN, served.api.app_id, AES_KEY, mode="safe")
        params, body = served.sim.sign_request(
            served.sim.to_xml(served.sim.text("oReplay003", "b")))
        assert (await served.sim.post_raw(params, body)).status == 200
        assert (await other_sim.post_raw(params, body)).status == 403
    assert served.bot.calls == ["b"] and other_bot.calls == []


async def test_wechat_retries_are_signed_anew_and_still_answered_once(served: Served) -> None:
    """WeChat re-signs each retry (new timestamp/nonce): the retries pass the nonce cache
    and the exactly-once claim answers them without running the bot again."""
    served.bot.delay = 0.8
    served.sim.attempt_timeout = 0.3  # stands for WeChat's 5 s
    served.sim.attempts = 3
    reply = await served.sim.send(served.sim.text("oRetry0002", "retry"))
    assert reply.status == 200 and reply.attempts >= 2
    assert served.bot.calls == ["retry"]


# -- the guards -----------------------------------------------------------------------------

def _rows(db: Database) -> int:
    with db.begin() as s:
        return s.execute(select(func.count()).select_from(WeChatReplay)).scalar_one()


def test_the_database_guard_is_shared_by_processes(db: Database) -> None:
    """SQLite and PostgreSQL: two guards (two processes) on one table."""
    first, second = DatabaseReplayGuard(db, 300), DatabaseReplayGuard(db, 300)
    ts = str(NOW)
    assert first.first_use(ts, "n1", sign(TOKEN, ts, "n1"), now=NOW) is True
    assert second.first_use(ts, "n1", sign(TOKEN, ts, "n1"), now=NOW + 1) is False
    assert first.first_use(ts, "n1", sign(TOKEN, ts, "n1").upper(), now=NOW + 2) is False
    assert second.first_use(ts, "n2", sign(TOKEN, ts, "n2"), now=NOW + 2) is True
    assert _rows(db) == 2


def test_concurrent_uses_of_one_nonce_admit_exactly_one(db: Database) -> None:
    import threading

    guards = [DatabaseReplayGuard(db, 300) for _ in range(4)]
    ts, results = str(NOW), []
    threads = [threading.Thread(target=lambda g=g: results.append(
        g.first_use(ts, "race", sign(TOKEN, ts, "race"), now=NOW))) for g in guards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


def test_entries_older_than_the_window_are_pruned(db: Database) -> None:
    guard = DatabaseReplayGuard(db, 300)
    for i, ts in enumerate((NOW - 250, NOW - 100, NOW)):
        assert guard.first_use(str(ts), f"n{i}", "s", now=NOW)
    assert guard.prune(now=NOW + 60) == 1  # NOW-250 expired at NOW+50
    assert _rows(db) == 2
    # first_use prunes by itself (at most once a minute)
    later = NOW + 400
    assert guard.first_use(str(later), "n9", "s", now=later)
    with db.begin() as s:
        left = s.execute(select(WeChatReplay.expires_at)).scalars().all()
    assert [t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t for t in left] \
        == [_at(later + 300)]


def test_a_guard_failure_is_a_503_not_an_acceptance(tmp_path) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'missing-schema.db'}")  # no wechat_replay table
    with pytest.raises(ProtocolError) as err:
        DatabaseReplayGuard(broken, 300).first_use(str(NOW), "n", "s", now=NOW)
    assert err.value.status == 503
    broken.dispose()


def test_the_redis_guard_is_shared_by_processes(redis_url: str, redis_prefix: str) -> None:
    import redis

    first = RedisReplayGuard(redis_url, 300, prefix=redis_prefix)
    second = RedisReplayGuard(redis_url, 300, prefix=redis_prefix)
    ts = str(NOW)
    assert first.first_use(ts, "n1", "sig", now=NOW) is True
    assert second.first_use(ts, "n1", "sig", now=NOW + 10) is False
    assert second.first_use(ts, "n2", "sig", now=NOW + 10) is True
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{redis_prefix}*"))
    ttls = sorted(client.ttl(k) for k in keys)
    client.close()
    assert len(keys) == 2 and 280 <= ttls[0] <= 290 and ttls[1] <= 300  # expires with ts+window


def test_redis_down_is_a_503() -> None:
    from channels.wechat.testing.harness import free_port

    guard = RedisReplayGuard(f"redis://127.0.0.1:{free_port()}/0", 300)
    with pytest.raises(ProtocolError) as err:
        guard.first_use(str(NOW), "n", "s", now=NOW)
    assert err.value.status == 503


def test_the_guard_is_redis_when_a_redis_url_is_set(sqlite_db: Database, tmp_path,
                                                    redis_url: str) -> None:
    data = str(tmp_path / "data")
    assert isinstance(replay_guard(Settings.from_env({"MEDBOT_DATA_DIR": data}), sqlite_db,
                                   300), DatabaseReplayGuard)
    with_redis = Settings.from_env({"MEDBOT_DATA_DIR": data, "MEDBOT_REDIS_URL": redis_url})
    assert isinstance(replay_guard(with_redis, sqlite_db, 300), RedisReplayGuard)


async def test_many_pushes_in_flight_each_answered(served: Served) -> None:
    """Distinct nonces in the same second are distinct pushes."""
    msgs = [served.sim.text(f"oMany{i:05d}", f"m{i}") for i in range(5)]
    replies = await asyncio.gather(*(served.sim.send(m) for m in msgs))
    assert sorted(r.text for r in replies) == sorted(f"echo: m{i}" for i in range(5))
    assert _rows(served.db) == 5


def test_the_model_matches_migration_0010(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store import Base

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "wechat_replay" in repr(d)]
    assert diffs == []
