"""`medbot chat` shows reminders from the scheduler's outbox (real HTTP, real outbox)."""

from __future__ import annotations

from bot.cli.chat import OutboxPoller
from bot.clock import SystemClock
from bot.outbound import OutboundMessage
from bot.reminders.outbox import OutboxSender, OutboxServer


def test_poller_prints_each_outbox_message_once(sqlite_db) -> None:
    outbox = OutboxSender(sqlite_db, SystemClock())
    server = OutboxServer(outbox, "127.0.0.1", 0)
    server.start()
    try:
        lines: list[str] = []
        poller = OutboxPoller(f"http://127.0.0.1:{server.port}", "p1", lines.append)
        outbox.send(OutboundMessage("rest", "p1", "该吃氨氯地平 5mg 了", kind="reminder"))
        outbox.send(OutboundMessage("rest", "someone-else", "not yours", kind="reminder"))
        poller.poll_once()
        poller.poll_once()
        assert lines == ["medbot ⏰ > 该吃氨氯地平 5mg 了"]
    finally:
        server.stop()


def test_unreachable_worker_is_not_fatal() -> None:
    lines: list[str] = []
    OutboxPoller("http://127.0.0.1:9", "p1", lines.append).poll_once()
    assert lines == []
