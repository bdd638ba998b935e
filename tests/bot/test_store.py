"""Store: migrations, patients, transcripts — on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from bot.errors import ValidationError
from bot.store.db import Database
from bot.store.migrate import current_revision, upgrade
from bot.store.models import Message, Patient
from bot.store.repositories import LoggedMessage, TranscriptService


def test_migrations_create_tables_and_are_idempotent(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"patients", "messages", "alembic_version"} <= tables
    head = current_revision(db)
    assert head is not None
    assert upgrade(db) == head  # second run is a no-op


def test_transcript_keeps_both_sides_in_order(db: Database) -> None:
    service = TranscriptService(db)
    service.log("rest", "u1", [LoggedMessage("patient", "你好", language="zh")])
    service.log("rest", "u1", [LoggedMessage("bot", "您好！", language="zh"),
                               LoggedMessage("bot", "有什么可以帮您？", language="zh")])
    service.log("rest", "u1", [LoggedMessage("patient", "bye", language="en",
                                             channel_message_id="m-42")])
    rows = service.conversation("rest:u1")  # the REST namespace (bot.identity)
    assert [(r.role, r.text) for r in rows] == [
        ("patient", "你好"), ("bot", "您好！"), ("bot", "有什么可以帮您？"), ("patient", "bye"),
    ]
    assert rows[-1].channel_message_id == "m-42"
    with db.begin() as session:
        patients = session.execute(select(Patient)).scalars().all()
    assert len(patients) == 1 and patients[0].external_id == "u1"
    assert patients[0].preferred_language == "zh"  # the language the bot answered in
    service.log("rest", "u1", [LoggedMessage("bot", "Hello", language="en")])
    with db.begin() as session:
        assert session.execute(select(Patient.preferred_language)).scalar_one() == "en"


def test_unknown_role_is_refused_and_nothing_is_written(db: Database) -> None:
    service = TranscriptService(db)
    with pytest.raises(ValidationError):
        service.log("rest", "u2", [LoggedMessage("patient", "hi"),
                                   LoggedMessage("hacker", "x")])
    with db.begin() as session:
        assert session.execute(select(Message)).first() is None
        assert session.execute(select(Patient)).first() is None


def test_database_enforces_roles_and_patient_uniqueness(db: Database) -> None:
    with db.begin() as session:
        session.add(Patient(channel="rest", external_id="dup"))
    with pytest.raises(IntegrityError):
        with db.begin() as session:
            session.add(Patient(channel="rest", external_id="dup"))
    with pytest.raises(IntegrityError):
        with db.begin() as session:
            patient = session.execute(select(Patient)).scalar_one()
            session.add(Message(patient_id=patient.id, conversation_id="dup",
                                channel="rest", role="admin", text="x"))


def test_concurrent_first_messages_create_one_patient(db: Database) -> None:
    service = TranscriptService(db)

    def log(i: int) -> None:
        service.log("rest", "same-user", [LoggedMessage("patient", f"m{i}")])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(log, range(16)))
    with db.begin() as session:
        assert len(session.execute(select(Patient)).scalars().all()) == 1
        assert len(session.execute(select(Message)).scalars().all()) == 16


@pytest.mark.postgres
def test_a_forked_process_opens_its_own_engine(postgres_schema_url: str) -> None:
    """Sanic forks the Rasa workers after the channels took the database: the child
    must open its own connections and leave the parent's alone."""
    import os

    from sqlalchemy import text

    db = Database(postgres_schema_url)
    backend = "SELECT pg_backend_pid()"
    try:
        with db.read() as session:  # the pool now holds a connection of the parent's
            parent_backend = session.execute(text(backend)).scalar_one()
        parent_engine = db.engine
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child
            code = 1
            try:
                os.close(read_end)
                with db.begin() as session:
                    child_backend = session.execute(text(backend)).scalar_one()
                same_engine = db.engine is parent_engine
                os.write(write_end, f"{child_backend} {int(same_engine)}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            answer = pipe.read()
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, answer
        child_backend, same_engine = (int(part) for part in answer.split())
        assert child_backend != parent_backend  # a connection of its own
        assert not same_engine  # an engine of its own
        with db.read() as session:  # the parent's pooled connection still works, unchanged
            assert session.execute(text(backend)).scalar_one() == parent_backend
        assert db.engine is parent_engine
    finally:
        db.dispose()
