"""`medbot run` then SIGTERM (or Ctrl-C) leaves no process behind; MEDBOT_DATABASE_URL moves
everything to PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import start_service, stop_service

pytestmark = pytest.mark.integration


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    continue
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry))
    return found


def _stops_cleanly(service, sig: int, log: Path) -> None:
    """``sig`` stops ``medbot run`` with exit code 0 and no child left behind."""
    ports = [f"--port {service.rasa_port}", f"--port {service.action_port}"]
    assert all(_processes_mentioning(p) for p in ports), "children not running"
    assert stop_service(service, sig) == 0
    for _ in range(40):
        if not any(_processes_mentioning(p) for p in ports):
            break
        time.sleep(0.25)
    assert not any(_processes_mentioning(p) for p in ports)
    assert "medbot stopped." in log.read_text()


def test_sigterm_leaves_no_process(trained_model: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", tmp_path / "run.log")
    _stops_cleanly(service, signal.SIGTERM, tmp_path / "run.log")


@pytest.mark.postgres
def test_database_url_switches_everything_to_postgresql(
        trained_model: Path, tmp_path: Path, postgres_schema_url: str) -> None:
    from sqlalchemy import create_engine, inspect, select, text

    from bot.store.models import Message
    from tests.integration.conftest import post

    service = start_service(tmp_path / "data", tmp_path / "run.log",
                            extra_env={"MEDBOT_DATABASE_URL": postgres_schema_url})
    try:
        notice = post(service.rest_url, "pg-user", "hello")  # first contact: consent first
        assert any("Privacy notice" in r.get("text", "") for r in notice)
        assert post(service.rest_url, "pg-user", "I agree")
        replies = post(service.rest_url, "pg-user", "hello")
        assert any("Hello" in r.get("text", "") for r in replies)
    finally:
        # Ctrl-C (SIGINT) stops it as cleanly as SIGTERM (one start serves both checks)
        _stops_cleanly(service, signal.SIGINT, tmp_path / "run.log")
    engine = create_engine(postgres_schema_url, future=True)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            roles = conn.execute(select(Message.role).where(
                Message.conversation_id == "rest:pg-user").order_by(Message.id)).scalars().all()
            events = conn.execute(text(
                "SELECT count(*) FROM events WHERE sender_id = 'rest:pg-user'")).scalar_one()
            consents = conn.execute(text("SELECT decision FROM consent_records")).scalars().all()
    finally:
        engine.dispose()
    assert {"patients", "messages", "events"} <= tables  # app tables and Rasa's tracker store
    assert roles == ["patient", "bot", "bot", "patient", "bot", "patient", "bot"]
    assert events > 0
    assert consents == ["granted"]
    assert not (tmp_path / "data" / "medbot.db").exists()  # nothing went to SQLite
