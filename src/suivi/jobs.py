"""The job registry shared by the scheduler and `suivi jobs run`.

A job is a function `(JobContext) -> dict[str, int]` (counts for the run log) registered
with `@job("name")` in its domain package. A job opens its own sessions and commits its
own work; it works out what is due from the database, so a rerun repeats nothing.
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


JobFunction = Callable[[JobContext], dict[str, int]]

# Modules that define jobs; imported on first use so that the CLI starts fast.
JOB_MODULES = (
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
