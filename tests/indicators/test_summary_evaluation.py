"""The batch check's SQL summaries give the same verdicts as the full evaluation, on the
demo plus awkward measurements (several on one date, superseded, before the baseline, after
as_of), on SQLite and PostgreSQL, in a bounded number of queries."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import text

from suivi.contract.models import Contract
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import QueryCounter
from tests.support.indicators import write_correction


def _awkward_measurements(session) -> None:
    # Several current values on one date cannot be written since migration 0005 (a unique
    # index); the engine still takes the last id of a date, as a base written before did.
    session.execute(text("DROP INDEX ix_measurement_current"))
    rnd = random.Random(7)
    indicators = session.execute(select(Indicator).order_by(Indicator.id)).scalars().all()
    for indicator in indicators[::3]:
        latest = session.execute(
            select(Measurement)
            .where(Measurement.indicator_id == indicator.id)
            .order_by(Measurement.measured_on.desc(), Measurement.id.desc())
        ).scalar()
        day = latest.measured_on if latest else indicator.baseline_date + timedelta(days=40)
        # Two more on the latest date (the last id is the value of that date), one on the
        # baseline date, one before it and one after as_of (neither counts).
        for offset in (day, day, indicator.baseline_date):
            session.add(
                Measurement(indicator_id=indicator.id, measured_on=offset, value=rnd.random() * 90)
            )
        session.add(
            Measurement(
                indicator_id=indicator.id,
                measured_on=indicator.baseline_date - timedelta(days=3),
                value=1e6,
            )
        )
        session.add(
            Measurement(
                indicator_id=indicator.id,
                measured_on=DEMO_AS_OF + timedelta(days=5),
                value=-1e6,
            )
        )
    session.flush()
    # A correction: the superseded row no longer counts.
    for indicator in indicators[1::5]:
        old = session.execute(
            select(Measurement).where(Measurement.indicator_id == indicator.id).limit(1)
        ).scalar()
        if old is None:
            continue
        write_correction(session, old, 0.5)
    session.flush()


def _sheet_settings(session) -> None:
    """Margins and forecast flags from the reference sheet on some indicators, so that both
    paths read them from the database."""
    rnd = random.Random(11)
    indicators = session.execute(select(Indicator).order_by(Indicator.id)).scalars().all()
    for indicator in indicators[::2]:
        indicator.margin = rnd.choice([0.5, 2.0, abs(indicator.baseline_value) * 0.05])
    for indicator in indicators[::7]:
        indicator.forecast = False
    session.flush()


def _assert_same(full, summarised) -> None:
    assert full.keys() == summarised.keys()
    compared = 0
    for indicator_id, item in full.items():
        ours = summarised[indicator_id].evaluation
        for field in dataclasses.fields(item.evaluation):
            a, b = getattr(item.evaluation, field.name), getattr(ours, field.name)
            if isinstance(a, float) and isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (indicator_id, field)
            else:
                assert a == b, (indicator_id, field.name, a, b)
        compared += 1
    assert compared > 100


def test_summaries_match_full_evaluation(demo_db):
    with demo_db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        _awkward_measurements(session)
        _sheet_settings(session)
        for as_of in (DEMO_AS_OF, DEMO_AS_OF - timedelta(days=200)):
            full = evaluate_indicators(session, contract_id=contract_id, as_of=as_of)
            with QueryCounter(demo_db.engine) as queries:
                summarised = evaluate_summaries(session, contract_id=contract_id, as_of=as_of)
            _assert_same(full, summarised)
            assert queries.count <= 4
            # All contracts at once: the same verdicts.
            everything = evaluate_summaries(session, as_of=as_of)
            assert {k: v.evaluation for k, v in everything.items()} == {
                k: v.evaluation for k, v in summarised.items()
            }
        with_inactive = evaluate_summaries(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, include_inactive=True
        )
        full = evaluate_indicators(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, include_inactive=True
        )
        _assert_same(full, with_inactive)
        subset = sorted(full)[:5]
        assert (
            sorted(
                evaluate_summaries(
                    session,
                    contract_id=contract_id,
                    as_of=DEMO_AS_OF,
                    indicator_ids=subset,
                    include_inactive=True,
                )
            )
            == subset
        )


def test_both_paths_apply_the_margin_and_the_forecast_flag(demo_db):
    with demo_db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        before = evaluate_summaries(session, contract_id=contract_id, as_of=DEMO_AS_OF)
        forecast_ids = [i for i, v in before.items() if v.evaluation.forecast is not None]
        late_ids = [
            i for i, v in before.items() if v.evaluation.performance in ("off_track", "at_risk")
        ]
        assert forecast_ids and late_ids
        for indicator in session.execute(select(Indicator)).scalars():
            if indicator.id in forecast_ids:
                indicator.forecast = False
            if indicator.id in late_ids:
                indicator.margin = 1e9  # every gap is within it
        session.flush()
        for evaluated in (
            evaluate_summaries(session, contract_id=contract_id, as_of=DEMO_AS_OF),
            evaluate_indicators(session, contract_id=contract_id, as_of=DEMO_AS_OF),
        ):
            assert all(evaluated[i].evaluation.forecast is None for i in forecast_ids)
            assert all(evaluated[i].evaluation.forecast_status is None for i in forecast_ids)
            assert {evaluated[i].evaluation.performance for i in late_ids} == {"on_track"}
