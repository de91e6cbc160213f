"""Indicator cards: one indicator with its verdict, its figures and its update form.

Shared by the home page « Mes mises à jour », the indicator page and the commitment page,
and re-rendered alone (htmx) after an update.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from markupsafe import Markup
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.charts import actual_series
from suivi.charts import trajectory_chart
from suivi.commitments.models import Commitment
from suivi.contract.models import Quartier
from suivi.indicators.evaluation import EvaluatedIndicator
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.review import pending_counts
from suivi.indicators.review import validators_label
from suivi.progress import Evaluation
from suivi.progress import current_due_period

# Order of the home list: overdue first, then due soon, then the rest.
FRESHNESS_ORDER = {"overdue": 0, "due_soon": 1, "up_to_date": 2}


def due_order(evaluation: Evaluation | None, code: str) -> tuple:
    """Sort key of the home list: overdue (oldest first), due soon (soonest first), the rest;
    indicators that cannot be judged last."""
    if evaluation is None:
        return (3, date.max, code)
    rank = FRESHNESS_ORDER.get(evaluation.freshness, 3)
    when = evaluation.overdue_since if evaluation.freshness == "overdue" else evaluation.next_due
    return (rank, when or date.max, code)


# The columns the home page's search looks in (of the indicator, its commitment, its quartier).
_SEARCHED = (Indicator.code, Indicator.name, Commitment.code, Commitment.title, Quartier.name)


def search_texts(session: Session, indicator_ids: Collection[int]) -> dict[int, str]:
    """What the home page's search looks in, per indicator, in one query."""
    rows = session.execute(
        select(Indicator.id, *_SEARCHED)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .outerjoin(Quartier, Quartier.id == Indicator.quartier_id)
        .where(Indicator.id.in_(list(indicator_ids)))
    ).all()
    return {row[0]: " ".join(part or "" for part in row[1:]).casefold() for row in rows}


@dataclass
class Card:
    indicator: Indicator
    item: EvaluatedIndicator
    commitment_code: str
    commitment_title: str
    quartier_name: str | None
    can_log: bool
    default_date: date | None
    last_measurement: Measurement | None = None
    # Current figures not counted yet: {"submitted": n, "returned": n}, and who validates.
    pending: dict[str, int] = field(default_factory=dict)
    validators: str = ""
    # Form state after a POST: submitted values, errors per field, success message.
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    saved: bool = False

    @property
    def ev(self):
        return self.item.evaluation

    @property
    def freshness(self) -> str | None:
        return self.ev.freshness if self.ev else None

    @property
    def sort_key(self) -> tuple:
        return due_order(self.ev, self.indicator.code)

    def chart(self, as_of: date, width: float = 460) -> Markup:
        spec = self.item.spec
        ev = self.ev
        return trajectory_chart(
            baseline=(spec.baseline_date, spec.baseline_value),
            targets=spec.targets,
            actual=actual_series(spec, self.item.measurements, as_of),
            as_of=as_of,
            forecast=ev.forecast if ev else None,
            title=f"Trajectoire — {self.indicator.code} {self.indicator.name}",
            unit=self.indicator.unit,
            status=ev.performance if ev else None,
            width=width,
        )


def default_measurement_date(item: EvaluatedIndicator, as_of: date) -> date | None:
    """End of the period due (the overdue one, else the next), never after `as_of`: a value
    dated in the future would not count yet."""
    try:
        period = current_due_period(item.spec, as_of, item.measurements)
    except ValueError:
        return as_of
    if period is None:
        return as_of
    return min(period[1], as_of)


def loggable_indicator_ids(session: Session, principal: Principal, contract_id: int) -> list[int]:
    """Indicators whose measurements this user may log (the home page's list)."""
    if principal.role not in scoping.MEASUREMENT_ROLES:
        return []
    query = select(Indicator.id).where(
        Indicator.contract_id == contract_id,
        Indicator.commitment_id.in_(
            select(Commitment.id).where(scoping.measurement_commitment_condition(principal))
        ),
    )
    return list(session.execute(query).scalars())


def build_cards(
    session: Session,
    principal: Principal,
    contract_id: int,
    as_of: date,
    indicator_ids: Collection[int],
    *,
    include_inactive: bool = False,
    loggable: Collection[int] | None = None,
) -> list[Card]:
    """Cards for these (already scope-checked) indicators, in a constant number of queries."""
    ids = list(indicator_ids)
    if not ids:
        return []
    evaluated = evaluate_indicators(
        session,
        contract_id=contract_id,
        as_of=as_of,
        indicator_ids=ids,
        include_inactive=include_inactive,
    )
    if loggable is None:
        loggable = set(loggable_indicator_ids(session, principal, contract_id)) & set(ids)
    loggable = set(loggable)
    rows = session.execute(
        select(Indicator, Commitment.code, Commitment.title, Commitment.status)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(Indicator.id.in_(list(evaluated)))
    ).all()
    quartier_ids = {row[0].quartier_id for row in rows if row[0].quartier_id}
    quartier_names = (
        dict(
            session.execute(
                select(Quartier.id, Quartier.name).where(Quartier.id.in_(quartier_ids))
            ).all()
        )
        if quartier_ids
        else {}
    )
    last: dict[int, Measurement] = {}
    for measurement in session.execute(
        select(Measurement)
        .where(
            Measurement.indicator_id.in_(list(evaluated)),
            Measurement.superseded_by_id.is_(None),
            Measurement.measured_on <= as_of,
        )
        .order_by(Measurement.indicator_id, Measurement.measured_on, Measurement.id)
    ).scalars():
        last[measurement.indicator_id] = measurement
    pending = pending_counts(session, evaluated)
    cards = []
    for indicator, code, title, status in rows:
        item = evaluated[indicator.id]
        active = status not in ("suspendu", "abandonne")
        cards.append(
            Card(
                indicator=indicator,
                item=item,
                commitment_code=code,
                commitment_title=title,
                quartier_name=quartier_names.get(indicator.quartier_id),
                can_log=active and indicator.id in loggable,
                default_date=default_measurement_date(item, as_of),
                last_measurement=last.get(indicator.id),
                pending=pending.get(indicator.id, {}),
                validators=validators_label(session, indicator) if indicator.id in pending else "",
            )
        )
    return cards
