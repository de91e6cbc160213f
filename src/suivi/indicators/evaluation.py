"""The database side of the progress engine: build each indicator's `IndicatorSpec` from its
row, its current targets and its current (not superseded) measurements, and evaluate whole
sets of indicators in a constant number of queries — never one query per indicator.

Everything that shows a status (API, pages, reports, emails, checks) goes through here, and
so through `suivi.progress`.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from math import isfinite
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Date
from sqlalchemy import Float
from sqlalchemy import Integer
from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import text
from sqlmodel import Session

from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Priority
from suivi.db import is_sqlite
from suivi.indicators.models import VALIDATED
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.progress import Evaluation
from suivi.progress import IndicatorSpec
from suivi.progress import LeastSquares
from suivi.progress import MeasurementSummary
from suivi.progress import Rollup
from suivi.progress import evaluate
from suivi.progress import evaluate_summary
from suivi.progress import rollup
from suivi.progress import rollup_by
from suivi.progress import summarize
from suivi.records import view_of
from suivi.validation import MAX_ABS_NUMBER

log = logging.getLogger(__name__)


# The ONE rule of which figures count for statuses, alerts, reports and summaries: the current
# (not superseded) and validated ones. With `[validation] required = false` every figure is
# validated on entry, so the rule is the same. `counted_sql` says it for raw SQL.
def counted() -> ColumnElement[bool]:
    return and_(Measurement.superseded_by_id.is_(None), Measurement.status == VALIDATED)


def counted_sql(alias: str = "m") -> str:
    prefix = f"{alias}." if alias else ""
    return f"{prefix}superseded_by_id IS NULL AND {prefix}status = '{VALIDATED}'"


def in_domain(spec: IndicatorSpec, readings: Iterable[tuple[date, float]] = ()) -> bool:
    """Whether every number of an indicator is within the input domain (finite, ±1e12).
    Writers enforce it (`suivi.validation`); an old base or a direct write may not have: such
    an indicator is not evaluated (« données invalides ») rather than overflow the engine's
    sums and take every page, report and check of the contract down with it."""
    values = [spec.baseline_value, *(value for _, value in spec.targets)]
    values.extend(value for _, value in readings)
    return all(
        value is not None and isfinite(value) and abs(value) <= MAX_ABS_NUMBER for value in values
    )


def _log_out_of_domain(code: str) -> None:
    log.warning("indicator %s holds a value outside +/-1e12 or not finite: not evaluated", code)


@dataclass(frozen=True, slots=True)
class EvaluatedIndicator:
    """One indicator with its context and its verdict at `as_of`."""

    id: int
    code: str
    name: str
    unit: str
    commitment_id: int
    commitment_status: str
    quartier_id: int | None
    spec: IndicatorSpec
    # Current measurements (not superseded), all dates, sorted by date.
    measurements: tuple[tuple[date, float], ...]
    evaluation: Evaluation | None  # None when the stored spec is inconsistent

    @property
    def active(self) -> bool:
        return self.commitment_status not in INACTIVE_STATUSES


def spec_of(indicator: Indicator | Row, targets: Iterable[tuple[date, float]]) -> IndicatorSpec:
    """The engine's spec of an indicator (its row, or a row of the batch query with the same
    column names) and its targets."""
    return IndicatorSpec(
        direction=indicator.direction,
        baseline_value=indicator.baseline_value,
        baseline_date=indicator.baseline_date,
        targets=tuple(sorted(targets)),
        cumulative=bool(indicator.cumulative),
        frequency=indicator.frequency,
        tolerance=indicator.tolerance,
        grace_days=indicator.grace_days,
        margin=indicator.margin,
        forecast=bool(indicator.forecast),
    )


def _verdict(
    code: str, evaluate_with: Callable[..., Evaluation], spec: IndicatorSpec, data, as_of: date
) -> Evaluation | None:
    """`evaluate_with(spec, data, as_of)`, or None (logged) for an inconsistent spec."""
    try:
        return evaluate_with(spec, data, as_of)
    except ValueError as exc:
        log.warning("indicator %s has an inconsistent spec: %s", code, exc)
        return None


def evaluate_indicators(
    session: Session,
    *,
    contract_id: int,
    as_of: date,
    indicator_ids: Collection[int] | None = None,
    include_inactive: bool = False,
) -> dict[int, EvaluatedIndicator]:
    """Evaluate the contract's indicators (or the given subset) at `as_of`: three queries.

    Suspended and abandoned commitments are left out unless `include_inactive` (a
    commitment's own page still shows them).
    """
    indicator_query = (
        select(Indicator, Commitment.status)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(Indicator.contract_id == contract_id)
        .order_by(Indicator.id)
    )
    target_query = (
        select(Target.indicator_id, Target.target_date, Target.value)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .where(Indicator.contract_id == contract_id)
    )
    measurement_query = (
        select(Measurement.indicator_id, Measurement.measured_on, Measurement.value)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(Indicator.contract_id == contract_id, counted())
        .order_by(Measurement.indicator_id, Measurement.measured_on, Measurement.id)
    )
    if not include_inactive:
        indicator_query = indicator_query.where(Commitment.status.not_in(INACTIVE_STATUSES))
    if indicator_ids is not None:
        ids = list(indicator_ids)
        indicator_query = indicator_query.where(Indicator.id.in_(ids))
        target_query = target_query.where(Target.indicator_id.in_(ids))
        measurement_query = measurement_query.where(Measurement.indicator_id.in_(ids))

    targets: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for indicator_id, target_date, value in session.execute(target_query):
        targets[indicator_id].append((target_date, value))
    measurements: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for indicator_id, measured_on, value in session.execute(measurement_query):
        measurements[indicator_id].append((measured_on, value))

    result: dict[int, EvaluatedIndicator] = {}
    for indicator, status in session.execute(indicator_query):
        spec = spec_of(indicator, targets.get(indicator.id, ()))
        readings = tuple(measurements.get(indicator.id, ()))
        evaluation = None
        if not in_domain(spec, readings):
            _log_out_of_domain(indicator.code)
        else:
            evaluation = _verdict(indicator.code, evaluate, spec, readings, as_of)
        result[indicator.id] = view_of(
            EvaluatedIndicator,
            indicator,
            commitment_status=status,
            spec=spec,
            measurements=readings,
            evaluation=evaluation,
        )
    return result


# --------------------------------------------------------------------------------------------
# Batch evaluation from SQL summaries (the daily check, at national scale)
#
# Instead of moving every measurement into Python, one query summarises each indicator's
# counted measurements (not superseded, from the baseline date to as_of) into the few
# numbers `suivi.progress.MeasurementSummary` holds; `evaluate_summary` then applies the very
# same rules as `evaluate`. One window, ordered by date only, so a single sort serves it:
# when dates are unique, the running total of amounts (RANGE frame, the default) is the
# cumulative actual on that date, the level actual on a date is that row's value and the
# latest value is the last row's. An indicator with several measurements on one date
# (`shared_dates`, rare: the value at that date, level or cumulative, is then the last id's)
# is summarised in Python from its rows instead, by the engine's own `summarize`.
# Measured: one window instead of three `last_value` windows halves the query at national
# scale (docs/benchmarks.md).

_SUMMARY_SQL = """
WITH counted AS (
    SELECT m.indicator_id, m.measured_on, {value} AS value, {base} AS base,
           i.cumulative AS cumulative,
           CASE WHEN m.measured_on > i.baseline_date THEN {value} ELSE 0 END AS amount,
           CASE WHEN abs(m.value) <= {limit} AND abs(i.baseline_value) <= {limit}
                THEN 0 ELSE 1 END AS bad,
           {days} AS x
    FROM measurement m
    JOIN indicator i ON i.id = m.indicator_id
    JOIN commitment c ON c.id = i.commitment_id
    WHERE {counted}
      AND m.measured_on >= i.baseline_date AND m.measured_on <= :as_of
      {where}
),
points AS (
    SELECT indicator_id, measured_on, value, base, amount, bad, x,
           CASE WHEN cumulative THEN sum(amount) OVER w ELSE value - base END AS dy,
           count(*) OVER w - row_number() OVER w AS later_same_date,
           lead(measured_on) OVER w AS next_on
    FROM counted
    WINDOW w AS (PARTITION BY indicator_id ORDER BY measured_on)
)
SELECT indicator_id, max(base) AS base, count(*) AS count, max(measured_on) AS latest_on,
       max(CASE WHEN next_on IS NULL THEN value END) AS latest_value,
       max(base) + sum(amount) AS total,
       sum(x) AS sum_x, sum(x * x) AS sum_xx, sum(dy) AS sum_dy, sum(x * dy) AS sum_xdy,
       max(later_same_date) AS shared_dates, max(bad) AS bad
FROM points
GROUP BY indicator_id
"""
# The types of its result columns, in the order of its SELECT.
_SUMMARY_COLUMNS = {
    "indicator_id": Integer,
    "base": Float,
    "count": Integer,
    "latest_on": Date,
    "latest_value": Float,
    "total": Float,
    "sum_x": Integer,
    "sum_xx": Integer,
    "sum_dy": Float,
    "sum_xdy": Float,
    "shared_dates": Integer,
    "bad": Integer,
}

_DAYS = {
    "sqlite": "CAST(julianday(m.measured_on) - julianday(i.baseline_date) AS INTEGER)",
    "postgresql": "(m.measured_on - i.baseline_date)",
}
# Values outside the input domain (an old base) are summed as 0 and flag their indicator
# (`bad`), which is then not evaluated: a sum that overflows is an error on PostgreSQL, for
# the whole query, so for every indicator of the check.
_LIMIT = f"{MAX_ABS_NUMBER:.0f}"
_CLAMPED_VALUE = f"CASE WHEN abs(m.value) <= {_LIMIT} THEN m.value ELSE 0 END"
_CLAMPED_BASE = f"CASE WHEN abs(i.baseline_value) <= {_LIMIT} THEN i.baseline_value ELSE 0 END"


@dataclass(frozen=True, slots=True)
class IndicatorVerdict:
    """One indicator judged from its SQL summary (no measurement list: see
    `evaluate_indicators` for pages and reports that show the history)."""

    id: int
    contract_id: int
    code: str
    commitment_id: int
    commitment_status: str
    quartier_id: int | None
    spec: IndicatorSpec
    summary: MeasurementSummary
    evaluation: Evaluation | None  # None when the stored spec is inconsistent

    @property
    def active(self) -> bool:
        return self.commitment_status not in INACTIVE_STATUSES


def id_list_clause(
    session: Session, column: str, name: str, ids: Collection[int]
) -> tuple[str, object]:
    """SQL `column IN (ids)` with one bound parameter `name`, whatever the number of ids (an
    expanding IN renders one placeholder per id: slow to compile for thousands of ids, and
    capped on SQLite). Returns the clause and the parameter's value."""
    if is_sqlite(session.get_bind()):
        return f"{column} IN (SELECT value FROM json_each(:{name}))", json.dumps(sorted(ids))
    return f"{column} IN (SELECT unnest(CAST(:{name} AS integer[])))", sorted(ids)


def _filters(
    session: Session,
    contract_id: int | None,
    indicator_ids: Collection[int] | None,
    include_inactive: bool,
) -> tuple[list[str], dict]:
    clauses, params = [], {}
    if contract_id is not None:
        # Said of the commitment too (the indicator's contract is its commitment's): without
        # it the planner hashes every commitment of the database to join one contract's.
        clauses.append("i.contract_id = :contract_id AND c.contract_id = :contract_id")
        params["contract_id"] = contract_id
    if indicator_ids is not None:
        clause, params["indicator_ids"] = id_list_clause(
            session, "i.id", "indicator_ids", indicator_ids
        )
        clauses.append(clause)
    if not include_inactive:
        clauses.append("c.status NOT IN :inactive")
        params["inactive"] = list(INACTIVE_STATUSES)
    return clauses, params


def _sql_summaries(
    session: Session, *, as_of: date, clauses: list[str], params: dict
) -> tuple[dict[int, MeasurementSummary], set[int]]:
    """One query: the summaries of the indicators that have counted measurements, and the
    ids of those with several measurements on one date (to summarise from their rows)."""
    dialect = "sqlite" if is_sqlite(session.get_bind()) else "postgresql"
    statement = text(
        _SUMMARY_SQL.format(
            days=_DAYS[dialect],
            where="".join(f"AND {clause} " for clause in clauses),
            value=_CLAMPED_VALUE,
            base=_CLAMPED_BASE,
            limit=_LIMIT,
            counted=counted_sql("m"),
        )
    ).bindparams(bindparam("as_of", type_=Date))
    if "inactive" in params:
        statement = statement.bindparams(bindparam("inactive", expanding=True))
    statement = statement.columns(**_SUMMARY_COLUMNS)
    summaries: dict[int, MeasurementSummary] = {}
    shared_dates: set[int] = set()
    for (
        indicator_id,
        base,
        count,
        latest_on,
        latest_value,
        total,
        sum_x,
        sum_xx,
        sum_dy,
        sum_xdy,
        shared,
        bad,
    ) in session.execute(statement, {"as_of": as_of, **params}):
        if shared or bad:
            # Summarised from its rows (several values on one date), or judged unevaluable
            # from them (a value out of the domain): see `evaluate_summaries`.
            shared_dates.add(indicator_id)
            continue
        fit = LeastSquares.from_sums(
            count=count,
            sum_x=sum_x,
            sum_xx=sum_xx,
            sum_dy=sum_dy,
            sum_xdy=sum_xdy,
            baseline_value=base,
        )
        summaries[indicator_id] = MeasurementSummary(count, latest_on, latest_value, total, fit)
    return summaries, shared_dates


_NO_MEASUREMENT = MeasurementSummary(
    count=0, latest_on=None, latest_value=None, total=None, fit=None
)


def evaluate_summaries(
    session: Session,
    *,
    as_of: date,
    contract_id: int | None = None,
    indicator_ids: Collection[int] | None = None,
    include_inactive: bool = False,
) -> dict[int, IndicatorVerdict]:
    """Evaluate indicators at `as_of` from SQL summaries: the same verdicts as
    `evaluate_indicators`, in three queries (four when some indicator has several
    measurements on one date), without loading the measurements. All contracts
    when `contract_id` is None. Suspended and abandoned commitments are left out unless
    `include_inactive`."""
    clauses, params = _filters(session, contract_id, indicator_ids, include_inactive)
    where = " AND ".join(clauses) or "1 = 1"
    expanding = [bindparam("inactive", expanding=True)] if "inactive" in params else []
    indicator_sql = text(
        "SELECT i.id, i.contract_id, i.code, i.commitment_id, c.status, i.quartier_id, "
        "i.direction, i.baseline_value, i.baseline_date, i.cumulative, i.frequency, "
        "i.tolerance, i.grace_days, i.margin, i.forecast "
        "FROM indicator i JOIN commitment c ON c.id = i.commitment_id "
        f"WHERE {where} ORDER BY i.id"
    ).bindparams(*expanding)
    indicator_sql = indicator_sql.columns(baseline_date=Date)
    indicator_rows = session.execute(indicator_sql, params).all()

    if contract_id is None and indicator_ids is None:
        target_sql = text(
            "SELECT t.indicator_id, t.target_date, t.value FROM target t "
            "JOIN indicator i ON i.id = t.indicator_id "
            "JOIN commitment c ON c.id = i.commitment_id "
            f"WHERE {where} ORDER BY t.indicator_id, t.target_date"
        ).bindparams(*expanding)
        target_params = params
    else:
        # The targets of the indicators just read, by id: index lookups. Joined on the
        # contract instead, the planner scans every target of the database (measured on
        # a contract of the national portfolio: 50 ms instead of 4 ms).
        clause, ids = id_list_clause(
            session, "indicator_id", "ids", [row.id for row in indicator_rows]
        )
        target_sql = text(
            "SELECT indicator_id, target_date, value FROM target "
            f"WHERE {clause} ORDER BY indicator_id, target_date"
        )
        target_params = {"ids": ids}
    targets: dict[int, list[tuple[date, float]]] = defaultdict(list)
    target_sql = target_sql.columns(target_date=Date)
    for indicator_id, target_date, value in session.execute(target_sql, target_params):
        targets[indicator_id].append((target_date, value))
    summaries, shared_dates = _sql_summaries(session, as_of=as_of, clauses=clauses, params=params)
    rows_of: dict[int, list[tuple[date, float]]] = defaultdict(list)
    if shared_dates:
        # Same order as `evaluate_indicators`: on a date, the last id is the value.
        readings = (
            select(Measurement.indicator_id, Measurement.measured_on, Measurement.value)
            .where(
                Measurement.indicator_id.in_(sorted(shared_dates)),
                counted(),
            )
            .order_by(Measurement.indicator_id, Measurement.measured_on, Measurement.id)
        )
        for indicator_id, measured_on, value in session.execute(readings):
            rows_of[indicator_id].append((measured_on, value))

    result: dict[int, IndicatorVerdict] = {}
    for row in indicator_rows:
        spec = spec_of(row, targets.get(row.id, ()))
        evaluation = None
        if not in_domain(spec, rows_of.get(row.id, ())):
            _log_out_of_domain(row.code)
            summary = _NO_MEASUREMENT
        else:
            if row.id in shared_dates:
                summary = summarize(spec, rows_of[row.id], as_of)
            else:
                summary = summaries.get(row.id, _NO_MEASUREMENT)
            evaluation = _verdict(row.code, evaluate_summary, spec, summary, as_of)
        result[row.id] = view_of(
            IndicatorVerdict,
            row,
            commitment_status=row.status,
            spec=spec,
            summary=summary,
            evaluation=evaluation,
        )
    return result


def evaluate_indicator(session: Session, indicator: Indicator, as_of: date) -> Evaluation:
    """One indicator (its page, the API). Raises ValueError for an inconsistent spec."""
    targets = session.execute(
        select(Target.target_date, Target.value).where(Target.indicator_id == indicator.id)
    ).all()
    readings = session.execute(
        select(Measurement.measured_on, Measurement.value)
        .where(Measurement.indicator_id == indicator.id, counted())
        .order_by(Measurement.measured_on, Measurement.id)
    ).all()
    spec = spec_of(indicator, [tuple(t) for t in targets])
    readings = [tuple(r) for r in readings]
    if not in_domain(spec, readings):
        _log_out_of_domain(indicator.code)
        raise ValueError("données invalides (valeur hors de ±1e12 ou non finie)")
    return evaluate(spec, readings, as_of)


def commitment_links(session: Session, contract_id: int, *columns: Any) -> defaultdict[int, list]:
    """The rows of a commitment's link table (its quartiers, its co-partners) for every
    commitment of the contract, by commitment id: each row's value of `columns` (a tuple when
    there are several), in the order of the columns."""
    link = columns[0].class_
    links: defaultdict[int, list] = defaultdict(list)
    for commitment_id, *values in session.execute(
        select(link.commitment_id, *columns)
        .join(Commitment, Commitment.id == link.commitment_id)
        .where(Commitment.contract_id == contract_id)
        .order_by(link.commitment_id, *columns)
    ):
        links[commitment_id].append(values[0] if len(values) == 1 else tuple(values))
    return links


@dataclass(frozen=True, slots=True)
class ContractRollups:
    contract: Rollup
    by_priority: dict[int, Rollup]  # objectives and their parent orientations
    by_quartier: dict[int, Rollup]
    by_partner: dict[int, Rollup]


def contract_rollups(
    session: Session,
    *,
    contract_id: int,
    as_of: date,
    evaluated: Mapping[int, EvaluatedIndicator | IndicatorVerdict] | None = None,
) -> ContractRollups:
    """Roll-ups per contract, priority, quartier and partner, over active commitments only.

    Membership rules: an indicator counts for its commitment's priority and that priority's
    parent; for its own quartier if it has one, else for every quartier its commitment
    targets (a whole-contract commitment counts for the contract, not for each quartier);
    for the lead partner and every co-partner.
    """
    if evaluated is None:
        evaluated = evaluate_indicators(session, contract_id=contract_id, as_of=as_of)
    rows = {k: v for k, v in evaluated.items() if v.active and v.evaluation is not None}

    commitments = session.execute(
        select(Commitment.id, Commitment.priority_id, Commitment.lead_partner_id).where(
            Commitment.contract_id == contract_id
        )
    ).all()
    priority_parent = dict(
        session.execute(
            select(Priority.id, Priority.parent_id).where(Priority.contract_id == contract_id)
        ).all()
    )
    commitment_quartiers = commitment_links(session, contract_id, CommitmentQuartier.quartier_id)
    co_partners = commitment_links(session, contract_id, CommitmentPartner.partner_id)
    commitment_info = {cid: (prio, lead) for cid, prio, lead in commitments}

    priority_pairs, quartier_pairs, partner_pairs = [], [], []
    for item in rows.values():
        ev = item.evaluation
        priority_id, lead_id = commitment_info[item.commitment_id]
        priority_pairs.append((priority_id, ev))
        if priority_parent.get(priority_id) is not None:
            priority_pairs.append((priority_parent[priority_id], ev))
        quartiers = (
            [item.quartier_id] if item.quartier_id else commitment_quartiers[item.commitment_id]
        )
        quartier_pairs.extend((quartier_id, ev) for quartier_id in quartiers)
        partners = {lead_id, *co_partners[item.commitment_id]}
        partner_pairs.extend((partner_id, ev) for partner_id in partners)

    return ContractRollups(
        contract=rollup(item.evaluation for item in rows.values()),
        by_priority=rollup_by(priority_pairs),
        by_quartier=rollup_by(quartier_pairs),
        by_partner=rollup_by(partner_pairs),
    )
