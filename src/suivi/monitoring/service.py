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

An ordinary day judges only what may have changed (`pending_indicators`): with the same
inputs, an indicator's alerts change with the date alone on two kinds of day only
(`alerts_hold_until`), so each check remembers, per indicator, until when its conclusion
holds (`IndicatorCheck`), and database triggers note every change of inputs
(`IndicatorChange`, migration 0002). The first check of a database judges everything.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import Date
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects import sqlite
from sqlmodel import Session
from sqlmodel import col

from suivi.audit.service import record
from suivi.db import UTCDateTime
from suivi.db import is_sqlite
from suivi.db import utcnow
from suivi.indicators.evaluation import IndicatorVerdict
from suivi.indicators.evaluation import counted_sql
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.evaluation import id_list_clause
from suivi.indicators.models import Indicator
from suivi.monitoring.models import Alert
from suivi.monitoring.models import IndicatorChange
from suivi.monitoring.models import IndicatorCheck
from suivi.progress import Evaluation
from suivi.progress import overdue_from

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


_REMEMBER_PG = text(
    """
    INSERT INTO indicator_check (indicator_id, checked_on, recheck_on)
    SELECT new.indicator_id, :checked_on, new.recheck_on
    FROM unnest(CAST(:ids AS integer[]), CAST(:recheck_on AS date[]))
         AS new (indicator_id, recheck_on)
    ON CONFLICT (indicator_id)
    DO UPDATE SET checked_on = excluded.checked_on, recheck_on = excluded.recheck_on
    """
).bindparams(bindparam("checked_on", type_=Date))
_REMEMBER_SQLITE = sqlite.insert(IndicatorCheck.__table__)
_REMEMBER_SQLITE = _REMEMBER_SQLITE.on_conflict_do_update(
    index_elements=["indicator_id"],
    set_={
        "checked_on": _REMEMBER_SQLITE.excluded.checked_on,
        "recheck_on": _REMEMBER_SQLITE.excluded.recheck_on,
    },
)


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


def alerts_hold_until(
    verdict: IndicatorVerdict | None, next_measured_on: date | None
) -> date | None:
    """Pure rule: the first day on which an indicator judged today could call for other
    alerts with the same inputs (None: only a change of its inputs can alter them).

    Performance and forecast depend only on the counted measurements, so the date alone
    changes them only when a measurement dated in the future starts to count
    (`next_measured_on`). Freshness: an indicator that is not overdue becomes so on
    `overdue_from` (its latest measurement is then older than the period due); once
    overdue it stays so until a measurement arrives. An indicator that is not judged
    (suspended or abandoned commitment, inconsistent spec) has no alert.
    """
    evaluation = verdict.evaluation if verdict is not None and verdict.active else None
    if evaluation is None:
        return None
    days = [next_measured_on]
    if evaluation.freshness != "overdue":
        days.append(overdue_from(verdict.spec, evaluation.measured_on))
    return min((day for day in days if day is not None), default=None)


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_indicators(
    session: Session,
    *,
    contract_id: int,
    as_of: date,
    evaluated: Mapping[int, IndicatorVerdict] | None = None,
    indicator_ids: Collection[int] | None = None,
) -> CheckResult:
    """Open and resolve the contract's alerts for `as_of`. Never commits.

    `indicator_ids`: only these indicators' alerts (the job's pending ones); all the
    contract's by default. `evaluated`: those of them that are active, already judged at
    `as_of` (the job judges every contract in one pass); by default judged here.
    """
    if evaluated is None:
        evaluated = evaluate_summaries(
            session, contract_id=contract_id, as_of=as_of, indicator_ids=indicator_ids
        )
    wanted = wanted_alerts(evaluated)
    open_query = select(Alert.id, Alert.indicator_id, Alert.kind).where(
        Alert.contract_id == contract_id, Alert.resolved_on.is_(None)
    )
    if indicator_ids is not None:
        clause, ids = id_list_clause(session, "alert.indicator_id", "scope", indicator_ids)
        open_query = open_query.where(text(clause).bindparams(scope=ids))
    open_rows = session.execute(open_query).all()
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


