"""Property-based tests of the progress engine (Hypothesis).

Besides the properties asked for by the design doc, ``reference_evaluate`` below is a slow,
literal transcription of the spec (loops over every period, textbook regression) that the fast
engine must agree with on random inputs.
"""

from __future__ import annotations

import calendar
import dataclasses
import statistics
from datetime import date
from datetime import timedelta

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from suivi.progress import EPSILON
from suivi.progress import FORECAST_STATUSES
from suivi.progress import FREQUENCIES
from suivi.progress import FRESHNESSES
from suivi.progress import PERFORMANCES
from suivi.progress import Evaluation
from suivi.progress import IndicatorSpec
from suivi.progress import current_due_period
from suivi.progress import evaluate
from suivi.progress import overdue_from
from suivi.progress import period_bounds
from suivi.progress import trajectory_value
from tests.support.progress import cases
from tests.support.progress import margins
from tests.support.progress import specs
from tests.support.progress import values

FAST = settings(max_examples=200, deadline=None)

FRESHNESS_RANK = {"overdue": 0, "due_soon": 1, "up_to_date": 2}
PERFORMANCE_RANK = {"off_track": 0, "at_risk": 1, "on_track": 2, "achieved": 3}
MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


def counted(spec, measurements, as_of):
    return [(d, v) for d, v in measurements if spec.baseline_date <= d <= as_of]


# --------------------------------------------------------------------------------------------
# Slow reference implementation, written straight from the spec


def ref_trajectory(spec: IndicatorSpec, on: date) -> float:
    points = [(spec.baseline_date, spec.baseline_value), *spec.targets]
    if on <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in zip(points, points[1:], strict=False):
        if d0 <= on <= d1:
            return v0 + (v1 - v0) * (on - d0).days / (d1 - d0).days
    return points[-1][1]


def ref_actual(spec, rows, on):
    """Actual value as of ``on`` from counted ``rows`` (level or cumulative)."""
    rows = [(d, v) for d, v in rows if d <= on]
    if spec.cumulative:
        # The value at a date is the one given last for it.
        last = {d: [w for e, w in rows if e == d][-1] for d, _ in rows}
        return spec.baseline_value + sum(v for d, v in last.items() if d > spec.baseline_date)
    latest = max(d for d, _ in rows)
    return [v for d, v in rows if d == latest][-1]


def ref_periods(spec: IndicatorSpec, as_of: date):
    """Every due period as (first, last, due), walking month by month from the baseline."""
    k = MONTHS[spec.frequency]
    year, month0 = spec.baseline_date.year, (spec.baseline_date.month - 1) // k * k
    final = spec.targets[-1][0] if spec.targets else None
    periods = []
    while True:
        first = date(year, month0 + 1, 1)
        end0 = month0 + k - 1
        last = date(year, end0 + 1, calendar.monthrange(year, end0 + 1)[1])
        due = last + timedelta(days=spec.grace_days)
        if final is not None and first > final:
            break
        if first > spec.baseline_date:
            periods.append((first, last, due))
            if final is None and due > as_of:
                break
        month0 += k
        if month0 >= 12:
            year, month0 = year + 1, month0 - 12
    return periods


def ref_freshness(spec, rows, as_of):
    periods = ref_periods(spec, as_of)
    dates = [d for d, _ in rows]
    past = [p for p in periods if p[2] <= as_of]
    if past:
        first, _, due = past[-1]
        if not any(d >= first for d in dates):
            return "overdue", None, due
    coming = [p for p in periods if p[2] > as_of]
    if not coming:
        return "up_to_date", None, None
    first, _, due = coming[0]
    if (due - as_of).days <= spec.due_soon_days and not any(d >= first for d in dates):
        return "due_soon", due, None
    return "up_to_date", due, None


def ref_performance(spec, actual, expected):
    tol, base, margin = spec.tolerance, spec.baseline_value, spec.margin
    if not spec.targets:
        return "no_target"
    if actual is None:
        return "no_data"
    final = spec.targets[-1][1]
    if spec.direction == "increase" and actual >= final - EPSILON:
        return "achieved"
    if spec.direction == "decrease" and actual <= final + EPSILON:
        return "achieved"
    if spec.direction in ("increase", "decrease"):
        delta = expected - base
        if abs(delta) <= EPSILON:
            return "too_early"
        if abs(actual - expected) <= margin + EPSILON:
            return "on_track"
        r = (actual - base) / delta
        return ref_band(lambda k: r >= 1 - k * tol - EPSILON)
    d = abs(actual - expected)
    s = abs(expected) if abs(expected) > EPSILON else 1
    return ref_band(lambda k: d <= k * tol * s + margin + EPSILON)


