"""Channel namespaces (bot.identity) and migration 0009, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text

from bot.errors import ValidationError
from bot.identity import conversation_id, split_conversation_id
from bot.masking import mask_id
from bot.store.chain import verify
from bot.store.db import Database
from bot.store.migrate import alembic_config, upgrade
from bot.store.models import Message
from bot.store.repositories import LoggedMessage, TranscriptService


def test_ids_round_trip_and_namespaces_never_meet() -> None:
    assert conversation_id("rest", "oABC") == "rest:oABC"
    assert split_conversation_id("wechat:oABC") == ("wechat", "oABC")
    # a REST sender that looks like another channel's id stays in the REST namespace
    assert split_conversation_id(conversation_id("rest", "wechat:oABC")) == ("rest", "wechat:oABC")
    assert conversation_id("rest", "wechat:oABC") != conversation_id("wechat", "oABC")


@pytest.mark.parametrize("value", ["oABC", "", ":x", "Rest:x", "rest:", "1x:y"])
def test_an_id_that_did_not_come_through_a_channel_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        split_conversation_id(value)


@pytest.mark.parametrize("channel, external", [("rest", ""), ("rest", "x" * 129), ("", "x"),
                                               ("we chat", "x")])
def test_bad_parts_are_refused(channel: str, external: str) -> None:
    with pytest.raises(ValidationError):
        conversation_id(channel, external)


def test_masked_ids_keep_the_channel_only() -> None:
    assert mask_id("wechat:oVictimOpenId") == "wechat:oV…Id"
    assert "Victim" not in mask_id("oVictimOpenId")


def _migrate(db: Database, revision: str, down: bool = False) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _conversations(db: Database) -> dict[str, list[tuple[int, str, str]]]:
    with db.begin() as session:
        rows = session.execute(select(Message).order_by(Message.conversation_id, Message.seq))
        out: dict[str, list[tuple[int, str, str]]] = {}
        for m in rows.scalars():
            out.setdefault(m.conversation_id, []).append((m.seq, m.channel, m.text or ""))
        return out


def test_migration_0009_namespaces_transcripts_and_trackers(db_url: str) -> None:
    db = Database(db_url)
    _migrate(db, "0008")
    with db.engine.begin() as conn:  # Rasa's tracker store table, as Rasa creates it
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) "
                          "NOT NULL, type_name VARCHAR(255), data TEXT)"))
        for i, sender in enumerate(["shared", "shared", "oW1", "never-logged"], 1):
            conn.execute(text("INSERT INTO events (id, sender_id, type_name) "
                              "VALUES (:i, :s, 'user')"), {"i": i, "s": sender})
    log = TranscriptService(db).log
    # before namespaces: a REST caller who named a WeChat openid shared its conversation
    log("wechat", "shared", [LoggedMessage("patient", "我是患者")], "shared")
    log("rest", "shared", [LoggedMessage("patient", "I am someone else")], "shared")
    log("wechat", "shared", [LoggedMessage("bot", "您好")], "shared")
    log("wechat", "oW1", [LoggedMessage("patient", "hi"), LoggedMessage("bot", "hello")], "oW1")
    assert verify(db).ok

    upgrade(db)

    assert _conversations(db) == {
        "rest:shared": [(1, "rest", "I am someone else")],
        "wechat:oW1": [(1, "wechat", "hi"), (2, "wechat", "hello")],
        "wechat:shared": [(1, "wechat", "我是患者"), (2, "wechat", "您好")],
    }
    assert verify(db).ok  # resealed under the new ids
    with db.engine.connect() as conn:
        senders = dict(conn.execute(text("SELECT id, sender_id FROM events")).all())
    # a tracker used by two channels, or never logged, is continued by nobody
    assert senders == {1: "legacy:shared", 2: "legacy:shared", 3: "wechat:oW1",
                       4: "legacy:never-logged"}
    TranscriptService(db).log("wechat", "oW1", [LoggedMessage("patient", "again")])
    assert _conversations(db)["wechat:oW1"][-1] == (3, "wechat", "again") and verify(db).ok

    _migrate(db, "0008", down=True)
    back = _conversations(db)
    assert [t for _, _, t in back["shared"]] == ["我是患者", "I am someone else", "您好"]
    assert verify(db).ok
    db.dispose()


def test_migration_0009_refuses_to_reseal_a_broken_chain(db_url: str, monkeypatch) -> None:
    db = Database(db_url)
    _migrate(db, "0008")
    TranscriptService(db).log("rest", "u1", [LoggedMessage("patient", "a"),
                                             LoggedMessage("bot", "b")], "u1")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE messages SET text = 'edited' WHERE seq = 1"))
    monkeypatch.delenv("MEDBOT_MIGRATION_RESEAL_BROKEN", raising=False)
    with pytest.raises(RuntimeError, match="broken"):
        upgrade(db)
    assert _conversations(db) == {"u1": [(1, "rest", "edited"), (2, "rest", "b")]}  # untouched
    db.dispose()
