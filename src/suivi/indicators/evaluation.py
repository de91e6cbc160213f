"""The database side of the progress engine: build each indicator's `IndicatorSpec` from its
row, its current targets and its current (not superseded) measurements, and evaluate whole
sets of indicators in a constant number of queries — never one query per indicator.

Everything that shows a status (API, pages, reports, emails, checks) goes through here, and
so through `suivi.progress`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import (
    INACTIVE_STATUSES,
    Commitment,
    CommitmentPartner,
    CommitmentQuartier,
)
from suivi.contract.models import Priority
from suivi.indicators.models import Indicator, Measurement, Target
from suivi.progress import Evaluation, IndicatorSpec, Rollup, evaluate, rollup, rollup_by

log = logging.getLogger(__name__)


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


def spec_of(indicator: Indicator, targets: Iterable[tuple[date, float]]) -> IndicatorSpec:
    return IndicatorSpec(
        direction=indicator.direction,
        baseline_value=indicator.baseline_value,
        baseline_date=indicator.baseline_date,
        targets=tuple(sorted(targets)),
        cumulative=indicator.cumulative,
        frequency=indicator.frequency,
        tolerance=indicator.tolerance,
        grace_days=indicator.grace_days,
    )


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
        .where(Indicator.contract_id == contract_id, Measurement.superseded_by_id.is_(None))
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
        try:
            evaluation = evaluate(spec, readings, as_of)
        except ValueError as exc:
            log.warning("indicator %s has an inconsistent spec: %s", indicator.code, exc)
            evaluation = None
        result[indicator.id] = EvaluatedIndicator(
            id=indicator.id,
            code=indicator.code,
            name=indicator.name,
            unit=indicator.unit,
            commitment_id=indicator.commitment_id,
            commitment_status=status,
            quartier_id=indicator.quartier_id,
            spec=spec,
            measurements=readings,
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
        .where(Measurement.indicator_id == indicator.id, Measurement.superseded_by_id.is_(None))
        .order_by(Measurement.measured_on, Measurement.id)
    ).all()
    return evaluate(
        spec_of(indicator, [tuple(t) for t in targets]), [tuple(r) for r in readings], as_of
    )


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
    evaluated: dict[int, EvaluatedIndicator] | None = None,
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
    commitment_quartiers: dict[int, list[int]] = defaultdict(list)
    co_partners: dict[int, list[int]] = defaultdict(list)
    for commitment_id, quartier_id in session.execute(
        select(CommitmentQuartier.commitment_id, CommitmentQuartier.quartier_id)
        .join(Commitment, Commitment.id == CommitmentQuartier.commitment_id)
        .where(Commitment.contract_id == contract_id)
    ):
        commitment_quartiers[commitment_id].append(quartier_id)
    for commitment_id, partner_id in session.execute(
        select(CommitmentPartner.commitment_id, CommitmentPartner.partner_id)
        .join(Commitment, Commitment.id == CommitmentPartner.commitment_id)
        .where(Commitment.contract_id == contract_id)
    ):
        co_partners[commitment_id].append(partner_id)
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