def ref_band(within_tolerances) -> str:
    """The spec's bands: on track within one tolerance, at risk within two, else off track."""
    for tolerances, performance in ((1, "on_track"), (2, "at_risk")):
        if within_tolerances(tolerances):
            return performance
    return "off_track"


def ref_forecast(spec, rows):
    if not spec.forecast or not spec.targets or len(rows) < 2:
        return None, None
    xs = [0] + [(d - spec.baseline_date).days for d, _ in rows]
    ys = [spec.baseline_value] + [ref_actual(spec, rows, d) for d, _ in rows]
    if len(set(xs)) == 1:
        return None, None
    slope, intercept = statistics.linear_regression(xs, ys)
    final_date, final = spec.targets[-1]
    forecast = intercept + slope * (final_date - spec.baseline_date).days
    tol, base, margin = spec.tolerance, spec.baseline_value, spec.margin
    if spec.direction == "increase":
        meets = forecast >= final - tol * abs(final - base) - margin - EPSILON
    elif spec.direction == "decrease":
        meets = forecast <= final + tol * abs(final - base) + margin + EPSILON
    else:
        s = abs(final) if abs(final) > EPSILON else 1
        meets = abs(forecast - final) <= tol * s + margin + EPSILON
    return forecast, "will_meet" if meets else "will_miss"


def reference_evaluate(spec, measurements, as_of) -> Evaluation:
    rows = counted(spec, measurements, as_of)
    actual = measured_on = expected = progress = None
    if rows:
        measured_on = max(d for d, _ in rows)
        actual = ref_actual(spec, rows, measured_on)
        expected = ref_trajectory(spec, measured_on)
        if spec.targets and spec.direction != "maintain":
            base = spec.baseline_value
            progress = (actual - base) / (spec.targets[-1][1] - base)
    freshness, next_due, overdue_since = ref_freshness(spec, rows, as_of)
    forecast, forecast_status = ref_forecast(spec, rows)
    return Evaluation(
        actual=actual,
        measured_on=measured_on,
        expected=expected,
        progress=progress,
        performance=ref_performance(spec, actual, expected),
        freshness=freshness,
        next_due=next_due,
        overdue_since=overdue_since,
        forecast=forecast,
        forecast_status=forecast_status,
    )


def evaluated_cases(**options):
    """`cases()`, each with the engine's evaluation: (spec, measurements, as_of, evaluation)."""
    return cases(**options).map(lambda case: (*case, evaluate(*case)))


def close(a, b, rel=1e-9, abs_=1e-6):
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=rel, abs=abs_)


# --------------------------------------------------------------------------------------------
# Properties


@FAST
@given(evaluated_cases())
def test_matches_reference_implementation(case):
    spec, measurements, as_of, ev = case
    ref = reference_evaluate(spec, measurements, as_of)
    assert ev.measured_on == ref.measured_on
    assert close(ev.actual, ref.actual)
    assert close(ev.expected, ref.expected)
    assert close(ev.progress, ref.progress)
    assert (ev.freshness, ev.next_due, ev.overdue_since) == (
        ref.freshness,
        ref.next_due,
        ref.overdue_since,
    )
    assert ev.performance == ref.performance
    assert close(ev.forecast, ref.forecast, rel=1e-6, abs_=1e-6)
    assert ev.forecast_status == ref.forecast_status


@FAST
@given(cases(distinct=True), st.randoms(use_true_random=False))
def test_order_of_measurements_never_matters(case, rnd):
    spec, measurements, as_of = case
    shuffled = list(measurements)
    rnd.shuffle(shuffled)
    assert evaluate(spec, shuffled, as_of) == evaluate(spec, measurements, as_of)


@FAST
@given(cases(), st.data())
def test_measurements_after_as_of_never_matter(case, data):
    spec, measurements, as_of = case
    later = data.draw(
        st.lists(
            st.tuples(st.integers(1, 2000).map(lambda n: as_of + timedelta(days=n)), values),
            max_size=4,
        )
    )
    mixed = list(measurements)
    for item in later:
        # Insert anywhere: the relative order of the counted measurements is unchanged.
        mixed.insert(data.draw(st.integers(0, len(mixed))), item)
    assert evaluate(spec, mixed, as_of) == evaluate(spec, measurements, as_of)


