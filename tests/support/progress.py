"""Hypothesis strategies for the progress engine: valid indicator specs, measurement lists
around their baseline, and `cases` (spec, measurements, as_of) drawn together."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from hypothesis import strategies as st

from suivi.progress import DIRECTIONS
from suivi.progress import FREQUENCIES
from suivi.progress import IndicatorSpec

values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_subnormal=False)
steps = st.floats(min_value=0.01, max_value=1e3, allow_nan=False, allow_subnormal=False)
tolerances = st.one_of(
    st.sampled_from([0.05, 0.1, 0.2, 0.25]), st.floats(min_value=0.001, max_value=0.999)
)

# Mostly no margin (today's indicators), sometimes a small or a large one.
margins = st.one_of(
    st.just(0.0), st.sampled_from([0.5, 2.0]), st.floats(min_value=0.0, max_value=1e3)
)


def rising(baseline: tuple[date, float], *targets: tuple[date, float], **options) -> IndicatorSpec:
    """An indicator that must increase from its `baseline` (date, value) through `targets`."""
    baseline_date, baseline_value = baseline
    return IndicatorSpec("increase", baseline_value, baseline_date, targets, **options)


@st.composite
def specs(draw, direction=None, cumulative=None, monotone=False, targets=None):
    """Valid specs. ``monotone`` makes increase/decrease trajectories move one way only."""
    direction = direction or draw(st.sampled_from(DIRECTIONS))
    baseline_date = draw(st.dates(date(2000, 1, 1), date(2030, 12, 31)))
    baseline_value = draw(values)
    count = draw(st.integers(0, 3)) if targets is None else targets
    target_list = []
    when, level = baseline_date, baseline_value
    sign = {"increase": 1, "decrease": -1, "maintain": 0}[direction]
    for index in range(count):
        when = when + timedelta(days=draw(st.integers(1, 1500)))
        is_final = index == count - 1
        if sign and (monotone or is_final):
            # Move away from the baseline so the final target is on the right side of it.
            level = (level if monotone else baseline_value) + sign * draw(steps)
            target_value = level
        else:
            target_value = draw(values)
        target_list.append((when, target_value))
    return IndicatorSpec(
        direction=direction,
        baseline_value=baseline_value,
        baseline_date=baseline_date,
        targets=tuple(target_list),
        cumulative=draw(st.booleans()) if cumulative is None else cumulative,
        frequency=draw(st.sampled_from(FREQUENCIES)),
        tolerance=draw(tolerances),
        grace_days=draw(st.integers(0, 120)),
        due_soon_days=draw(st.integers(0, 60)),
        margin=draw(margins),
        forecast=draw(st.booleans()),
    )


def measurement_lists(spec: IndicatorSpec, distinct: bool = False, max_size: int = 8):
    # Some measurements fall before the baseline, most after it.
    item = st.tuples(
        st.integers(-60, 3000).map(lambda n: spec.baseline_date + timedelta(days=n)), values
    )
    if distinct:
        return st.lists(item, max_size=max_size, unique_by=lambda m: m[0])
    return st.lists(item, max_size=max_size)


def as_of_for(spec: IndicatorSpec):
    return st.integers(-30, 3500).map(lambda n: spec.baseline_date + timedelta(days=n))


@st.composite
def cases(draw, distinct=False, **spec_options):
    spec = draw(specs(**spec_options))
    return spec, draw(measurement_lists(spec, distinct)), draw(as_of_for(spec))
