"""The live stream is woken by new transcript rows, also those another process writes.

The console here re-reads the database on its own only once an hour
(``poll_seconds=3600``), and once right after the stream subscribed: of two
messages written one after the other, at least one reaches the stream within
the test only if it was announced (``bot.store.feed``).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.store.db import Database
from bot.store.repositories import LoggedMessage, TranscriptService
from tests.console.conftest import serve
from tests.console.test_web import read_events, signed_in

NEVER = 3600.0


async def _stream(console, world, external_id: str):
    hid = world.handoff(external_id, "cardiology", said=("first",))
    li = await signed_in(console, "dr.li")
    await li.post(f"/console/handoffs/{hid}/claim", csrf=await li.csrf_for())
    headers = {"Cookie": f"medbot_console_session={li.cookies['medbot_console_session']}"}
    return console.http.get(f"{console.base}/console/handoffs/{hid}/events", headers=headers)


async def test_a_row_written_in_this_process_wakes_the_stream(world, services, settings) -> None:
    async with serve(services, settings, poll_seconds=NEVER, keepalive_seconds=NEVER,
                     stream_seconds=NEVER) as console:
        async with await _stream(console, world, "p-feed-1") as response:
            assert [e["text"] for e in await read_events(response, 2)][0] == "first"
            for text in ("still there?", "hello?"):  # the 2nd at the latest needs a wake-up
                await asyncio.to_thread(world.transcripts.log, "rest", "p-feed-1",
                                        [LoggedMessage(role="patient", text=text)])
                (line,) = await read_events(response, 1)
                assert (line["role"], line["text"]) == ("patient", text)


async def test_a_row_written_by_another_process_wakes_the_stream(world, services, settings,
                                                                 db_url: str) -> None:
    """Two ``Database`` objects on one PostgreSQL database are two processes: the Rasa
    server that logs the patient's message and the one that holds the doctor's stream."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process: its announcements stay in the process")
    other = Database(db_url)
    try:
        async with serve(services, settings, poll_seconds=NEVER, keepalive_seconds=NEVER,
                         stream_seconds=NEVER) as console:
            async with await _stream(console, world, "p-feed-2") as response:
                await read_events(response, 2)
                for text in ("来自另一个进程", "还在吗"):
                    await asyncio.to_thread(TranscriptService(other).log, "rest", "p-feed-2",
                                            [LoggedMessage(role="patient", text=text)])
                    (line,) = await read_events(response, 1)
                    assert (line["role"], line["text"]) == ("patient", text)
    finally:
        other.dispose()


async def test_a_rolled_back_row_announces_nothing(db) -> None:
    """An announcement leaves with the commit only (SQLite: after it; PostgreSQL: NOTIFY
    is transactional)."""
    transcripts = TranscriptService(db)
    transcripts.log("rest", "p-feed-3", [LoggedMessage(role="patient", text="hi")])
    conversation = transcripts.conversation("rest:p-feed-3")[0].conversation_id
    sub = await asyncio.to_thread(db.feed.subscribe, conversation, asyncio.get_running_loop())
    with sub:
        assert await sub.wait(0) is True  # starts woken: the caller reads once first

        def write_then_fail() -> None:
            with db.begin() as session:
                patient = transcripts.patients.get_or_create(session, "rest", "p-feed-3")
                transcripts.messages.append(session, patient, conversation, "rest",
                                            LoggedMessage(role="patient", text="lost"))
                raise RuntimeError("the use case failed after the append")

        with pytest.raises(RuntimeError):
            await asyncio.to_thread(write_then_fail)
        assert await sub.wait(0.5) is False
        await asyncio.to_thread(transcripts.log, "rest", "p-feed-3",
                                [LoggedMessage(role="patient", text="kept")])
        assert await sub.wait(10) is True