@FAST
@given(cases(), st.data())
def test_measurement_in_current_period_never_worsens_freshness(case, data):
    spec, measurements, as_of = case
    before = evaluate(spec, measurements, as_of)
    period = current_due_period(spec, as_of, measurements)
    assume(period is not None)
    first = max(period[0], spec.baseline_date)
    assume(first <= as_of)
    when = data.draw(st.dates(first, as_of))
    after = evaluate(spec, [*measurements, (when, data.draw(values))], as_of)
    assert FRESHNESS_RANK[after.freshness] >= FRESHNESS_RANK[before.freshness]
    # Filling the overdue period clears the overdue state.
    assert after.freshness != "overdue"


@FAST
@given(cases(), st.data())
def test_any_counted_measurement_never_worsens_freshness(case, data):
    spec, measurements, as_of = case
    assume(spec.baseline_date <= as_of)
    when = data.draw(st.dates(spec.baseline_date, as_of))
    before = evaluate(spec, measurements, as_of)
    after = evaluate(spec, [*measurements, (when, 0.0)], as_of)
    assert FRESHNESS_RANK[after.freshness] >= FRESHNESS_RANK[before.freshness]


@FAST
@given(
    cases(distinct=True, direction="increase", cumulative=False, monotone=True),
    st.floats(min_value=1e-6, max_value=1e4),
)
def test_raising_latest_value_never_worsens_performance(case, raise_by):
    spec, measurements, as_of = case
    rows = counted(spec, measurements, as_of)
    assume(rows)
    latest = max(d for d, _ in rows)
    raised = [(d, v + raise_by if d == latest else v) for d, v in measurements]
    before = evaluate(spec, measurements, as_of).performance
    after = evaluate(spec, raised, as_of).performance
    if before == "too_early":
        # Raising cannot make the trajectory move; it can only reach the final target.
        assert after in ("too_early", "achieved")
    elif before in PERFORMANCE_RANK:
        assert PERFORMANCE_RANK[after] >= PERFORMANCE_RANK[before]
    else:
        assert after == before  # no_target stays no_target


@FAST
@given(evaluated_cases())
def test_progress_is_none_exactly_without_data_target_or_for_maintain(case):
    spec, measurements, as_of, ev = case
    has_data = bool(counted(spec, measurements, as_of))
    should_be_none = not has_data or not spec.targets or spec.direction == "maintain"
    assert (ev.progress is None) == should_be_none


@FAST
@given(cases())
def test_evaluation_is_deterministic(case):
    spec, measurements, as_of = case
    first = evaluate(spec, measurements, as_of)
    assert evaluate(spec, measurements, as_of) == first
    assert evaluate(spec, iter(measurements), as_of) == first  # single-pass iterables too
    assert evaluate(spec, tuple(measurements), as_of) == first


@FAST
@given(evaluated_cases())
def test_evaluation_invariants(case):
    spec, measurements, as_of, ev = case
    assert ev.performance in PERFORMANCES
    assert ev.freshness in FRESHNESSES
    assert ev.forecast_status is None or ev.forecast_status in FORECAST_STATUSES
    assert (ev.actual is None) == (ev.measured_on is None) == (ev.expected is None)
    if ev.measured_on is not None:
        assert spec.baseline_date <= ev.measured_on <= as_of
    assert (ev.forecast is None) == (ev.forecast_status is None)
    assert (ev.freshness == "overdue") == (ev.overdue_since is not None)
    if ev.overdue_since is not None:
        assert ev.overdue_since <= as_of
        assert ev.next_due is None
    if ev.next_due is not None:
        assert ev.next_due > as_of
    if not spec.targets:
        assert ev.performance == "no_target"
        assert ev.next_due is not None or ev.freshness == "overdue"


@FAST
@given(evaluated_cases())
def test_current_due_period_agrees_with_evaluate(case):
    spec, measurements, as_of, ev = case
    period = current_due_period(spec, as_of, measurements)
    due = ev.overdue_since if ev.freshness == "overdue" else ev.next_due
    if due is None:
        assert period is None
    else:
        assert period is not None
        assert period[1] + timedelta(days=spec.grace_days) == due
        assert period == period_bounds(spec.frequency, period[0])


