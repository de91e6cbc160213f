"""SQLite writers of one process queue in arrival order (`suivi.db.WriterQueue`) before
`BEGIN IMMEDIATE`: every concurrent write commits, none is lost, and a write session opened
inside another one in the same thread never waits for itself."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from suivi.db import make_engine
from suivi.db import session_scope
from suivi.db import writer_queue


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", busy_timeout_ms=5_000)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        connection.execute(text("CREATE TABLE entry (id INTEGER PRIMARY KEY, writer INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def increment(engine, writer: int) -> None:
    """A read-modify-write: lost if two writers ever overlapped."""
    with session_scope(engine, write=True) as session:
        value = session.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
        session.execute(text("INSERT INTO entry (writer) VALUES (:w)"), {"w": writer})
        session.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_eight_concurrent_writers_all_commit_and_none_is_lost(engine):
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        start.wait()
        try:
            for _ in range(25):
                increment(engine, number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM counter")).scalar_one() == 200
        assert connection.execute(text("SELECT count(*) FROM entry")).scalar_one() == 200
    queue = writer_queue(engine)
    assert queue is not None and queue._holder is None and not queue._waiting


def test_writers_take_turns_in_arrival_order(engine):
    queue = writer_queue(engine)
    arrived: list[int] = []
    threads = []
    with session_scope(engine, write=True) as holder:
        holder.execute(text("UPDATE counter SET value = value"))  # holds the queue
        for number in range(6):
            thread = threading.Thread(target=increment, args=(engine, number))
            thread.start()
            threads.append(thread)
            wait_until(lambda n=number: len(queue._waiting) == n + 1, f"writer {number} queued")
            arrived.append(number)
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        committed = list(connection.execute(text("SELECT writer FROM entry ORDER BY id")).scalars())
    assert committed == arrived == list(range(6))


def test_write_session_inside_another_in_one_thread_does_not_wait_for_itself(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nested.db'}", busy_timeout_ms=300)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE entry (id INTEGER PRIMARY KEY, writer INTEGER)"))
    # The outer session has not written yet: the inner one writes and commits first.
    with session_scope(engine, write=True) as outer:
        with session_scope(engine, write=True) as inner:
            inner.execute(text("INSERT INTO entry (writer) VALUES (2)"))
        outer.execute(text("INSERT INTO entry (writer) VALUES (1)"))
    # The outer session holds SQLite's write lock: the inner one gets SQLite's own answer
    # after the busy timeout (as without the queue), it does not hang in the queue.
    began = time.monotonic()
    with session_scope(engine, write=True) as outer:
        outer.execute(text("INSERT INTO entry (writer) VALUES (3)"))
        with (
            pytest.raises(OperationalError, match="locked"),
            session_scope(engine, write=True) as inner,
        ):
            inner.execute(text("INSERT INTO entry (writer) VALUES (4)"))
    assert time.monotonic() - began < 5
    # Nothing stays held: another thread writes at once.
    thread_errors = []

    def other_writer() -> None:
        try:
            with session_scope(engine, write=True) as session:
                session.execute(text("INSERT INTO entry (writer) VALUES (5)"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            thread_errors.append(exc)

    other = threading.Thread(target=other_writer)
    other.start()
    other.join(timeout=10)
    assert not other.is_alive() and thread_errors == []
    with engine.connect() as connection:
        writers = list(connection.execute(text("SELECT writer FROM entry ORDER BY id")).scalars())
    assert writers == [2, 1, 3, 5]
    queue = writer_queue(engine)
    assert queue._holder is None and not queue._waiting
    engine.dispose()
