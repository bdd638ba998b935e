"""Engine and session factory, built on first use from ``Settings``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.store.feed import TranscriptFeed

_feed_lock = threading.Lock()


class Database:
    """Owns one engine and a session factory for one database URL.

    Use ``with db.begin() as session:`` for one transaction per use case, and
    ``with db.read() as session:`` for a use case that only reads.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        if _sqlite_file(url):
            _create_private(Path(url.removeprefix("sqlite:///").split("?", 1)[0]))
        # SQL parameters are message texts and openids: never in an error or a log line
        kwargs: dict = {"future": True, "echo": echo, "hide_parameters": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if _sqlite_file(url):
                # SQLAlchemy 1.4 opens a new file connection per transaction (NullPool);
                # pooled connections skip the connect and PRAGMAs on every use case
                # (docs/benchmarks.md, WeChat channel).
                kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10)
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            event.listen(self.engine, "handle_error", _sqlite_read_only_is_a_disconnect)
        # the sessions know their database: announcements of new transcript rows are
        # delivered by it after the commit (bot.store.feed)
        info = {"medbot_database": self}
        self.sessions = sessionmaker(self.engine, future=True, expire_on_commit=False, info=info)
        # same pool; on SQLite its transactions start DEFERRED (no write lock)
        self.readers = sessionmaker(self.engine.execution_options(medbot_read_only=True),
                                    future=True, expire_on_commit=False, info=info)
        self._feed: TranscriptFeed | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads. On SQLite it does not take the write lock
        (``BEGIN`` instead of ``BEGIN IMMEDIATE``; WAL readers never wait for a writer),
        so frequent look-ups (console sessions, login checks) never queue behind or in
        front of transcript writes. Writing in it is a bug (SQLite may refuse the upgrade).
        """
        with self.readers.begin() as session:
            yield session

    @property
    def feed(self) -> TranscriptFeed:
        """New transcript rows, conversation by conversation (``bot.store.feed``)."""
        if self._feed is None:
            from bot.store.feed import TranscriptFeed

            with _feed_lock:
                if self._feed is None:
                    self._feed = TranscriptFeed(self)
        return self._feed

    def dispose(self) -> None:
        if self._feed is not None:
            self._feed.close()
        self.engine.dispose()


def _sqlite_file(url: str) -> bool:
    path = url.split("///", 1)[1] if "///" in url else ""
    return bool(path) and path != ":memory:" and "mode=memory" not in url


def _create_private(path: Path) -> None:
    """The SQLite file holds health data: created readable by its owner only (SQLite
    gives its -wal and -shm files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_read_only_is_a_disconnect(context) -> None:
    """A connection opened while the file was read-only stays read-only: drop it from
    the pool, so writes work again as soon as the file is writable."""
    if "readonly database" in str(context.original_exception):
        context.is_disconnect = True


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; take it over
    # (SQLAlchemy's documented recipe) so nested transactions really nest.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE takes the write lock up front: no deadlock between two
    # read-then-write transactions, which SQLite would otherwise abort.
    # ``Database.read`` transactions never write: a plain (deferred) BEGIN.
    read_only = conn.get_execution_options().get("medbot_read_only")
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