@FAST
@given(st.sampled_from(FREQUENCIES), st.dates(date(1, 1, 1), date(9999, 11, 30)))
def test_period_bounds_tile_the_calendar(frequency, day):
    first, last = period_bounds(frequency, day)
    assert first <= day <= last
    assert first.day == 1
    assert (first.month - 1) % MONTHS[frequency] == 0
    if last < date.max:
        following = last + timedelta(days=1)
        assert period_bounds(frequency, following)[0] == following


@FAST
@given(specs(targets=2), st.dates(date(1990, 1, 1), date(2050, 12, 31)))
def test_trajectory_passes_through_its_points(spec, on):
    assert trajectory_value(spec, spec.baseline_date) == spec.baseline_value
    for when, value in spec.targets:
        assert trajectory_value(spec, when) == value
    assert trajectory_value(spec, on) == pytest.approx(ref_trajectory(spec, on), rel=1e-9)


@FAST
@given(cases())
def test_inputs_are_not_mutated(case):
    spec, measurements, as_of = case
    snapshot = (dataclasses.astuple(spec), list(measurements))
    evaluate(spec, measurements, as_of)
    assert (dataclasses.astuple(spec), measurements) == snapshot


@FAST
@given(
    spec=specs(),
    latest_offset=st.one_of(st.none(), st.integers(0, 2500)),
    start_offset=st.integers(-400, 2500),
)
def test_overdue_from_is_the_first_overdue_day(spec, latest_offset, start_offset):
    """With the same latest measurement, the indicator is overdue exactly from
    `overdue_from` on (what lets the daily check skip indicators until then)."""
    latest = None if latest_offset is None else spec.baseline_date + timedelta(latest_offset)
    start = max(spec.baseline_date + timedelta(start_offset), latest or date.min)
    readings = [] if latest is None else [(latest, spec.baseline_value)]
    first = overdue_from(spec, latest)
    # Every day from `start` for a little over two periods of the longest frequency.
    for offset in range(0, 800, 7):
        as_of = start + timedelta(offset)
        overdue = evaluate(spec, readings, as_of).freshness == "overdue"
        assert overdue == (first is not None and as_of >= first), (as_of, first)
    if first is not None and first > start:
        assert evaluate(spec, readings, first).freshness == "overdue"
        assert evaluate(spec, readings, first - timedelta(1)).freshness != "overdue"


@FAST
@given(cases(), margins)
def test_a_wider_margin_never_worsens_a_verdict(case, extra):
    """Widening the margin can only bring an indicator closer to on track (or to
    will_meet); it never changes the actual, the expected value, the progress or the
    freshness."""
    spec, measurements, as_of = case
    before = evaluate(spec, measurements, as_of)
    after = evaluate(dataclasses.replace(spec, margin=spec.margin + extra), measurements, as_of)
    unjudged = {"performance": None, "forecast_status": None}
    assert dataclasses.replace(after, **unjudged) == dataclasses.replace(before, **unjudged)
    if before.performance in ("off_track", "at_risk", "on_track"):
        assert PERFORMANCE_RANK[after.performance] >= PERFORMANCE_RANK[before.performance]
    else:
        assert after.performance == before.performance
    if before.forecast_status == "will_meet":
        assert after.forecast_status == "will_meet"


@FAST
@given(cases())
def test_forecast_false_means_no_forecast_and_nothing_else_changes(case):
    spec, measurements, as_of = case
    with_forecast = evaluate(dataclasses.replace(spec, forecast=True), measurements, as_of)
    without = evaluate(dataclasses.replace(spec, forecast=False), measurements, as_of)
    assert (without.forecast, without.forecast_status) == (None, None)
    assert dataclasses.replace(with_forecast, forecast=None, forecast_status=None) == without


@FAST
@given(cases(), st.data())
def test_the_last_given_of_a_shared_date_is_its_value(case, data):
    """An indicator (level or cumulative) judged with a duplicate of one of its dates given
    last is judged as if that date only had the duplicate's value."""
    spec, measurements, as_of = case
    assume(measurements)
    day_, _ = data.draw(st.sampled_from(measurements))
    value = data.draw(values)
    with_duplicate = evaluate(spec, [*measurements, (day_, value)], as_of)
    replaced = [(d, value if d == day_ else v) for d, v in measurements]
    # Same points, so the same verdict (the forecast may count the date's point once more).
    ev = evaluate(spec, replaced, as_of)
    assert (with_duplicate.actual, with_duplicate.performance) == (ev.actual, ev.performance)
