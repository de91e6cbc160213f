"""Issue 15 #10: a scheduler that can no longer keep its lock stops, and checks the lock
before every run — two schedulers never run jobs together."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url

from suivi.db import make_engine
from suivi.db import utcnow
from suivi.monitoring.models import JobRun
from suivi.scheduler import ADVISORY_LOCK_KEY
from suivi.scheduler import EXIT_LOCKED
from suivi.scheduler import LOCK_STALE_SECONDS
from suivi.scheduler import LockBusyError
from suivi.scheduler import RowLock
from suivi.scheduler import SchedulerProcess
from suivi.scheduler import acquire_lock

PARIS = ZoneInfo("Europe/Paris")


def runs(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(JobRun)).scalar_one()


def process_for(db, engine, **options) -> SchedulerProcess:
    settings = db.settings
    settings.scheduler.jobs = {}
    return SchedulerProcess(
        settings, engine, scheduler=BackgroundScheduler(timezone=PARIS), **options
    )


def take_over(db):
    """Another scheduler gets the lock: on SQLite after the first one's heartbeat went
    stale; on PostgreSQL after the first one's connection was cut."""
    if db.backend == "sqlite":
        later = utcnow() + timedelta(seconds=LOCK_STALE_SECONDS + 1)
        return RowLock(db.engine, now=lambda: later)
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND objid = :low AND classid = :high"
                " AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            ),
            {"low": ADVISORY_LOCK_KEY & 0xFFFFFFFF, "high": ADVISORY_LOCK_KEY >> 32},
        )
    admin.dispose()
    deadline = time.monotonic() + 10
    while True:  # the terminated backend lets go of its locks as it exits
        try:
            return acquire_lock(db.engine)
        except LockBusyError:
            assert time.monotonic() < deadline, "the advisory lock was never released"
            time.sleep(0.05)


def test_a_scheduler_whose_lock_was_taken_over_runs_no_more_jobs(empty_db):
    first = process_for(empty_db, empty_db.engine, echo=lambda _line: None)
    assert first.acquire()
    try:
        first.execute("check_indicators")
        assert runs(empty_db.engine) == 1
        second = take_over(empty_db)
        try:
            first.execute("check_indicators")
            assert runs(empty_db.engine) == 1  # skipped: the lock is someone else's
            assert first.lock_lost and first.stop_requested.is_set()
            assert second.check()  # the new holder keeps it
        finally:
            second.release()
    finally:
        # A cut PostgreSQL connection cannot unlock (the server already did).
        with contextlib.suppress(Exception):
            first.lock.release()


def test_heartbeat_failure_stops_the_scheduler(empty_db):
    if empty_db.backend != "sqlite":
        pytest.skip("the heartbeat refreshes SQLite's lock row")
    # A short busy timeout: another writer holding SQLite's lock longer makes it fail.
    engine = make_engine(empty_db.url, busy_timeout_ms=200)
    lines: list[str] = []
    process = process_for(empty_db, engine, echo=lines.append, heartbeat_seconds=0.1)
    exit_code: list[int] = []
    thread = threading.Thread(target=lambda: exit_code.append(process.run()), daemon=True)
    thread.start()
    blocker = None
    try:
        deadline = time.monotonic() + 10
        while not any(line.startswith("Planificateur démarré") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.01)
        blocker = sqlite3.connect(make_url(empty_db.url).database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # held well past the busy timeout
        thread.join(timeout=15)
        assert not thread.is_alive(), "the scheduler kept running without its lock"
    finally:
        if blocker is not None:
            blocker.execute("ROLLBACK")
            blocker.close()
        process.request_stop()
    assert exit_code == [EXIT_LOCKED]
    assert process.lock_lost
    assert "Verrou du planificateur perdu : arrêt (aucune tâche lancée depuis)." in lines
    process.execute("check_indicators")
    assert runs(engine) == 0
    engine.dispose()


def test_a_stop_signal_right_after_the_start_message_stops_the_scheduler(empty_db):
    """CI once sent SIGTERM between « Planificateur démarré » and the start of APScheduler's
    loop: the stop was recorded but nothing ever acted on it, and the process hung."""
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("Planificateur démarré"):
            process._on_signal(signal.SIGTERM, None)  # what the signal handler runs

    process = process_for(empty_db, empty_db.engine, echo=echo)
    exit_code: list[int] = []
    thread = threading.Thread(target=lambda: exit_code.append(process.run()), daemon=True)
    thread.start()
    thread.join(timeout=15)
    alive = thread.is_alive()
    if alive:
        process.request_stop()
    assert not alive, "the scheduler ignored a stop requested as it started"
    assert exit_code == [0]
    assert lines[-1] == "Planificateur arrêté."
    assert not process.scheduler.running
