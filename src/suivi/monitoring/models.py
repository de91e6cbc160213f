"""What the scheduled checks produce: alerts, the job run log, the scheduler lock."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import Text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import ALERT_KINDS
from suivi.codes import JOB_OUTCOMES
from suivi.modelbase import alert_table_args
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import json_field
from suivi.modelbase import timestamp_field


class Alert(SQLModel, table=True):
    __table_args__ = (
        *alert_table_args("alert", "indicator_id", ALERT_KINDS),
        Index("ix_alert_indicator", "indicator_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    indicator_id: int = Field(foreign_key="indicator.id")
    kind: str = Field(max_length=16)
    opened_on: date
    resolved_on: date | None = None
    details: dict = json_field()
    created_at: datetime = created_at_field()


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (
        enum_check("outcome", JOB_OUTCOMES),
        Index("ix_job_run_job_started", "job_name", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_name: str = Field(max_length=60)
    as_of: date
    trigger: str = Field(default="schedule", max_length=20)
    started_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field()
    outcome: str = Field(default="running", max_length=10)
    counts: dict = json_field()
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    host: str = Field(default="", max_length=120)
    pid: int | None = None


class SchedulerLock(SQLModel, table=True):
    """The lock row a scheduler holds on SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "scheduler_lock"

    name: str = Field(primary_key=True, max_length=60)
    holder: str = Field(max_length=200)
    acquired_at: datetime = created_at_field()
    heartbeat_at: datetime = created_at_field()


class IndicatorChange(SQLModel, table=True):
    """A note that an indicator's inputs changed, so the next check must judge it again.

    Written only by database triggers (migration 0002) on every insert, update or delete of
    a measurement or a target, every update of an indicator and every change of a
    commitment's status — whoever writes (services, imports, plain SQL), nothing is missed.
    The check deletes exactly the notes it read; no foreign key, so a note never blocks a
    write.
    """

    __tablename__ = "indicator_change"

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int


class IndicatorCheck(SQLModel, table=True):
    """What the daily check last did for one indicator: judged on `checked_on`, its alerts
    hold with the same inputs until `recheck_on` (None: only a change of its inputs can
    alter them). Lets an ordinary day judge only what changed or came due."""

    __tablename__ = "indicator_check"

    indicator_id: int = Field(primary_key=True, foreign_key="indicator.id", ondelete="CASCADE")
    checked_on: date
    recheck_on: date | None = None
