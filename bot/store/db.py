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
        self._echo = echo
        if _sqlite_file(url):
            _create_private(Path(url.removeprefix("sqlite:///").split("?", 1)[0]))
        self._pid = os.getpid()
        self._engine = self._create_engine()
        # the sessions know their database: announcements of new transcript rows are
        # delivered by it after the commit (bot.store.feed)
        info = {"medbot_database": self}
        self.sessions = sessionmaker(self._engine, future=True, expire_on_commit=False,
                                     info=info)
        # same pool; on SQLite its transactions start DEFERRED (no write lock)
        self.readers = sessionmaker(self._read_only(self._engine), future=True,
                                    expire_on_commit=False, info=info)
        self._feed: TranscriptFeed | None = None

    def _create_engine(self) -> Engine:
        # SQL parameters are message texts and openids: never in an error or a log line
        kwargs: dict = {"future": True, "echo": self._echo, "hide_parameters": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if _sqlite_file(self.url):
                # SQLAlchemy 1.4 opens a new file connection per transaction (NullPool);
                # pooled connections skip the connect and PRAGMAs on every use case
                # (docs/benchmarks.md, WeChat channel).
                kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10)
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "handle_error", _sqlite_read_only_is_a_disconnect)
        return engine

    @staticmethod
    def _read_only(engine: Engine) -> Engine:
        return engine.execution_options(medbot_read_only=True)

    @property
    def engine(self) -> Engine:
        """This process's engine (see ``_own_engine``)."""
        return self._own_engine()

    def _own_engine(self) -> Engine:
        """The engine, built anew in a process forked after it was created.

        Sanic's workers (``medbot run --workers N``) are forked from the Rasa server
        process after the channels took this database; a pooled connection used on
        both sides of a fork interleaves two processes' queries on one socket. The
        child opens its own engine and pool and keeps the parent's pool referenced and
        untouched (closing or collecting it would end the parent's sessions); the
        session factories are rebound, so listeners on them (``bot.consent.guard``)
        stay in force.
        """
        if self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():  # not rebuilt by another thread meanwhile
                    _INHERITED_ENGINES.append(self._engine)
                    self._engine = self._create_engine()
                    self.sessions.configure(bind=self._engine)
                    self.readers.configure(bind=self._read_only(self._engine))
                    # the parent's LISTEN connection and thread are not this process's
                    self._feed = None
                    self._pid = os.getpid()
        return self._engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        self._own_engine()
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads. On SQLite it does not take the write lock
        (``BEGIN`` instead of ``BEGIN IMMEDIATE``; WAL readers never wait for a writer),
        so frequent look-ups (console sessions, login checks) never queue behind or in
        front of transcript writes. Writing in it is a bug (SQLite may refuse the upgrade).
        """
        self._own_engine()
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


# Engines a forked process inherited: referenced for the life of the process so that
# their connections (the parent's) are never closed or garbage-collected here.
_INHERITED_ENGINES: list[Engine] = []
_fork_lock = threading.Lock()


def _new_fork_lock() -> None:
    # a lock another thread held at the fork would stay locked in the child forever
    global _fork_lock
    _fork_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_fork_lock)


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