@dataclass
class Pending:
    """What the check must judge again at `as_of`, per contract, and the change notes read
    (deleted once their contract is checked; notes written meanwhile stay for next time)."""

    indicators: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    notes: dict[int | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    total: int = 0  # indicators in the database

    def indicator_ids(self) -> set[int]:
        return set().union(*self.indicators.values())


def pending_indicators(session: Session, *, as_of: date) -> Pending:
    """Indicators whose inputs changed since their last check (a change note), never checked,
    checked for a later day, or whose conclusion no longer holds at `as_of`.

    Call it before judging: a note read here was written by a transaction whose data the
    judging then sees.
    """
    pending = Pending()
    notes = session.execute(
        select(IndicatorChange.id, IndicatorChange.indicator_id, Indicator.contract_id).join(
            Indicator, Indicator.id == IndicatorChange.indicator_id, isouter=True
        )
    )
    for note_id, indicator_id, contract_id in notes:
        pending.notes[contract_id].append(note_id)  # None: the indicator no longer exists
        if contract_id is not None:
            pending.indicators[contract_id].add(indicator_id)
    due = session.execute(
        select(Indicator.id, Indicator.contract_id)
        .join(IndicatorCheck, IndicatorCheck.indicator_id == Indicator.id, isouter=True)
        .where(
            IndicatorCheck.indicator_id.is_(None)
            | (col(IndicatorCheck.checked_on) > as_of)
            | (col(IndicatorCheck.recheck_on) <= as_of)
        )
    )
    for indicator_id, contract_id in due:
        pending.indicators[contract_id].add(indicator_id)
    pending.total = session.execute(select(func.count()).select_from(Indicator)).scalar_one()
    return pending


def next_measurement_dates(
    session: Session, *, as_of: date, indicator_ids: Collection[int] | None
) -> dict[int, date]:
    """The first date after `as_of` of the current measurements dated in the future of each
    indicator (all when `indicator_ids` is None): the day such a measurement starts to
    count."""
    params: dict = {"as_of": as_of}
    clause = "1 = 1"
    if indicator_ids is not None:
        clause, params["ids"] = id_list_clause(session, "indicator_id", "ids", indicator_ids)
    statement = (
        text(
            "SELECT indicator_id, min(measured_on) AS first_on FROM measurement "
            f"WHERE {counted_sql('')} AND measured_on > :as_of AND {clause} "
            "GROUP BY indicator_id"
        )
        .bindparams(bindparam("as_of", type_=Date))
        .columns(first_on=Date)
    )
    return dict(session.execute(statement, params).all())


def remember_checks(
    session: Session,
    *,
    as_of: date,
    indicator_ids: Collection[int],
    evaluated: Mapping[int, IndicatorVerdict],
    next_measured: Mapping[int, date],
    note_ids: Collection[int],
) -> None:
    """Record that these indicators were judged at `as_of` and until when their alerts hold,
    and delete the change notes that made them pending. Never commits."""
    ids = sorted(indicator_ids)
    rechecks = [
        alerts_hold_until(evaluated.get(indicator_id), next_measured.get(indicator_id))
        for indicator_id in ids
    ]
    if ids and is_sqlite(session.get_bind()):
        rows = [
            {"indicator_id": indicator_id, "checked_on": as_of, "recheck_on": recheck_on}
            for indicator_id, recheck_on in zip(ids, rechecks, strict=True)
        ]
        session.connection().execute(_REMEMBER_SQLITE, rows)
    elif ids:
        session.execute(_REMEMBER_PG, {"ids": ids, "checked_on": as_of, "recheck_on": rechecks})
    delete_notes(session, note_ids)


def delete_notes(session: Session, note_ids: Collection[int]) -> None:
    """Delete these change notes (exactly those read, never "up to an id": a note committed
    later with a smaller id must stay). Never commits."""
    if note_ids:
        clause, ids = id_list_clause(session, "id", "ids", note_ids)
        session.execute(text(f"DELETE FROM indicator_change WHERE {clause}"), {"ids": ids})


def forget_checks(session: Session, *, actor_label: str) -> int:
    """Forget every indicator's last conclusion, so that the next check judges everything
    (after an upgrade that changes the rules). Audited; never commits."""
    forgotten = session.execute(delete(IndicatorCheck)).rowcount or 0
    record(
        session,
        action="delete",
        entity="indicator_check",
        entity_id="*",
        after={"forgotten": forgotten},
        actor_label=actor_label,
    )
    return forgotten


def open_alerts_query(contract_id: int):
    """Open alerts of a contract, most recent first (callers add scoping conditions)."""
    return (
        select(Alert)
        .where(Alert.contract_id == contract_id, Alert.resolved_on.is_(None))
        .order_by(Alert.opened_on.desc(), Alert.id)
    )
