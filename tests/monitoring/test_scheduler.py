"""Scheduler logic with a frozen clock: missed runs caught up once, the lock, job settings."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy import update

from suivi.clock import frozen_at
from suivi.config import JobSettings
from suivi.monitoring.models import JobRun
from suivi.monitoring.models import SchedulerLock
from suivi.scheduler import LOCK_STALE_SECONDS
from suivi.scheduler import LockBusyError
from suivi.scheduler import RowLock
from suivi.scheduler import SchedulerProcess
from suivi.scheduler import acquire_lock
from suivi.scheduler import jobs_to_catch_up
from suivi.scheduler import mark_interrupted_runs
from suivi.scheduler import missed_fire_time
from suivi.scheduler import run_job
from suivi.scheduler import trigger_for
from tests.support.scheduler import PARIS
from tests.support.scheduler import catch_up_settings
from tests.support.scheduler import paris
from tests.support.scheduler import record_run

DAY = timedelta(days=1)


def daily():
    return trigger_for("15 6 * * *", "Europe/Paris")


def test_missed_daily_run_is_found_once():
    now = paris(2026, 11, 26, 9, 0)
    # Down at 06:15 today, last run yesterday: one missed run.
    missed = missed_fire_time(
        daily(), last_run_at=paris(2026, 11, 25, 6, 15, 3), now=now, grace=DAY
    )
    assert missed == paris(2026, 11, 26, 6, 15)
    # It ran at 06:15: nothing missed.
    assert (
        missed_fire_time(daily(), last_run_at=paris(2026, 11, 26, 6, 15, 2), now=now, grace=DAY)
        is None
    )


def test_several_missed_runs_coalesce_into_one():
    now = paris(2026, 11, 26, 9, 0)
    missed = missed_fire_time(
        daily(), last_run_at=paris(2026, 11, 20, 6, 15), now=now, grace=timedelta(days=5)
    )
    assert missed == paris(2026, 11, 26, 6, 15)  # only the latest, once


def test_a_run_missed_beyond_the_grace_period_is_skipped():
    weekly = trigger_for("0 8 * * mon", "Europe/Paris")
    # Monday 08:00 missed, back on Wednesday: beyond 24 hours.
    assert (
        missed_fire_time(weekly, last_run_at=None, now=paris(2026, 11, 25, 9, 0), grace=DAY) is None
    )
    assert missed_fire_time(
        weekly, last_run_at=None, now=paris(2026, 11, 23, 20, 0), grace=DAY
    ) == paris(2026, 11, 23, 8, 0)


def test_schedules_follow_paris_time_across_daylight_saving():
    trigger = daily()
    summer = trigger.get_next_fire_time(None, paris(2026, 7, 1, 0, 0))
    winter = trigger.get_next_fire_time(None, paris(2026, 12, 1, 0, 0))
    assert summer.astimezone(UTC).hour == 4 and winter.astimezone(UTC).hour == 5


def test_missed_run_caught_up_once_with_frozen_clock(demo_db):
    settings = catch_up_settings(demo_db)
    settings.scheduler.misfire_grace_seconds = 86_400
    record_run(demo_db, "check_indicators", paris(2026, 11, 25, 6, 15, 4))
    record_run(demo_db, "send_reminders", paris(2026, 11, 23, 8, 0, 2))
    now = paris(2026, 11, 26, 9, 30)  # the scheduler was down at 06:15

    assert jobs_to_catch_up(demo_db.engine, settings, now=now) == ["check_indicators"]

    # The scheduler registers one immediate catch-up run next to the cron jobs.
    process = SchedulerProcess(
        settings, demo_db.engine, scheduler=BackgroundScheduler(timezone=PARIS)
    )
    assert process.add_jobs(now) == ["check_indicators"]
    jobs = {job.id: job for job in process.scheduler.get_jobs()}
    assert set(jobs) == {"check_indicators", "send_reminders", "check_indicators:catch-up"}
    assert jobs["check_indicators:catch-up"].trigger.run_date == now

    # The catch-up runs (its start is logged at "now"); afterwards nothing is due.
    run = run_job(
        demo_db.engine, settings, "check_indicators", as_of=now.date(), trigger="catch-up"
    )
    with demo_db.session() as session:
        session.execute(update(JobRun).where(JobRun.id == run.id).values(started_at=now))
    assert jobs_to_catch_up(demo_db.engine, settings, now=now + timedelta(minutes=1)) == []


def test_failed_or_interrupted_run_is_caught_up_again(demo_db):
    settings = catch_up_settings(demo_db)
    record_run(demo_db, "check_indicators", paris(2026, 11, 26, 6, 15, 1), outcome="failed")
    record_run(demo_db, "send_reminders", paris(2026, 11, 23, 8, 0, 2))
    now = paris(2026, 11, 26, 9, 30)
    assert jobs_to_catch_up(demo_db.engine, settings, now=now) == ["check_indicators"]


def test_cron_jobs_use_configured_coalesce_and_grace(empty_db):
    settings = catch_up_settings(empty_db)
    settings.scheduler.misfire_grace_seconds = 7200
    process = SchedulerProcess(
        settings, empty_db.engine, scheduler=BackgroundScheduler(timezone=PARIS)
    )
    process.add_jobs(paris(2026, 11, 26, 5, 0))  # nothing missed yet today (grace 2 h)
    jobs = {job.id: job for job in process.scheduler.get_jobs()}
    assert set(jobs) == {"check_indicators", "send_reminders"}
    job = jobs["check_indicators"]
    assert job.coalesce is True and job.misfire_grace_time == 7200 and job.max_instances == 1
    assert str(job.trigger.timezone) == "Europe/Paris"


def test_unimplemented_and_disabled_jobs_are_not_scheduled(empty_db):
    settings = empty_db.settings
    settings.scheduler.jobs = {
        "check_indicators": JobSettings(cron="15 6 * * *", enabled=False),
        "not_written_yet": JobSettings(cron="0 5 * * *"),
    }
    process = SchedulerProcess(
        settings, empty_db.engine, scheduler=BackgroundScheduler(timezone=PARIS)
    )
    process.add_jobs(paris(2026, 11, 26, 9, 0))
    assert process.scheduler.get_jobs() == []


def test_lock_taken_once(empty_db):
    first = acquire_lock(empty_db.engine)
    try:
        with pytest.raises(LockBusyError):
            acquire_lock(empty_db.engine)
        assert first.check()
    finally:
        first.release()
    second = acquire_lock(empty_db.engine)
    second.release()


def test_sqlite_lock_of_a_dead_or_silent_holder_is_taken_over(empty_db):
    if empty_db.backend != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL releases advisory locks itself")
    with empty_db.session() as session:
        session.add(
            SchedulerLock(
                name="scheduler",
                holder="elsewhere:1234:abcd",
                acquired_at=datetime.now(UTC),
                heartbeat_at=datetime.now(UTC),
            )
        )
    with pytest.raises(LockBusyError, match="elsewhere:1234"):
        RowLock(empty_db.engine)
    # Its heartbeat stops: after LOCK_STALE_SECONDS the lock is abandoned.
    later = datetime.now(UTC) + timedelta(seconds=LOCK_STALE_SECONDS + 1)
    lock = RowLock(empty_db.engine, now=lambda: later)
    with empty_db.session() as session:
        assert session.get(SchedulerLock, "scheduler").holder == lock.holder
    lock.release()
    with empty_db.session() as session:
        assert session.execute(select(SchedulerLock)).first() is None


def test_interrupted_runs_are_marked(empty_db):
    start = datetime.now(UTC)
    record_run(empty_db, "check_indicators", start - timedelta(hours=1), outcome="running")
    assert mark_interrupted_runs(empty_db.engine, before=start) == 1
    with empty_db.session() as session:
        run = session.execute(select(JobRun)).scalar_one()
        assert run.outcome == "failed" and "interrompue" in run.error


def test_job_runs_use_the_paris_date(monkeypatch, empty_db):
    seen = []
    settings = empty_db.settings
    process = SchedulerProcess(
        settings, empty_db.engine, scheduler=BackgroundScheduler(timezone=PARIS)
    )
    monkeypatch.setattr(
        "suivi.scheduler.run_job", lambda engine, settings, name, **kw: seen.append((name, kw))
    )
    assert process.acquire()  # a run checks the lock first
    try:
        # 23:30 UTC on New Year's Eve is already the next day (and year) in Paris.
        with frozen_at(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)):
            process.execute("check_indicators")
    finally:
        process.lock.release()
    assert seen and seen[0][1]["as_of"] == date(2027, 1, 1)
