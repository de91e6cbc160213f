"""The scheduler process (`suivi scheduler`): APScheduler 3 `BackgroundScheduler`, jobs and cron
expressions from `[scheduler.jobs]` in the scheduler's time zone, a run log in `job_run`.

One scheduler per database: a lock is held for the scheduler's whole life — a PostgreSQL
advisory lock on a dedicated connection, or on SQLite a row in `scheduler_lock` refreshed by
a heartbeat (a row whose holder died, or whose heartbeat is stale, is taken over). A second
scheduler says who holds the lock and exits, or waits with `[scheduler] lock_wait = true`.
A scheduler that cannot refresh its lock (heartbeat failed or row taken over) stops, and
every run checks the lock first: two schedulers never run jobs together.

Missed runs: APScheduler keeps its schedule in memory, so after a restart it would not know
what it missed. At start-up we compare each job's latest scheduled time within
`misfire_grace_seconds` with the run log: if no run that went through (``success`` or
``partial``: a partial run's pending emails are the hourly `retry_emails` job's business)
started since, the job runs once now (several missed times collapse into one, as with
`coalesce`). While running, APScheduler's own `coalesce` and `misfire_grace_time` handle
a late wake-up the same way. Jobs work out what is due from the database, so a repeated
run repeats nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

import suivi.models  # noqa: F401 - every table mapped before a job writes
from suivi import clock
from suivi.config import Settings
from suivi.db import is_sqlite
from suivi.db import session_scope
from suivi.db import utcnow
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import registered_jobs
from suivi.monitoring.models import JobRun
from suivi.monitoring.models import SchedulerLock

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
# PostgreSQL advisory lock key (any constant bigint; "SUIVI" in ASCII).
ADVISORY_LOCK_KEY = 0x5355495649
HEARTBEAT_SECONDS = 10.0
# A SQLite lock row whose heartbeat is older than this is abandoned (its holder is gone).
LOCK_STALE_SECONDS = 60.0
LOCK_POLL_SECONDS = 2.0
# How often the main thread looks for a stop request (a signal, a lost lock).
STOP_POLL_SECONDS = 0.2
EXIT_LOCKED = 3
# Runs that went through: a catch-up does not repeat them.
DONE_OUTCOMES = ("success", "partial")


def hostname() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- run log ---------------------------------------------------------------------------------


def run_job(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    as_of: date,
    trigger: str = "manual",
    jobs: dict[str, Callable] | None = None,
) -> JobRun:
    """Run one job now and record it in `job_run` (committed before the job starts, so a
    killed run leaves a trace). The outcome is `JobResult.outcome` (``success``, ``partial``
    or ``failed``); an exception is a ``failed`` run, recorded, logged and not raised."""
    jobs = registered_jobs() if jobs is None else jobs
    if name not in jobs:
        raise KeyError(name)
    with session_scope(engine, write=True) as session:
        run = JobRun(
            job_name=name,
            as_of=as_of,
            trigger=trigger,
            started_at=utcnow(),
            outcome="running",
            host=hostname()[:120],
            pid=os.getpid(),
        )
        session.add(run)
        session.flush()
        run_id = run.id
    log.info("job %s started (as of %s, %s)", name, as_of, trigger)
    context = JobContext(engine=engine, settings=settings, as_of=as_of, trigger=trigger)
    try:
        result = JobResult.of(jobs[name](context))
        values = {
            "outcome": result.outcome,
            "counts": result.counts,
            "error": "\n".join(result.problems)[:4000],
        }
        log.log(
            logging.INFO if result.outcome == "success" else logging.WARNING,
            "job %s finished (%s): %s",
            name,
            result.outcome,
            result.counts,
        )
    except Exception as exc:  # noqa: BLE001 - the run log records every failure
        log.exception("job %s failed", name)
        values = {
            "outcome": "failed",
            "counts": {},
            "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:4000],
        }
    with session_scope(engine, write=True) as session:
        session.execute(
            update(JobRun).where(JobRun.id == run_id).values(finished_at=utcnow(), **values)
        )
        return session.get(JobRun, run_id)


def mark_interrupted_runs(engine: Engine, *, before: datetime) -> int:
    """Runs still marked `running` that cannot be running any more: scheduled runs started
    before this scheduler took the lock, or runs of a dead process on this host."""
    host = hostname()[:120]
    with session_scope(engine, write=True) as session:
        rows = session.execute(
            select(JobRun.id, JobRun.trigger, JobRun.host, JobRun.pid, JobRun.started_at).where(
                JobRun.outcome == "running"
            )
        ).all()
        dead = [
            row.id
            for row in rows
            if (row.host == host and row.pid is not None and not pid_alive(row.pid))
            or (row.trigger in ("schedule", "catch-up") and row.started_at < before)
        ]
        if dead:
            session.execute(
                update(JobRun)
                .where(JobRun.id.in_(dead))
                .values(
                    outcome="failed",
                    finished_at=utcnow(),
                    error="Exécution interrompue (processus arrêté).",
                )
            )
    return len(dead)


def last_runs(engine: Engine, *, outcomes: tuple[str, ...] | None = None) -> dict[str, JobRun]:
    """The latest run of each job (optionally with one of the given outcomes)."""
    latest = select(JobRun.job_name, func.max(JobRun.id).label("id")).group_by(JobRun.job_name)
    if outcomes is not None:
        latest = latest.where(JobRun.outcome.in_(outcomes))
    latest = latest.subquery()
    with session_scope(engine) as session:
        rows = session.execute(select(JobRun).join(latest, latest.c.id == JobRun.id)).scalars()
        return {run.job_name: run for run in rows}


def recent_runs(engine: Engine, *, limit: int = 50, job_name: str | None = None) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job_name:
        query = query.where(JobRun.job_name == job_name)
    with session_scope(engine) as session:
        return list(session.execute(query).scalars())


# -- schedules -------------------------------------------------------------------------------


def trigger_for(cron: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))


def missed_fire_time(
    trigger: CronTrigger, *, last_run_at: datetime | None, now: datetime, grace: timedelta
) -> datetime | None:
    """The latest scheduled time in the grace window with no run started after it, or None.
    Coalesced: however many times were missed, at most one is returned."""
    start = now - grace
    if last_run_at is not None and last_run_at > start:
        start = last_run_at
    latest = None
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str
    enabled: bool
    implemented: bool
    trigger: CronTrigger


def scheduled_jobs(settings: Settings) -> list[ScheduledJob]:
    available = registered_jobs()
    return [
        ScheduledJob(
            name=name,
            cron=job.cron,
            enabled=job.enabled,
            implemented=name in available,
            trigger=trigger_for(job.cron, settings.scheduler.timezone),
        )
        for name, job in sorted(settings.scheduler.jobs.items())
    ]


def jobs_to_catch_up(engine: Engine, settings: Settings, *, now: datetime) -> list[str]:
    """Jobs whose latest scheduled time (within the grace window) has no run that went
    through (`DONE_OUTCOMES`)."""
    done = last_runs(engine, outcomes=DONE_OUTCOMES)
    grace = timedelta(seconds=settings.scheduler.misfire_grace_seconds)
    names = []
    for item in scheduled_jobs(settings):
        if not (item.enabled and item.implemented):
            continue
        last = done.get(item.name)
        missed = missed_fire_time(
            item.trigger, last_run_at=last.started_at if last else None, now=now, grace=grace
        )
        if missed is not None:
            names.append(item.name)
    return names


# -- the lock --------------------------------------------------------------------------------


class LockBusyError(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class SchedulerLockHandle:
    """The lock held for the scheduler's life; `check()` refreshes it, False = lost."""

    def check(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def release(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class AdvisoryLock(SchedulerLockHandle):
    """PostgreSQL: a session-level advisory lock on a connection kept open (autocommit, so no
    transaction stays open). The server releases it if the process dies."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = self.connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar()
        if not got:
            holder = self.connection.execute(
                text(
                    "SELECT coalesce(a.client_hostname::text, 'local') || ' pid ' || l.pid"
                    " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted"
                    " AND l.objid = :low AND l.classid = :high"
                ),
                {"low": ADVISORY_LOCK_KEY & 0xFFFFFFFF, "high": ADVISORY_LOCK_KEY >> 32},
            ).scalar()
            self.connection.close()
            raise LockBusyError(f"PostgreSQL, serveur {holder or 'inconnu'}")

    def check(self) -> bool:
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a lost connection means a lost lock
            log.exception("lost the scheduler's database connection (and its lock)")
            return False

    def release(self) -> None:
        try:
            self.connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        finally:
            self.connection.close()


class RowLock(SchedulerLockHandle):
    """SQLite: a row in `scheduler_lock` with a heartbeat."""

    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.now = now
        self.holder = f"{hostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        with session_scope(engine, write=True) as session:
            row = session.get(SchedulerLock, LOCK_NAME)
            current = self.now()
            if row is None:
                session.add(
                    SchedulerLock(
                        name=LOCK_NAME,
                        holder=self.holder,
                        acquired_at=current,
                        heartbeat_at=current,
                    )
                )
            elif self._abandoned(row, current):
                log.warning("taking over the scheduler lock abandoned by %s", row.holder)
                row.holder = self.holder
                row.acquired_at = current
                row.heartbeat_at = current
            else:
                raise LockBusyError(
                    f"{row.holder} (signe de vie {row.heartbeat_at:%Y-%m-%d %H:%M:%S})"
                )

    @staticmethod
    def _abandoned(row: SchedulerLock, current: datetime) -> bool:
        if current - row.heartbeat_at > timedelta(seconds=LOCK_STALE_SECONDS):
            return True
        host, _, rest = row.holder.partition(":")
        pid = rest.partition(":")[0]
        return host == hostname() and pid.isdigit() and not pid_alive(int(pid))

    def check(self) -> bool:
        with session_scope(self.engine, write=True) as session:
            refreshed = session.execute(
                update(SchedulerLock)
                .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder)
                .values(heartbeat_at=self.now())
            ).rowcount
        return refreshed == 1

    def release(self) -> None:
        with session_scope(self.engine, write=True) as session:
            session.execute(
                delete(SchedulerLock).where(
                    SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder
                )
            )


def acquire_lock(engine: Engine) -> SchedulerLockHandle:
    """Take the scheduler lock now or raise LockBusyError."""
    return RowLock(engine) if is_sqlite(engine) else AdvisoryLock(engine)


# -- the process -----------------------------------------------------------------------------


class SchedulerProcess:
    """Lock, catch-up, cron jobs, heartbeat, clean stop. `run()` blocks until stopped."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        scheduler: BackgroundScheduler | None = None,
        echo: Callable[[str], None] = print,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tz = ZoneInfo(settings.scheduler.timezone)
        self.scheduler = scheduler or BackgroundScheduler(timezone=self.tz)
        self.echo = echo
        self.heartbeat_seconds = heartbeat_seconds
        self.stop_requested = threading.Event()
        self.lock_lost = False
        self.lock: SchedulerLockHandle | None = None
        self._running: dict[str, threading.Lock] = {}
        # Set by the signal handler only: the main thread turns it into a stop request.
        self._signalled = False
        # The heartbeat and the job threads check the lock; a PostgreSQL advisory lock is one
        # connection, which two threads must not use at once.
        self._lock_check = threading.Lock()

    def holds_lock(self) -> bool:
        """Refresh the lock now. False (logged) when it is lost — taken over, connection gone —
        or cannot be refreshed (e.g. SQLite stayed locked by another writer past the busy
        timeout): either way, this scheduler can no longer be sure it is the only one."""
        if self.lock is None:
            return False
        with self._lock_check:
            try:
                held = self.lock.check()
            except Exception:  # noqa: BLE001 - an unrefreshed lock may be taken over
                log.exception("could not refresh the scheduler lock")
                return False
        if not held:
            log.error("the scheduler lock is now held by another scheduler")
        return held

    def lose_lock(self, why: str) -> None:
        log.error("%s: stopping the scheduler", why)
        self.lock_lost = True
        self.request_stop()

    # The function APScheduler calls.
    def execute(self, name: str, trigger: str = "schedule") -> None:
        guard = self._running.setdefault(name, threading.Lock())
        if not guard.acquire(blocking=False):
            log.warning("job %s is still running; this run is skipped", name)
            return
        try:
            if self.stop_requested.is_set():
                log.info("job %s skipped: the scheduler is stopping", name)
                return
            if not self.holds_lock():
                self.lose_lock(f"job {name} skipped, the scheduler lock is no longer held")
                return
            as_of = clock.today(self.tz)
            run_job(self.engine, self.settings, name, as_of=as_of, trigger=trigger)
        finally:
            guard.release()

    def add_jobs(self, now: datetime) -> list[str]:
        """Register the cron jobs, and one immediate run for each missed one."""
        config = self.settings.scheduler
        for item in scheduled_jobs(self.settings):
            if not item.enabled:
                log.info("job %s is disabled in the configuration", item.name)
                continue
            if not item.implemented:
                log.warning("job %s is configured but not available; skipped", item.name)
                continue
            self.scheduler.add_job(
                self.execute,
                item.trigger,
                args=[item.name, "schedule"],
                id=item.name,
                name=item.name,
                coalesce=config.coalesce,
                misfire_grace_time=config.misfire_grace_seconds,
                max_instances=1,
                replace_existing=True,
            )
        missed = jobs_to_catch_up(self.engine, self.settings, now=now)
        for name in missed:
            log.info("job %s missed its last scheduled run: running it now", name)
            self.scheduler.add_job(
                self.execute,
                "date",
                run_date=now,
                args=[name, "catch-up"],
                id=f"{name}:catch-up",
                name=f"{name} (rattrapage)",
                misfire_grace_time=config.misfire_grace_seconds,
                replace_existing=True,
            )
        return missed

    def acquire(self) -> bool:
        """Take the lock, waiting for it if configured. False = not acquired."""
        while True:
            try:
                self.lock = acquire_lock(self.engine)
                return True
            except LockBusyError as busy:
                if not self.settings.scheduler.lock_wait:
                    self.echo(
                        "Un autre planificateur tourne déjà sur cette base "
                        f"({busy.holder}) : arrêt."
                    )
                    return False
                log.info("scheduler lock held by %s; waiting", busy.holder)
            if self.wait_for_stop(LOCK_POLL_SECONDS):
                return False

    def request_stop(self) -> None:
        """Ask the main thread to stop; safe from any thread (not from a signal handler)."""
        if self.stop_requested.is_set():
            return
        log.info("stopping the scheduler (waiting for running jobs)")
        self.stop_requested.set()

    def wait_for_stop(self, seconds: float | None = None) -> bool:
        """Block the main thread until a stop is requested (True) or `seconds` pass (False)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            if self._signalled:
                self.request_stop()
            if self.stop_requested.is_set():
                return True
            left = STOP_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(STOP_POLL_SECONDS, left))

    def _on_signal(self, *_args) -> None:
        # A handler runs between two bytecodes of the main thread, possibly inside a lock it
        # holds: it only sets a flag, which the main thread's wait turns into a stop.
        self._signalled = True

    def _heartbeat(self) -> None:
        """Refresh the lock every `HEARTBEAT_SECONDS`; the first failure stops the scheduler
        (a stale lock row is taken over by another scheduler after `LOCK_STALE_SECONDS`)."""
        while not self.stop_requested.wait(self.heartbeat_seconds):
            if not self.holds_lock():
                self.lose_lock("the scheduler lock could not be kept")
                return

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def run(self) -> int:
        started = utcnow()
        if not self.acquire():
            return 0 if self.stop_requested.is_set() else EXIT_LOCKED
        try:
            interrupted = mark_interrupted_runs(self.engine, before=started)
            if interrupted:
                log.warning("%d interrupted job run(s) marked as failed", interrupted)
            heartbeat = threading.Thread(target=self._heartbeat, daemon=True)
            heartbeat.start()
            missed = self.add_jobs(clock.now_in(self.tz))
            self.echo(
                "Planificateur démarré ("
                + ", ".join(job.name for job in self.scheduler.get_jobs() if ":" not in job.id)
                + (f" ; rattrapage : {', '.join(missed)}" if missed else "")
                + ")."
            )
            # The jobs run in the scheduler's threads; the main thread only waits for a stop
            # (a SIGTERM at any instant, even before start(), is seen here), then lets the
            # running jobs finish.
            self.scheduler.start()
            self.wait_for_stop()
            self.scheduler.shutdown(wait=True)
            if self.lock_lost:
                self.echo("Verrou du planificateur perdu : arrêt (aucune tâche lancée depuis).")
                return EXIT_LOCKED
            return 0
        finally:
            self.stop_requested.set()
            if self.lock is not None:
                try:
                    self.lock.release()
                except Exception:  # noqa: BLE001 - a lost lock may not be releasable
                    log.exception("could not release the scheduler lock")
            self.echo("Planificateur arrêté.")


def next_run(item: ScheduledJob, now: datetime) -> datetime | None:
    return item.trigger.get_next_fire_time(None, now)
