"""Real scheduler processes: one lock holder per database, clean stop, kill -9 then restart
repeats nothing and loses nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from suivi.monitoring.cli import suivi_command
from suivi.monitoring.models import JobRun
from suivi.monitoring.models import SchedulerLock
from suivi.notifications.models import EmailDelivery
from tests.support.notifications import add_recipients
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.slow
WAIT = 60.0  # upper bound to wait for a process; never a measure of speed


def write_config(db, path: Path, *, jobs: dict[str, str], smtp_port: int | None = None) -> Path:
    lines = [
        "[app]",
        'mode = "dev"',
        'base_url = "http://testserver"',
        "[database]",
        f'url = "{db.url}"',
        "[reports]",
        f'templates_dir = "{db.settings.reports.templates_dir}"',
        f'dir = "{db.work_dir / "reports"}"',
        "[outbox]",
        f'dir = "{db.work_dir / "outbox"}"',
        "[smtp]",
        f'host = "{"127.0.0.1" if smtp_port else ""}"',
        f"port = {smtp_port or 25}",
        "starttls = false",
        "timeout_seconds = 5",
        "[scheduler]",
        "misfire_grace_seconds = 86400",
    ]
    for name, cron in jobs.items():
        lines += [f"[scheduler.jobs.{name}]", f'cron = "{cron}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Scheduler:
    """A `suivi scheduler` child process whose output is collected line by line."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*suivi_command(), "--config", str(config), "scheduler"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + WAIT
        while text not in self.output:
            if self.process.poll() is not None and text not in self.output:
                self.reader.join(5)
                if text in self.output:
                    return
                raise AssertionError(f"process exited without {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {WAIT}s:\n{self.output}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(WAIT)
        self.reader.join(5)
        return code

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up at all
        self.process.wait(WAIT)


def wait_until(condition, what: str, detail=lambda: "") -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}{detail()}")
        time.sleep(0.1)


RARE = {"check_indicators": "0 3 1 1 *"}  # never due during a test


def test_two_schedulers_one_runs(empty_db, tmp_path):
    config = write_config(empty_db, tmp_path / "config.toml", jobs=RARE)
    first = Scheduler(config)
    second = waiting = first
    try:
        first.wait_for("Planificateur démarré")
        second = Scheduler(config)
        assert second.process.wait(WAIT) == 3
        second.reader.join(5)
        assert "Un autre planificateur tourne déjà sur cette base" in second.output
        assert "Planificateur démarré" not in second.output

        # A waiting scheduler takes over when the first one stops (SIGTERM: clean stop).
        waiting = Scheduler(config, env={"SUIVI_SCHEDULER_LOCK_WAIT": "true"})
        time.sleep(1.0)  # give it the chance to (wrongly) start
        assert "Planificateur démarré" not in waiting.output
        assert first.stop() == 0
        assert "Planificateur arrêté" in first.output
        waiting.wait_for("Planificateur démarré")
        assert waiting.stop() == 0
    finally:
        for process in (first, second, waiting):
            if process.process.poll() is None:
                process.kill()
    if empty_db.backend == "sqlite":
        with empty_db.session() as session:
            assert session.execute(select(SchedulerLock)).first() is None  # released


def test_kill_9_during_a_run_then_restart_repeats_nothing_and_loses_nothing(demo_db, tmp_path):
    add_recipients(demo_db)
    server = SmtpServer().start()
    server.handler.delay = 0.3  # slow enough to be killed mid-batch
    # Every minute, and caught up at start: the job starts as soon as the scheduler does.
    config = write_config(
        demo_db,
        tmp_path / "config.toml",
        jobs={"send_reminders": "* * * * *"},
        smtp_port=server.port,
    )
    first = second = None
    try:
        first = Scheduler(config)
        wait_until(lambda: len(server.received) >= 3, "a few reminders sent", lambda: first.output)
        first.kill()
        sent_before_kill = len(server.received)
        with demo_db.session() as session:
            rows = session.execute(select(EmailDelivery)).scalars().all()
            assert any(row.status != "sent" for row in rows) or len(rows) < 10

        server.handler.delay = 0.0
        second = Scheduler(config)
        second.wait_for("Planificateur démarré")

        def finished() -> bool:
            with demo_db.session() as session:
                return (
                    session.execute(
                        select(JobRun).where(
                            JobRun.job_name == "send_reminders", JobRun.outcome == "success"
                        )
                    ).first()
                    is not None
                )

        wait_until(finished, "the restarted run to finish", lambda: second.output)
        assert second.stop() == 0
    finally:
        for scheduler in (first, second):
            if scheduler is not None and scheduler.process.poll() is None:
                scheduler.kill()
        server.stop()

    with demo_db.session() as session:
        rows = session.execute(select(EmailDelivery)).scalars().all()
        runs = session.execute(select(JobRun).order_by(JobRun.id)).scalars().all()
    assert len(rows) >= 5 and {row.status for row in rows} == {"sent"}
    received = server.handler.message_ids()
    assert set(received) == {row.message_id for row in rows}  # nothing lost
    duplicated = {mid for mid in received if received.count(mid) > 1}
    assert len(duplicated) <= 1  # at most the one in flight, with the same Message-ID
    assert len(received) == len(rows) + len(duplicated)
    assert sent_before_kill < len(received)
    assert runs[0].outcome == "failed" and "interrompue" in runs[0].error
