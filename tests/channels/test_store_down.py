"""An emergency gets its 120 advice when the database is down; nothing is lost.

Real outages: a PostgreSQL server of the test's own, stopped mid-run, and the
SQLite file made read-only (immutable) mid-run. The spool keeps what could not
be written and the worker's replay writes it once the database is back.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy import select

from bot.fallback import SpoolReplay, StoreDownFallback
from bot.hospital import HospitalInfo
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import Message
from bot.store.repositories import TranscriptService
from bot.store.spool import Spool
from bot.store.triage_models import TriageRecord
from channels.boundary import ChannelBoundary
from channels.emergency import EmergencyInterrupt
from tests.channels.test_boundary import FakeAgent

RED_FLAG_ZH = "我爸突然嘴歪了，说话也说不清楚"
RED_FLAG_EN = "my husband collapsed and is not breathing properly"
ORDINARY = "我想挂个号看看皮肤"


class Outage:
    """Bot stand-in that fails like Rasa does when its tracker store is gone."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, message: UserMessage) -> None:
        self.calls += 1
        await message.output_channel.send_response(message.sender_id, {"text": "您好"})


def boundary(db: Database, spool: Spool) -> ChannelBoundary:
    emergency = EmergencyInterrupt(agent_provider=lambda: FakeAgent())
    fallback = StoreDownFallback(spool, HospitalInfo.load(), emergency.screen_text)
    return ChannelBoundary("rest", TranscriptService(db), emergency, None, fallback)


async def say(wrapped, sender: str, text: str) -> list[str]:
    out = CollectingOutputChannel()
    await wrapped(UserMessage(text, out, sender, metadata={"message_id": f"m-{hash(text)}"}))
    return [m["text"] for m in out.messages]


def transcript(db: Database, conversation: str) -> list[tuple[str, str]]:
    with db.begin() as session:
        return [(m.role, m.text or "") for m in session.execute(
            select(Message).where(Message.conversation_id == conversation)
            .order_by(Message.seq)).scalars()]


async def _outage_then_recovery(db: Database, spool: Spool, break_it, mend_it) -> None:
    bot = Outage()
    wrapped = boundary(db, spool).wrap(bot)
    assert await say(wrapped, "p1", "你好") == ["您好"]  # the database is up
    break_it()
    try:
        advice = await say(wrapped, "p1", RED_FLAG_ZH)
        busy = await say(wrapped, "p1", ORDINARY)
        english = await say(wrapped, "p2", RED_FLAG_EN)
    finally:
        mend_it()
    assert len(advice) == 1 and "120" in advice[0] and "中风" in advice[0]
    hospital = HospitalInfo.load()
    assert len(busy) == 1 and "繁忙" in busy[0] and hospital.phone in busy[0]
    assert len(english) == 1 and "call 120" in english[0].lower()
    assert bot.calls == 1  # the bot never ran without its database
    assert spool.pending() == 3

    # the worker's periodic replay, once the database is back
    assert spool.drain(SpoolReplay(db)) == 3 and spool.pending() == 0
    texts = [t for _, t in transcript(db, "rest:p1")]
    assert texts[:2] == ["你好", "您好"]
    assert texts[2:] == [RED_FLAG_ZH, advice[0], ORDINARY, busy[0]]
    assert [t for _, t in transcript(db, "rest:p2")] == [RED_FLAG_EN, english[0]]
    with db.begin() as session:
        levels = session.execute(select(TriageRecord.conversation_id, TriageRecord.level)
                                 .order_by(TriageRecord.id)).all()
    assert [tuple(r) for r in levels] == [("rest:p1", "emergency"), ("rest:p2", "emergency")]


async def test_postgresql_stopped_mid_run(private_postgres, tmp_path: Path) -> None:
    db = Database(private_postgres.url)
    upgrade(db)
    spool = Spool(tmp_path / "spool" / "inbound.jsonl")
    await _outage_then_recovery(db, spool, private_postgres.stop, private_postgres.start)
    db.dispose()


async def test_sqlite_file_made_read_only_mid_run(tmp_path: Path) -> None:
    path = tmp_path / "medbot.db"
    db = Database(f"sqlite:///{path.as_posix()}")
    upgrade(db)
    spool = Spool(tmp_path / "spool" / "inbound.jsonl")

    def read_only() -> None:
        db.engine.dispose()  # the pool reconnects to a file it can no longer write
        subprocess.run(["chattr", "+i", str(path)], check=True)

    def writable() -> None:
        subprocess.run(["chattr", "-i", str(path)], check=True)

    try:
        await _outage_then_recovery(db, spool, read_only, writable)
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)
        db.dispose()


async def test_a_failing_bot_gets_service_busy_not_an_error(sqlite_db, tmp_path) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("tracker store unavailable")

    wrapped = boundary(sqlite_db, Spool(tmp_path / "s.jsonl")).wrap(broken)
    [reply] = await say(wrapped, "p3", "hello, can I book?")
    assert "busy" in reply and HospitalInfo.load().phone in reply
    assert transcript(sqlite_db, "rest:p3")[-1] == ("bot", reply)


def test_a_half_applied_record_is_not_repeated(sqlite_db, tmp_path) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    spool.append({"at": "2026-01-01T00:00:00+00:00", "channel": "rest", "external_id": "p4",
                  "messages": [{"role": "patient", "text": "胸口压着疼 出冷汗"}],
                  "emergency": "胸口压着疼 出冷汗"})
    calls = []

    class FailsOnTriage(SpoolReplay):
        def __call__(self, record):
            calls.append(dict(record))
            if len(calls) == 1:
                self.transcripts.log(record["channel"], record["external_id"], [])
                record["messages"] = []
                raise ConnectionError("database went away again")
            return super().__call__(record)

    assert spool.drain(FailsOnTriage(sqlite_db)) == 0 and spool.pending() == 1
    assert spool.drain(FailsOnTriage(sqlite_db)) == 1
    assert calls[1]["messages"] == []  # the part done before the failure is not redone


@pytest.mark.parametrize("garbage", ["{not json", ""])
def test_a_torn_line_does_not_block_the_rest(tmp_path, garbage, sqlite_db) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    spool.path.parent.mkdir(parents=True, exist_ok=True)
    spool.path.write_text(garbage + "\n", encoding="utf-8")
    spool.append({"at": "2026-01-01T00:00:00+00:00", "channel": "rest", "external_id": "p5",
                  "messages": [{"role": "patient", "text": "hi"}], "emergency": None})
    assert spool.drain(SpoolReplay(sqlite_db)) == 1 and spool.pending() == 0
    assert oct(spool.path.stat().st_mode & 0o777) == "0o600"
