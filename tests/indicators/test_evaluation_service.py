"""The database side of the engine: specs built from rows, superseded measurements ignored,
inactive commitments left out, and a bounded number of queries whatever the size."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy import update
from sqlmodel import func

from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.indicators.evaluation import contract_rollups
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.progress import evaluate
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import QueryCounter
from tests.support.indicators import double_portfolio
from tests.support.indicators import write_correction


def _contract_id(session) -> int:
    return session.exec(select(Contract.id)).scalar_one()


def test_query_count_does_not_grow_with_indicators(demo_db):
    with demo_db.session() as session:
        contract_id = _contract_id(session)
        with QueryCounter(demo_db.engine) as small:
            few = evaluate_indicators(
                session,
                contract_id=contract_id,
                as_of=DEMO_AS_OF,
                indicator_ids=[1, 2],
                include_inactive=True,
            )
        double_portfolio(session)  # the demo has no superseded reading to leave out
        with QueryCounter(demo_db.engine) as large:
            many = evaluate_indicators(session, contract_id=contract_id, as_of=DEMO_AS_OF)
        with QueryCounter(demo_db.engine) as rollups:
            contract_rollups(session, contract_id=contract_id, as_of=DEMO_AS_OF, evaluated=many)
    assert len(few) == 2 and len(many) > 400
    assert large.count == small.count == 3
    assert rollups.count <= 4


def test_matches_the_engine_and_ignores_superseded(demo_db):
    with demo_db.session() as session:
        contract_id = _contract_id(session)
        indicator = session.exec(
            select(Indicator)
            .join(Measurement, Measurement.indicator_id == Indicator.id)
            .join(Commitment, Commitment.id == Indicator.commitment_id)
            .where(Commitment.status == "en_cours", Indicator.cumulative.is_(False))
            .limit(1)
        ).scalar_one()
        readings = (
            session.exec(
                select(Measurement)
                .where(Measurement.indicator_id == indicator.id)
                .order_by(Measurement.measured_on)
            )
            .scalars()
            .all()
        )
        latest = readings[-1]
        # Correct the latest value: the old row is superseded, never erased.
        correction = write_correction(session, latest, latest.value * 10)
        result = evaluate_indicators(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, indicator_ids=[indicator.id]
        )[indicator.id]
        targets = tuple(
            sorted(
                (t.target_date, t.value)
                for t in session.exec(
                    select(Target).where(Target.indicator_id == indicator.id)
                ).scalars()
            )
        )
    assert result.evaluation.actual == latest.value * 10
    assert result.spec.targets == targets
    expected = evaluate(
        result.spec,
        [(r.measured_on, r.value) for r in readings[:-1]]
        + [(correction.measured_on, correction.value)],
        DEMO_AS_OF,
    )
    assert result.evaluation == expected


def test_inactive_commitments_are_left_out_of_rollups(demo_db):
    with demo_db.session() as session:
        contract_id = _contract_id(session)
        before = contract_rollups(session, contract_id=contract_id, as_of=DEMO_AS_OF)
        active_ids = (
            session.exec(select(Commitment.id).where(Commitment.status == "en_cours").limit(5))
            .scalars()
            .all()
        )
        moved = session.exec(
            select(func.count())
            .select_from(Indicator)
            .where(Indicator.commitment_id.in_(active_ids))
        ).scalar_one()
        session.exec(
            update(Commitment).where(Commitment.id.in_(active_ids)).values(status="suspendu")
        )
        after = contract_rollups(session, contract_id=contract_id, as_of=date(2026, 11, 15))
        everything = evaluate_indicators(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, include_inactive=True
        )
    assert moved > 0
    assert after.contract.count == before.contract.count - moved
    assert any(not item.active for item in everything.values())
    total = sum(r.count for r in after.by_priority.values())
    assert total > after.contract.count  # objectives and their orientations both count
