"""Engine and sessions. SQLite (default) gets WAL, foreign keys, a busy timeout and
`BEGIN IMMEDIATE` for writing sessions; PostgreSQL goes through psycopg 3.

SQLite admits one writer at a time, and a writer that finds the lock taken sleeps in
SQLite's busy handler (steps up to 100 ms) rather than waking when it is free: under
concurrent writes the slowest requests waited most of a second. So the writing sessions
of one process first queue, in order, in the engine's `WriterQueue`, and only then send
`BEGIN IMMEDIATE`; other processes (the scheduler, the CLI) still meet at SQLite's lock.

Services never commit: the request or the job opens a session with `session_scope()` and
the boundary commits (or rolls back on error).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from functools import lru_cache

from sqlalchemy import DateTime
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session
from sqlmodel import create_engine

from suivi import clock


def utcnow() -> datetime:
    """The current instant in UTC, read from the one clock (`suivi.clock`)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC on every backend, returned as aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


class WriterQueue:
    """A first-come, first-served lock for the writing transactions of one SQLite engine,
    held by a pooled connection from its `BEGIN IMMEDIATE` until it goes back to the pool
    (after its commit or rollback) — whichever thread commits.

    A thread that already holds the queue through another connection (a write session
    opened inside another one) is not queued — it would wait for itself: SQLite's own lock
    decides, as without the queue. A writer that waits longer than the busy timeout gets
    SQLite's "database is locked" error, as it would have from SQLite.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._mutex = threading.Lock()
        self._holder: object | None = None
        self._holder_thread: int | None = None
        self._waiting: deque[tuple[object, int, threading.Lock]] = deque()

    def acquire(self, token: object) -> bool:
        """Wait for `token`'s turn. False: not queued (this thread already holds it)."""
        me = threading.get_ident()
        with self._mutex:
            if self._holder is None and not self._waiting:
                self._holder, self._holder_thread = token, me
                return True
            if self._holder_thread == me:
                return False
            turn = threading.Lock()
            turn.acquire()
            entry = (token, me, turn)
            self._waiting.append(entry)
        if turn.acquire(timeout=self.timeout_seconds):
            return True
        with self._mutex:
            if self._holder is token:  # handed over just as the wait timed out
                return True
            self._waiting.remove(entry)
        raise sqlite3.OperationalError(
            f"database is locked (waited {self.timeout_seconds:.0f} s for the writer queue)"
        )

    def release(self, token: object) -> None:
        """Hand the queue to the writer waiting longest (`release` is called by the thread
        that returns the connection, not necessarily the one that queued)."""
        with self._mutex:
            if self._holder is not token:
                return
            if self._waiting:
                self._holder, self._holder_thread, turn = self._waiting.popleft()
                turn.release()
            else:
                self._holder = self._holder_thread = None


# Key of a pooled connection's `info` holding its place in the writer queue.
_QUEUE_PLACE = "suivi_writer_queue"
_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The writer queue of an SQLite engine made by `make_engine` (None for PostgreSQL)."""
    return _QUEUES.get(engine)


def make_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = 10_000) -> Engine:
    url = normalize_url(url)
    if not is_sqlite(url):
        return create_engine(url, echo=echo, pool_pre_ping=True)

    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    queue = WriterQueue(busy_timeout_ms / 1000)
    _QUEUES[engine] = queue

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A writing session takes the write lock up front, so it waits on busy_timeout
        # instead of failing later when a read lock cannot be upgraded; and it first waits
        # for its turn among this process's writers.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            info = connection.connection.info
            if _QUEUE_PLACE not in info:
                token = object()
                if queue.acquire(token):
                    info[_QUEUE_PLACE] = token
        connection.exec_driver_sql(f"BEGIN {mode}")

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_connection, record):
        # Committed or rolled back (a session gives its connection back right after): next.
        token = record.info.pop(_QUEUE_PLACE, None)
        if token is not None:
            queue.release(token)

    return engine


@lru_cache(maxsize=8)
def _cached_engine(url: str, echo: bool, busy_timeout_ms: int) -> Engine:
    return make_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)


def get_engine(settings=None) -> Engine:
    """The process-wide engine for these settings (one pool per URL)."""
    from suivi.config import load_settings

    settings = settings or load_settings()
    db = settings.database
    return _cached_engine(normalize_url(db.url), db.echo, db.busy_timeout_ms)


def dispose_engines() -> None:
    """Forget cached engines (tests and forked children call this)."""
    _cached_engine.cache_clear()
    _writing.cache_clear()


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close.

    `write=True` starts SQLite transactions with BEGIN IMMEDIATE.
    """
    session = open_session(engine, write=write)
    try:
        yield session
    except BaseException:
        finish_session(session, commit=False)
        raise
    finish_session(session, commit=True)


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """The start of `session_scope`. No I/O: the connection is taken at the first query."""
    return Session(bind=_writing(engine) if write else engine, expire_on_commit=False)


@lru_cache(maxsize=16)
def _writing(engine: Engine) -> Engine:
    """`engine` starting SQLite transactions with BEGIN IMMEDIATE (see `_begin`). Made once
    per engine: it shares the engine's pool, and making it costs more than a short query."""
    writing = engine.execution_options(sqlite_begin="IMMEDIATE")
    _READING[writing] = engine
    return writing


_READING: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def reading_engine(bind: Engine) -> Engine:
    """The engine of a session's bind, for a read transaction (SQLite: BEGIN DEFERRED, no
    write lock) even when the session writes."""
    return _READING.get(bind, bind)


def finish_session(session: Session, *, commit: bool) -> None:
    """The end of `session_scope`: commit (or roll back), roll back if the commit fails,
    always close."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_status(engine: Engine) -> dict[str, str]:
    """What /healthz reports: reachable or not, and the schema revision."""
    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return {"database": "ok", "backend": engine.url.get_backend_name(), "revision": revision}
    except Exception as exc:  # noqa: BLE001 - health check reports, never raises
        return {"database": "error", "backend": engine.url.get_backend_name(), "error": str(exc)}
