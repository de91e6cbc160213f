"""Scheduler helpers: instants on Paris time, a job run recorded as if the scheduler had run
it, and settings with a daily check and a weekly reminder to catch up."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from suivi.config import JobSettings
from suivi.monitoring.models import JobRun

PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def record_run(db, name: str, started_at: datetime, outcome: str = "success") -> None:
    with db.session() as session:
        session.add(
            JobRun(
                job_name=name,
                as_of=started_at.date(),
                trigger="schedule",
                started_at=started_at,
                finished_at=started_at,
                outcome=outcome,
            )
        )


def catch_up_settings(db):
    settings = db.settings
    settings.scheduler.jobs = {
        "check_indicators": JobSettings(cron="15 6 * * *"),
        "send_reminders": JobSettings(cron="0 8 * * mon"),
    }
    return settings
