"""The national generator writes a consistent, evaluable portfolio on both backends."""

from __future__ import annotations

from datetime import date

from bench.generate import generate
from sqlalchemy import func
from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.contract.models import Quartier
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement


def test_generated_portfolio_is_complete_and_evaluable(empty_db):
    counts = generate(empty_db.engine, scale=0.02, as_of=date(2026, 11, 15))
    with empty_db.session(write=False) as session:
        assert session.exec(select(func.count()).select_from(Quartier)).one()[0] == 1584
        contracts = session.exec(select(Contract.id)).scalars().all()
        assert len(contracts) == counts["contracts"] > 100
        assert (
            session.exec(select(func.count()).select_from(Indicator)).one()[0]
            == (counts["indicators"])
        )
        assert (
            session.exec(select(func.count()).select_from(Measurement)).one()[0]
            == (counts["measurements"])
        )
        evaluated = evaluate_indicators(session, contract_id=contracts[0], as_of=date(2026, 11, 15))
    assert evaluated and all(item.evaluation is not None for item in evaluated.values())
    statuses = {item.evaluation.performance for item in evaluated.values()}
    assert statuses & {"on_track", "at_risk", "off_track"}


def test_generating_twice_adds_nothing(empty_db):
    generate(empty_db.engine, scale=0.01, as_of=date(2026, 11, 15))
    second = generate(empty_db.engine, scale=0.01, as_of=date(2026, 11, 15))
    assert second.get("quartiers", 0) == 0 and second.get("indicators", 0) == 0
