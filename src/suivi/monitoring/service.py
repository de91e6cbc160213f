"""The daily check: turn the progress engine's verdicts into alerts, set-based.

For each active indicator the engine says which of these hold at `as_of`:
freshness ``overdue`` → alert ``overdue``; performance ``off_track`` / ``at_risk`` → alerts of
the same kind; forecast ``will_miss`` → alert ``forecast_miss``. The check compares that set
with the open alerts: missing ones are opened (one bulk insert), those that no longer hold
are resolved with ``resolved_on = as_of`` (one bulk update). Alerts of indicators whose
commitment became suspended or abandoned no longer hold, so they are resolved too.

A constant number of queries whatever the number of indicators; running it twice for the
same day changes nothing; the partial unique index on open alerts makes a duplicate
impossible even if two checks raced (the insert skips conflicting rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, bindparam, func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from suivi.audit.service import record
from suivi.db import UTCDateTime, is_sqlite, utcnow
from suivi.indicators.evaluation import IndicatorVerdict, evaluate_summaries
from suivi.monitoring.models import Alert
from suivi.progress import Evaluation

# Rows per bulk statement (SQLite caps the number of bound parameters).
CHUNK = 2000

# The partial unique index on open alerts makes a concurrent duplicate a skipped row.
_INSERT_ALERTS_PG = text(
    """
    INSERT INTO alert (contract_id, indicator_id, kind, opened_on, details, created_at)
    SELECT :contract_id, new.indicator_id, new.kind, :opened_on, CAST(new.details AS json),
           :created_at
    FROM unnest(CAST(:indicator_ids AS integer[]), CAST(:kinds AS text[]),
                CAST(:details AS text[])) AS new (indicator_id, kind, details)
    ON CONFLICT (indicator_id, kind) WHERE resolved_on IS NULL DO NOTHING
    RETURNING id
    """
).bindparams(bindparam("opened_on", type_=Date), bindparam("created_at", type_=UTCDateTime))


@dataclass(frozen=True)
class CheckResult:
    evaluated: int
    opened: int
    resolved: int
    open: int

    def counts(self) -> dict[str, int]:
        return {
            "evaluated": self.evaluated,
            "opened": self.opened,
            "resolved": self.resolved,
            "open": self.open,
        }


def alerts_of(evaluation: Evaluation) -> dict[str, dict]:
    """Pure rule: the alert kinds an evaluation calls for, with the figures behind each."""
    kinds: dict[str, dict] = {}
    if evaluation.freshness == "overdue":
        kinds["overdue"] = {
            "overdue_since": evaluation.overdue_since.isoformat()
            if evaluation.overdue_since
            else None,
            "measured_on": evaluation.measured_on.isoformat() if evaluation.measured_on else None,
        }
    if evaluation.performance in ("off_track", "at_risk"):
        kinds[evaluation.performance] = {
            "actual": evaluation.actual,
            "expected": evaluation.expected,
            "measured_on": evaluation.measured_on.isoformat() if evaluation.measured_on else None,
        }
    if evaluation.forecast_status == "will_miss":
        kinds["forecast_miss"] = {"forecast": evaluation.forecast}
    return kinds


def wanted_alerts(evaluated: Mapping[int, IndicatorVerdict]) -> dict[tuple[int, str], dict]:
    """The alerts that should be open, from verdicts (`evaluate_summaries`) or full
    evaluations (`evaluate_indicators`): both have `id`, `active` and `evaluation`."""
    wanted: dict[tuple[int, str], dict] = {}
    for item in evaluated.values():
        if not item.active or item.evaluation is None:
            continue
        for kind, details in alerts_of(item.evaluation).items():
            wanted[(item.id, kind)] = details
    return wanted


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_indicators(
    session: Session,
    *,
    contract_id: int,
    as_of: date,
    evaluated: Mapping[int, IndicatorVerdict] | None = None,
) -> CheckResult:
    """Open and resolve the contract's alerts for `as_of`. Never commits.

    `evaluated`: the contract's active indicators already judged at `as_of` (the job judges
    every contract in one pass); by default they are judged here, from SQL summaries.
    """
    if evaluated is None:
        evaluated = evaluate_summaries(session, contract_id=contract_id, as_of=as_of)
    wanted = wanted_alerts(evaluated)
    open_rows = session.execute(
        select(Alert.id, Alert.indicator_id, Alert.kind).where(
            Alert.contract_id == contract_id, Alert.resolved_on.is_(None)
        )
    ).all()
    open_keys = {(indicator_id, kind): alert_id for alert_id, indicator_id, kind in open_rows}

    now = utcnow()
    to_open = [
        {
            "contract_id": contract_id,
            "indicator_id": indicator_id,
            "kind": kind,
            "opened_on": as_of,
            "details": details,
            "created_at": now,
        }
        for (indicator_id, kind), details in sorted(wanted.items())
        if (indicator_id, kind) not in open_keys
    ]
    to_resolve = sorted(alert_id for key, alert_id in open_keys.items() if key not in wanted)

    opened = 0
    if to_open and is_sqlite(session.get_bind()):
        statement = (
            sqlite.insert(Alert.__table__)
            .on_conflict_do_nothing(
                index_elements=["indicator_id", "kind"],
                index_where=text("resolved_on IS NULL"),
            )
            .returning(Alert.__table__.c.id)
        )
        # One executemany, batched by SQLAlchemy from one compiled statement. Counted from
        # RETURNING: a multi-row insert's rowcount is not reliable everywhere.
        opened = len(session.connection().execute(statement, to_open).all())
    elif to_open:
        # PostgreSQL: one short statement over arrays. A multi-row VALUES of thousands of
        # rows spent most of its time being compiled and parsed client-side (bench/checks.py).
        opened = len(
            session.execute(
                _INSERT_ALERTS_PG,
                {
                    "contract_id": contract_id,
                    "opened_on": as_of,
                    "created_at": now,
                    "indicator_ids": [row["indicator_id"] for row in to_open],
                    "kinds": [row["kind"] for row in to_open],
                    "details": [json.dumps(row["details"]) for row in to_open],
                },
            ).all()
        )
    resolved = 0
    for chunk in _chunks(to_resolve):
        resolved += (
            session.execute(
                update(Alert)
                .where(Alert.id.in_(chunk), Alert.resolved_on.is_(None))
                .values(resolved_on=as_of)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    open_count = session.execute(
        select(func.count())
        .select_from(Alert)
        .where(Alert.contract_id == contract_id, Alert.resolved_on.is_(None))
    ).scalar_one()
    result = CheckResult(len(evaluated), opened, resolved, open_count)
    if opened or resolved:
        # One audit row per run that changed something (not one per alert).
        record(
            session,
            action="update",
            entity="alert",
            entity_id=as_of.isoformat(),
            after=result.counts(),
            actor_label="job:check_indicators",
            contract_id=contract_id,
        )
    return result


def open_alerts_query(contract_id: int):
    """Open alerts of a contract, most recent first (callers add scoping conditions)."""
    return (
        select(Alert)
        .where(Alert.contract_id == contract_id, Alert.resolved_on.is_(None))
        .order_by(Alert.opened_on.desc(), Alert.id)
    )
