"""The job registry shared by the scheduler and `suivi jobs run`.

A job is a function `(JobContext) -> JobResult | dict[str, int]` registered with
`@job("name")` in its domain package. A job opens its own sessions and commits its own work;
it works out what is due from the database, so a rerun repeats nothing.

Outcomes (`JobResult.outcome`, the one rule): a job that raises is ``failed``; a job that
went through says how many units of work (a contract, an email) it left unfinished (to be
taken again later: an email left pending) or failed for good. Nothing left = ``success``;
every unit failed for good and none done or pending = ``failed``; otherwise ``partial``.
So an SMTP server down during a weekly run makes it ``partial`` (every message is kept
pending for the hourly `retry_emails` job), not ``failed``. A plain dict is a success.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from suivi.config import Settings


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    as_of: date
    trigger: str = "manual"  # "schedule", "manual" (CLI/API), "catch-up"


@dataclass(frozen=True)
class JobResult:
    """What a run did: `counts` for the run log; `done`, `unfinished` (left for a later run)
    and `failed` (for good) units of work decide the outcome; `problems` are short lines
    for the run log's error column."""

    counts: dict[str, int]
    done: int = 0
    unfinished: int = 0
    failed: int = 0
    problems: tuple[str, ...] = ()

    @property
    def outcome(self) -> str:
        if not (self.unfinished or self.failed):
            return "success"
        if self.failed and not (self.done or self.unfinished):
            return "failed"
        return "partial"

    @classmethod
    def of(cls, returned: JobResult | dict[str, int] | None) -> JobResult:
        return returned if isinstance(returned, JobResult) else cls(counts=dict(returned or {}))


JobFunction = Callable[[JobContext], JobResult | dict[str, int]]

# Modules that define jobs; imported on first use so that the CLI starts fast.
JOB_MODULES = (
    "suivi.annual.jobs",
    "suivi.backup.jobs",
    "suivi.monitoring.jobs",
    "suivi.notifications.jobs",
    "suivi.notifications.summaries",
    "suivi.reports.jobs",
)

_REGISTRY: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        if name in _REGISTRY and _REGISTRY[name] is not function:
            raise RuntimeError(f"job {name!r} registered twice")
        _REGISTRY[name] = function
        return function

    return register


def registered_jobs() -> dict[str, JobFunction]:
    for module in JOB_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A domain whose jobs are not written yet; any other missing module is a bug.
            if exc.name != module:
                raise
    return dict(sorted(_REGISTRY.items()))
