"""`GET /api/alerts` (alerts of the indicators the user may read) and `GET /api/jobs`,
`GET /api/jobs/runs` (schedules and run log, for admins)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal

from fastapi import Query
from pydantic import BaseModel
from pydantic import Field
from sqlalchemy import func
from sqlalchemy import select

from suivi import clock
from suivi.api.common import Admin
from suivi.api.common import AdminCallDep
from suivi.api.common import CallerDep
from suivi.api.common import CurrentContract
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import api_router
from suivi.api.common import from_row
from suivi.api.common import models
from suivi.codes import AlertKind
from suivi.codes import JobOutcome
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.indicators.models import Indicator
from suivi.labels import ALERT_KIND_LABELS
from suivi.monitoring.models import Alert
from suivi.monitoring.models import JobRun
from suivi.scoping import indicator_condition

router = api_router("alertes et tâches")


class AlertOut(BaseModel):
    id: int
    contract_id: int
    indicator_id: int
    indicator_code: str
    indicator_name: str
    kind: str
    kind_label: str
    opened_on: date
    resolved_on: date | None
    details: dict[str, Any]


@router.get("/alerts", summary="Alertes des indicateurs")
def list_alerts(
    call: CallerDep,
    contract: CurrentContract,
    paging: PagingDep,
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    kind: Annotated[AlertKind | None, Query()] = None,
) -> Page[AlertOut]:
    """Alerts of the indicators the user may read (partners: their commitments only),
    newest first."""
    query = (
        select(Alert, Indicator.code, Indicator.name)
        .join(Indicator, Indicator.id == Alert.indicator_id)
        .where(Alert.contract_id == contract.id, indicator_condition(call.principal))
    )
    if state == "open":
        query = query.where(Alert.resolved_on.is_(None))
    elif state == "resolved":
        query = query.where(Alert.resolved_on.is_not(None))
    if kind:
        query = query.where(Alert.kind == kind)
    query = query.order_by(Alert.opened_on.desc(), Indicator.code, Alert.kind)
    return paging.of(call.session, query, _alerts_out, scalars=False)


def _alerts_out(rows: list) -> list[AlertOut]:
    """Rows (alert, indicator code, indicator name) as the API shows them."""
    return [
        from_row(
            AlertOut,
            alert,
            indicator_code=code,
            indicator_name=name,
            kind_label=ALERT_KIND_LABELS[alert.kind],
            details=alert.details or {},
        )
        for alert, code, name in rows
    ]


OUTCOME_HELP = (
    "running, success, partial (work left for a later run, e.g. emails pending) or failed"
)


class JobOut(BaseModel):
    name: str
    cron: str
    enabled: bool
    available: bool
    next_run: datetime | None
    last_outcome: JobOutcome | None = Field(description=OUTCOME_HELP)
    last_started_at: datetime | None


class JobRunOut(BaseModel):
    id: int
    job_name: str
    as_of: date
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    outcome: JobOutcome = Field(description=OUTCOME_HELP)
    counts: dict[str, Any]
    error: str


@router.get("/jobs", summary="Tâches planifiées")
def list_jobs(session: SessionDep, settings: SettingsDep, admin: Admin) -> list[JobOut]:
    from suivi.scheduler import next_run
    from suivi.scheduler import scheduled_jobs

    latest = _latest_runs(session)
    now = clock.now_in(settings.tz)
    return [
        JobOut(
            name=item.name,
            cron=item.cron,
            enabled=item.enabled,
            available=item.implemented,
            next_run=next_run(item, now) if item.enabled and item.implemented else None,
            last_outcome=latest[item.name].outcome if item.name in latest else None,
            last_started_at=latest[item.name].started_at if item.name in latest else None,
        )
        for item in scheduled_jobs(settings)
    ]


def _latest_runs(session) -> dict[str, JobRun]:
    latest = (
        select(JobRun.job_name, func.max(JobRun.id).label("id")).group_by(JobRun.job_name)
    ).subquery()
    rows = session.execute(select(JobRun).join(latest, latest.c.id == JobRun.id)).scalars()
    return {run.job_name: run for run in rows}


JobQuery = Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_]+$")]


@router.get("/jobs/runs", summary="Journal des exécutions")
def list_job_runs(call: AdminCallDep, paging: PagingDep, job: JobQuery = None) -> Page[JobRunOut]:
    """Newest first: job, start, end, outcome, counts, error."""
    query = select(JobRun).order_by(JobRun.id.desc())
    if job:
        query = query.where(JobRun.job_name == job)
    return paging.of(call.session, query, models(JobRunOut))
