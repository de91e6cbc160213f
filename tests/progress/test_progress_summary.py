"""The summary path of the engine: `evaluate` is `evaluate_summary` of `summarize`, and a
summary built from plain sums (as the batch check's SQL computes them) gives the same verdict
within float rounding."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

from hypothesis import given
from hypothesis import settings

from suivi.progress import IndicatorSpec
from suivi.progress import LeastSquares
from suivi.progress import MeasurementSummary
from suivi.progress import evaluate
from suivi.progress import evaluate_summary
from suivi.progress import summarize
from tests.support.progress import cases
from tests.support.progress import rising

MANY = settings(max_examples=500, deadline=None)
FLOAT_FIELDS = ("actual", "expected", "progress", "forecast")
STATUS_FIELDS = {"performance": ("actual",), "forecast_status": ("forecast",)}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def sql_like_summary(spec: IndicatorSpec, measurements, as_of: date) -> MeasurementSummary:
    """What the batch check's query returns, transcribed: plain float sums in date order,
    y shifted by the baseline, x in whole days (for distinct measurement dates)."""
    base_day, base = spec.baseline_date, spec.baseline_value
    rows = sorted((d, v) for d, v in measurements if base_day <= d <= as_of)
    if not rows:
        return MeasurementSummary(0, None, None, None, None)
    sum_x = sum_xx = 0
    sum_dy = sum_xdy = running = amounts = 0.0
    for day, value in rows:
        x = (day - base_day).days
        amount = value if day > base_day else 0.0
        running += amount
        amounts += amount
        dy = running if spec.cumulative else value - base
        sum_x, sum_xx = sum_x + x, sum_xx + x * x
        sum_dy, sum_xdy = sum_dy + dy, sum_xdy + x * dy
    fit = LeastSquares.from_sums(
        count=len(rows),
        sum_x=sum_x,
        sum_xx=sum_xx,
        sum_dy=sum_dy,
        sum_xdy=sum_xdy,
        baseline_value=base,
    )
    return MeasurementSummary(len(rows), rows[-1][0], rows[-1][1], base + amounts, fit)


@MANY
@given(cases())
def test_evaluate_is_the_summary_path(case):
    spec, measurements, as_of = case
    expected = evaluate(spec, measurements, as_of)
    assert evaluate_summary(spec, summarize(spec, measurements, as_of), as_of) == expected


@MANY
@given(cases(distinct=True))
def test_sums_from_sql_give_the_same_verdict(case):
    spec, measurements, as_of = case
    reference = evaluate(spec, measurements, as_of)
    judged = evaluate_summary(spec, sql_like_summary(spec, measurements, as_of), as_of)
    for field in dataclasses.fields(reference):
        name = field.name
        ours, theirs = getattr(judged, name), getattr(reference, name)
        if name in FLOAT_FIELDS:
            assert close(ours, theirs), (name, ours, theirs)
        elif name in STATUS_FIELDS and ours != theirs:
            # Knife edge only: the status moved because its float moved by a rounding.
            for source in STATUS_FIELDS[name]:
                ours_value, theirs_value = getattr(judged, source), getattr(reference, source)
                assert ours_value != theirs_value and close(ours_value, theirs_value), name
        else:
            assert ours == theirs, (name, ours, theirs)


def test_no_forecast_when_every_point_shares_a_date():
    spec = rising((date(2025, 1, 1), 10.0), (date(2027, 1, 1), 20.0))
    same_day = [(date(2025, 1, 1), 11.0), (date(2025, 1, 1), 12.0)]
    summary = summarize(spec, same_day, date(2025, 6, 1))
    assert summary.fit is not None and summary.fit.sxx == 0
    assert evaluate_summary(spec, summary, date(2025, 6, 1)).forecast is None
    fit = LeastSquares.from_sums(
        count=2, sum_x=0, sum_xx=0, sum_dy=3.0, sum_xdy=0.0, baseline_value=10.0
    )
    assert fit.value_at(730) is None


def test_worked_example_from_sums():
    spec = rising(
        (date(2024, 12, 31), 100.0), (date(2027, 12, 31), 160.0), (date(2030, 12, 31), 220.0)
    )
    readings = [(date(2025, 6, 30), 110.0), (date(2026, 6, 30), 125.0)]
    as_of = date(2026, 9, 15)
    judged = evaluate_summary(spec, sql_like_summary(spec, readings, as_of), as_of)
    reference = evaluate(spec, readings, as_of)
    assert (judged.performance, judged.freshness) == ("at_risk", "up_to_date")
    assert judged.forecast_status == reference.forecast_status
    assert math.isclose(judged.forecast, reference.forecast, rel_tol=1e-12)
