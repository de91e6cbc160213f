"""Example-based tests of the progress engine: one test per rule and per boundary."""

from __future__ import annotations

import dataclasses
from datetime import date
from datetime import timedelta

import pytest

from suivi.progress import DIRECTIONS
from suivi.progress import FORECAST_STATUSES
from suivi.progress import FREQUENCIES
from suivi.progress import FRESHNESSES
from suivi.progress import PERFORMANCES
from suivi.progress import Evaluation
from suivi.progress import Health
from suivi.progress import IndicatorSpec
from suivi.progress import commitment_health
from suivi.progress import current_due_period
from suivi.progress import evaluate
from suivi.progress import period_bounds
from suivi.progress import rollup
from suivi.progress import rollup_by
from suivi.progress import trajectory_value
from suivi.progress import validate_spec

# The worked example of the design doc.
EXAMPLE = IndicatorSpec(
    direction="increase",
    baseline_value=100.0,
    baseline_date=date(2024, 12, 31),
    targets=((date(2027, 12, 31), 160.0), (date(2030, 12, 31), 220.0)),
    cumulative=False,
    frequency="quarterly",
    tolerance=0.10,
    grace_days=30,
    due_soon_days=14,
)

# A trajectory where the expected value equals the number of days since 2025-01-01
# (0 -> 100 over 100 days), which makes the ratios easy to compute by hand.
START = date(2025, 1, 1)
LINEAR = IndicatorSpec(
    direction="increase",
    baseline_value=0.0,
    baseline_date=START,
    targets=((START + timedelta(days=100), 100.0),),
    tolerance=0.25,
)


def day(n: int) -> date:
    """The date ``n`` days after START."""
    return START + timedelta(days=n)


def spec_with(base: IndicatorSpec = EXAMPLE, **changes) -> IndicatorSpec:
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------------------------
# Public constants and data classes


def test_constants():
    assert DIRECTIONS == ("increase", "decrease", "maintain")
    assert FREQUENCIES == ("monthly", "quarterly", "semiannual", "annual")
    assert set(PERFORMANCES) == {
        "achieved",
        "on_track",
        "at_risk",
        "off_track",
        "too_early",
        "no_data",
        "no_target",
    }
    assert FRESHNESSES == ("up_to_date", "due_soon", "overdue")
    assert FORECAST_STATUSES == ("will_meet", "will_miss")


def test_spec_defaults_and_field_order():
    spec = IndicatorSpec("increase", 1.0, START)
    assert [f.name for f in dataclasses.fields(IndicatorSpec)] == [
        "direction",
        "baseline_value",
        "baseline_date",
        "targets",
        "cumulative",
        "frequency",
        "tolerance",
        "grace_days",
        "due_soon_days",
        "margin",
        "forecast",
    ]
    assert spec.targets == ()
    assert spec.margin == 0.0
    assert spec.forecast is True
    assert spec.cumulative is False
    assert spec.frequency == "quarterly"
    assert spec.tolerance == 0.10
    assert spec.grace_days == 30
    assert spec.due_soon_days == 14
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.tolerance = 0.2  # type: ignore[misc]


def test_evaluation_fields():
    assert [f.name for f in dataclasses.fields(Evaluation)] == [
        "actual",
        "measured_on",
        "expected",
        "progress",
        "performance",
        "freshness",
        "next_due",
        "overdue_since",
        "forecast",
        "forecast_status",
    ]


# --------------------------------------------------------------------------------------------
# Worked example


@pytest.mark.parametrize(
    ("as_of", "freshness", "next_due", "overdue_since"),
    [
        (date(2026, 9, 15), "up_to_date", date(2026, 10, 30), None),
        (date(2026, 10, 20), "due_soon", date(2026, 10, 30), None),
        (date(2026, 11, 5), "overdue", None, date(2026, 10, 30)),
    ],
)
def test_worked_example(as_of, freshness, next_due, overdue_since):
    ev = evaluate(EXAMPLE, measurements=[(date(2026, 6, 30), 125.0)], as_of=as_of)
    assert ev.actual == 125.0
    assert ev.measured_on == date(2026, 6, 30)
    # 546 of 1,095 days from 100 to 160.
    assert ev.expected == pytest.approx(100 + 60 * 546 / 1095, abs=1e-12)
    assert ev.expected == pytest.approx(129.9178, abs=1e-4)
    assert ev.progress == pytest.approx(25 / 120)
    assert ev.performance == "at_risk"  # r = 25 / 29.918 = 0.836
    assert ev.freshness == freshness
    assert ev.next_due == next_due
    assert ev.overdue_since == overdue_since
    assert ev.forecast is None  # a single measurement
    assert ev.forecast_status is None


def test_worked_example_statuses_are_plain_strings():
    ev = evaluate(EXAMPLE, [(date(2026, 6, 30), 125.0)], date(2026, 9, 15))
    assert type(ev.performance) is str
    assert type(ev.freshness) is str


# --------------------------------------------------------------------------------------------
# Trajectory


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2020, 1, 1), 100.0),  # before the baseline: baseline value
        (date(2024, 12, 31), 100.0),  # on the baseline
        (date(2026, 6, 30), 100 + 60 * 546 / 1095),
        (date(2027, 12, 31), 160.0),  # exactly on an intermediate target
        (date(2029, 6, 30), 160 + 60 * 547 / 1096),  # second segment (2028 is a leap year)
        (date(2030, 12, 31), 220.0),  # final target
        (date(2040, 1, 1), 220.0),  # after the last target: last value
    ],
)
def test_trajectory_value(on, expected):
    assert trajectory_value(EXAMPLE, on) == pytest.approx(expected, abs=1e-12)


def test_trajectory_without_target_is_flat():
    spec = spec_with(targets=())
    assert trajectory_value(spec, date(2000, 1, 1)) == 100.0
    assert trajectory_value(spec, date(2030, 1, 1)) == 100.0


def test_trajectory_hits_targets_exactly():
    spec = IndicatorSpec("increase", 0.1, START, ((day(3), 0.7), (day(10), 0.3 + 0.6)))
    assert trajectory_value(spec, day(3)) == 0.7
    assert trajectory_value(spec, day(10)) == 0.3 + 0.6


def test_expected_is_read_at_the_measurement_date_not_as_of():
    ev = evaluate(LINEAR, [(day(40), 30.0)], as_of=day(90))
    assert ev.expected == 40.0
    assert ev.measured_on == day(40)


# --------------------------------------------------------------------------------------------
# Performance rules


def test_no_target_wins_over_everything():
    spec = spec_with(targets=())
    ev = evaluate(spec, [(date(2026, 6, 30), 500.0)], date(2026, 9, 15))
    assert ev.performance == "no_target"
    assert ev.expected == 100.0  # flat trajectory at the baseline value
    assert ev.actual == 500.0
    assert ev.progress is None
    assert ev.forecast is None


def test_no_target_and_no_data():
    ev = evaluate(spec_with(targets=()), [], date(2026, 9, 15))
    assert ev.performance == "no_target"
    assert ev.actual is None
    assert ev.expected is None


def test_no_data():
    ev = evaluate(EXAMPLE, [], date(2026, 9, 15))
    assert ev.performance == "no_data"
    assert (ev.actual, ev.measured_on, ev.expected, ev.progress) == (None, None, None, None)
    assert (ev.forecast, ev.forecast_status) == (None, None)
    # Freshness is still judged: Q2 2026 was due on 2026-07-30.
    assert ev.freshness == "overdue"
    assert ev.overdue_since == date(2026, 7, 30)


@pytest.mark.parametrize(
    ("actual", "performance"),
    [
        (100.0, "achieved"),  # the final target itself
        (100.0 - 1e-10, "achieved"),  # within the 1e-9 slack
        (150.0, "achieved"),
        (30.0, "on_track"),  # r = 30 / 40 = 0.75 = 1 - tol exactly
        (30.0 - 1e-10, "on_track"),  # within the slack
        (29.99, "at_risk"),
        (40.0, "on_track"),
        (20.0, "at_risk"),  # r = 0.5 = 1 - 2 tol exactly
        (20.0 - 1e-10, "at_risk"),
        (19.99, "off_track"),
        (0.0, "off_track"),
        (-5.0, "off_track"),
    ],
)
def test_increase_thresholds(actual, performance):
    ev = evaluate(LINEAR, [(day(40), actual)], as_of=day(45))
    assert ev.expected == 40.0
    assert ev.performance == performance


def test_increase_achieved_before_final_target_date():
    # Hitting the final target early is "achieved" even if far ahead of the trajectory.
    assert evaluate(EXAMPLE, [(date(2025, 3, 1), 220.0)], date(2025, 3, 2)).performance == (
        "achieved"
    )
    # Above an intermediate target but below the final one: judged on the trajectory.
    ev = evaluate(EXAMPLE, [(date(2025, 3, 1), 170.0)], date(2025, 3, 2))
    assert ev.performance == "on_track"


def test_ratio_boundary_with_non_binary_tolerance():
    # tol = 0.1 cannot be represented exactly: the 1e-9 slack keeps r = 0.9 on track.
    measured_on = date(2026, 6, 30)
    expected = trajectory_value(EXAMPLE, measured_on)
    on_boundary = 100.0 + 0.9 * (expected - 100.0)
    ev = evaluate(EXAMPLE, [(measured_on, on_boundary)], date(2026, 7, 1))
    assert ev.performance == "on_track"
    lower_boundary = 100.0 + 0.8 * (expected - 100.0)
    ev = evaluate(EXAMPLE, [(measured_on, lower_boundary)], date(2026, 7, 1))
    assert ev.performance == "at_risk"
    ev = evaluate(EXAMPLE, [(measured_on, lower_boundary - 1e-6)], date(2026, 7, 1))
    assert ev.performance == "off_track"


def test_too_early_on_the_baseline_date():
    ev = evaluate(LINEAR, [(START, 5.0)], as_of=day(10))
    assert ev.expected == 0.0
    assert ev.performance == "too_early"
    assert ev.progress == pytest.approx(0.05)


def test_achieved_wins_over_too_early():
    ev = evaluate(LINEAR, [(START, 100.0)], as_of=day(10))
    assert ev.performance == "achieved"


def test_too_early_on_a_flat_stretch_of_the_trajectory():
    # The trajectory stays at the baseline until the first target, then rises.
    spec = IndicatorSpec("increase", 10.0, START, ((day(50), 10.0), (day(100), 20.0)))
    assert evaluate(spec, [(day(30), 0.0)], day(31)).performance == "too_early"
    assert evaluate(spec, [(day(75), 15.0)], day(76)).performance == "on_track"


def test_too_early_within_slack():
    # Expected change of 5e-10: treated as zero.
    spec = IndicatorSpec("increase", 0.0, START, ((day(100), 1e-8),))
    assert evaluate(spec, [(day(5), 0.0)], day(6)).performance == "too_early"


@pytest.mark.parametrize(
    ("actual", "performance"),
    [
        (30.0, "achieved"),
        (29.0, "achieved"),
        (30.0 + 1e-10, "achieved"),
        (39.0, "on_track"),
        (41.0, "on_track"),  # r = 9 / 10 = 0.9
        (41.5, "at_risk"),
        (42.0, "at_risk"),  # r = 0.8 = 1 - 2 tol
        (42.1, "off_track"),
        (55.0, "off_track"),  # moved the wrong way
    ],
)
def test_decrease_thresholds(actual, performance):
    spec = IndicatorSpec("decrease", 50.0, START, ((day(200), 30.0),), tolerance=0.1)
    ev = evaluate(spec, [(day(100), actual)], day(101))
    assert ev.expected == 40.0
    assert ev.performance == performance
    assert ev.progress == pytest.approx((actual - 50.0) / -20.0)


@pytest.mark.parametrize(
    ("actual", "performance"),
    [
        (80.0, "on_track"),
        (88.0, "on_track"),  # |d| = 8 = tol * 80
        (72.0, "on_track"),
        (88.5, "at_risk"),
        (96.0, "at_risk"),  # |d| = 16 = 2 tol * 80
        (64.0, "at_risk"),
        (96.5, "off_track"),
        (60.0, "off_track"),
    ],
)
def test_maintain_thresholds(actual, performance):
    spec = IndicatorSpec("maintain", 80.0, START, ((day(100), 80.0),), tolerance=0.1)
    ev = evaluate(spec, [(day(40), actual)], day(41))
    assert ev.performance == performance
    assert ev.progress is None  # no progress for "maintain"


@pytest.mark.parametrize(
    ("actual", "performance"),
    [
        (0.0, "on_track"),
        (0.25, "on_track"),  # scale 1 when expected = 0: |d| <= 0.25
        (-0.25, "on_track"),
        (0.5, "at_risk"),
        (-0.5, "at_risk"),
        (0.51, "off_track"),
    ],
)
def test_maintain_expected_zero_uses_scale_one(actual, performance):
    spec = IndicatorSpec("maintain", 0.0, START, ((day(100), 0.0),), tolerance=0.25)
    assert evaluate(spec, [(day(40), actual)], day(41)).performance == performance


def test_maintain_follows_a_moving_trajectory_and_is_never_achieved():
    # "maintain" may still have a trajectory; expected 60 at day 50.
    spec = IndicatorSpec("maintain", 40.0, START, ((day(100), 80.0),), tolerance=0.25)
    assert evaluate(spec, [(day(50), 80.0)], day(51)).performance == "at_risk"  # d = 20
    assert evaluate(spec, [(day(50), 75.0)], day(51)).performance == "on_track"  # d = 15
    assert evaluate(spec, [(day(100), 80.0)], day(101)).performance == "on_track"


def test_progress_is_not_clamped():
    assert evaluate(LINEAR, [(day(40), 150.0)], day(41)).progress == 1.5
    assert evaluate(LINEAR, [(day(40), -20.0)], day(41)).progress == -0.2


def test_progress_uses_final_target():
    ev = evaluate(EXAMPLE, [(date(2026, 6, 30), 160.0)], date(2026, 7, 1))
    assert ev.progress == pytest.approx(60 / 120)


# --------------------------------------------------------------------------------------------
# Which measurements count, and the actual value


def test_measurements_out_of_order():
    ms = [(day(40), 30.0), (day(10), 5.0), (day(20), 12.0)]
    ev = evaluate(LINEAR, ms, day(50))
    assert (ev.actual, ev.measured_on) == (30.0, day(40))


def test_measurements_after_as_of_are_ignored():
    ev = evaluate(LINEAR, [(day(10), 5.0), (day(60), 99.0)], as_of=day(50))
    assert (ev.actual, ev.measured_on) == (5.0, day(10))


def test_measurement_on_as_of_counts():
    ev = evaluate(LINEAR, [(day(10), 5.0), (day(50), 45.0)], as_of=day(50))
    assert (ev.actual, ev.measured_on) == (45.0, day(50))


def test_measurements_before_the_baseline_are_ignored():
    ev = evaluate(LINEAR, [(START - timedelta(days=1), 99.0)], as_of=day(50))
    assert ev.actual is None
    assert ev.performance == "no_data"


def test_measurement_on_the_baseline_date_counts():
    ev = evaluate(LINEAR, [(START, 3.0)], as_of=day(10))
    assert (ev.actual, ev.measured_on) == (3.0, START)


def test_level_ties_on_latest_date_take_the_last_given():
    ms = [(day(40), 30.0), (day(40), 35.0), (day(10), 1.0)]
    assert evaluate(LINEAR, ms, day(50)).actual == 35.0
    assert evaluate(LINEAR, list(reversed(ms)), day(50)).actual == 30.0


def test_measurements_may_be_any_iterable():
    ev = evaluate(LINEAR, iter([(day(10), 5.0), (day(20), 15.0)]), day(30))
    assert ev.actual == 15.0
    assert ev.forecast is not None  # the generator was read once, fully


def test_integer_values_are_accepted():
    ev = evaluate(LINEAR, [(day(40), 30)], day(41))
    assert ev.actual == 30.0
    assert isinstance(ev.actual, float)


def test_as_of_before_baseline():
    ev = evaluate(LINEAR, [(START, 5.0)], as_of=START - timedelta(days=5))
    assert ev.performance == "no_data"
    assert ev.freshness == "up_to_date"
    assert ev.next_due == date(2025, 7, 30)  # Q2 2025 + 30 days: Q1 starts on the baseline


CUMULATIVE = IndicatorSpec(
    "increase", 10.0, START, ((day(360), 130.0),), cumulative=True, tolerance=0.25
)


def test_cumulative_sums_amounts_after_the_baseline():
    ms = [(day(90), 20.0), (day(30), 10.0), (day(60), 5.0)]
    ev = evaluate(CUMULATIVE, ms, day(100))
    assert ev.actual == 45.0  # 10 + 20 + 10 + 5
    assert ev.measured_on == day(90)
    assert ev.expected == pytest.approx(10 + 120 * 90 / 360)  # 40
    assert ev.performance == "on_track"  # r = 35 / 30
    assert ev.progress == pytest.approx(35 / 120)


def test_cumulative_ignores_out_of_window_amounts():
    ms = [(START - timedelta(days=3), 100.0), (day(30), 10.0), (day(200), 100.0)]
    ev = evaluate(CUMULATIVE, ms, day(100))
    assert ev.actual == 20.0
    assert ev.measured_on == day(30)


def test_cumulative_amount_on_baseline_date_is_not_added():
    ev = evaluate(CUMULATIVE, [(START, 50.0)], day(10))
    assert ev.actual == 10.0
    assert ev.measured_on == START
    assert ev.performance == "too_early"
    assert ev.progress == 0.0
    ev = evaluate(CUMULATIVE, [(START, 50.0), (day(5), 1.0)], day(10))
    assert ev.actual == 11.0
    assert ev.measured_on == day(5)


def test_cumulative_amount_on_baseline_date_counts_for_freshness():
    spec = spec_with(CUMULATIVE, frequency="monthly", grace_days=0, due_soon_days=0)
    # January 2025 starts on the baseline date so it is not due; February is due on 02-28.
    assert evaluate(spec, [(START, 1.0)], date(2025, 2, 28)).freshness == "overdue"
    assert evaluate(spec, [(date(2025, 2, 28), 1.0)], date(2025, 2, 28)).freshness == ("up_to_date")


def test_cumulative_sum_is_exact_and_order_independent():
    values = [0.1, 0.2, 0.3, 1e16, -1e16]
    ms = [(day(i + 1), v) for i, v in enumerate(values)]
    spec = spec_with(CUMULATIVE, baseline_value=0.0)
    a = evaluate(spec, ms, day(50))
    b = evaluate(spec, list(reversed(ms)), day(50))
    assert a == b
    assert a.actual == pytest.approx(0.6)


def test_cumulative_decrease():
    # A cumulative "decrease" indicator (negative amounts each period).
    spec = IndicatorSpec("decrease", 100.0, START, ((day(100), 50.0),), cumulative=True)
    ev = evaluate(spec, [(day(25), -10.0), (day(50), -15.0)], day(60))
    assert ev.actual == 75.0
    assert ev.expected == 75.0
    assert ev.performance == "on_track"
    assert ev.progress == 0.5


# --------------------------------------------------------------------------------------------
# Reporting periods


@pytest.mark.parametrize(
    ("frequency", "on", "bounds"),
    [
        ("monthly", date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),  # leap year
        ("monthly", date(2023, 2, 28), (date(2023, 2, 1), date(2023, 2, 28))),
        ("monthly", date(2025, 12, 31), (date(2025, 12, 1), date(2025, 12, 31))),
        ("monthly", date(2025, 1, 1), (date(2025, 1, 1), date(2025, 1, 31))),
        ("quarterly", date(2024, 2, 29), (date(2024, 1, 1), date(2024, 3, 31))),
        ("quarterly", date(2025, 4, 1), (date(2025, 4, 1), date(2025, 6, 30))),
        ("quarterly", date(2025, 9, 30), (date(2025, 7, 1), date(2025, 9, 30))),
        ("quarterly", date(2025, 12, 31), (date(2025, 10, 1), date(2025, 12, 31))),
        ("semiannual", date(2025, 6, 30), (date(2025, 1, 1), date(2025, 6, 30))),
        ("semiannual", date(2025, 7, 1), (date(2025, 7, 1), date(2025, 12, 31))),
        ("semiannual", date(2025, 12, 31), (date(2025, 7, 1), date(2025, 12, 31))),
        ("annual", date(2024, 2, 29), (date(2024, 1, 1), date(2024, 12, 31))),
        ("annual", date(2025, 12, 31), (date(2025, 1, 1), date(2025, 12, 31))),
        ("annual", date(9999, 12, 31), (date(9999, 1, 1), date(9999, 12, 31))),
        ("monthly", date(1, 1, 1), (date(1, 1, 1), date(1, 1, 31))),
    ],
)
def test_period_bounds(frequency, on, bounds):
    assert period_bounds(frequency, on) == bounds


def test_period_bounds_rejects_unknown_frequency():
    with pytest.raises(ValueError, match="frequency"):
        period_bounds("yearly", START)


# --------------------------------------------------------------------------------------------
# Freshness


def test_due_date_exactly_on_as_of_is_overdue():
    # Q3 2026 is due on 2026-10-30 (last day + 30).
    ms = [(date(2026, 6, 30), 125.0)]
    ev = evaluate(EXAMPLE, ms, date(2026, 10, 30))
    assert (ev.freshness, ev.overdue_since, ev.next_due) == ("overdue", date(2026, 10, 30), None)
    ev = evaluate(EXAMPLE, ms, date(2026, 10, 29))
    assert (ev.freshness, ev.next_due, ev.overdue_since) == ("due_soon", date(2026, 10, 30), None)


def test_due_soon_days_boundary():
    ms = [(date(2026, 6, 30), 125.0)]
    # 14 days before the due date: due soon; 15 days before: up to date.
    ev = evaluate(EXAMPLE, ms, date(2026, 10, 16))
    assert (ev.freshness, ev.next_due) == ("due_soon", date(2026, 10, 30))
    ev = evaluate(EXAMPLE, ms, date(2026, 10, 15))
    assert (ev.freshness, ev.next_due) == ("up_to_date", date(2026, 10, 30))


def test_due_soon_days_zero_never_warns():
    spec = spec_with(due_soon_days=0)
    ev = evaluate(spec, [(date(2026, 6, 30), 125.0)], date(2026, 10, 29))
    assert ev.freshness == "up_to_date"


def test_measurement_in_the_coming_period_means_up_to_date():
    ms = [(date(2026, 6, 30), 125.0), (date(2026, 7, 2), 126.0)]
    ev = evaluate(EXAMPLE, ms, date(2026, 10, 20))
    assert (ev.freshness, ev.next_due) == ("up_to_date", date(2026, 10, 30))


def test_measurement_during_grace_covers_the_previous_period():
    # Nothing dated in Q3 itself, but a measurement dated after Q3's first day (in October,
    # during the grace period) satisfies the rule "dated on or after P's first day".
    ms = [(date(2026, 10, 10), 130.0)]
    ev = evaluate(EXAMPLE, ms, date(2026, 11, 5))
    assert ev.freshness == "up_to_date"
    assert ev.next_due == date(2027, 1, 30)


def test_overdue_uses_the_latest_past_due_period():
    # Last measurement in Q1 2026; as of 2026-11-05 both Q2 and Q3 are past due: the
    # indicator is overdue since the due date of the latest one (Q3).
    ev = evaluate(EXAMPLE, [(date(2026, 3, 31), 110.0)], date(2026, 11, 5))
    assert ev.overdue_since == date(2026, 10, 30)


def test_first_period_must_start_after_the_baseline():
    # Baseline on 2025-01-01: Q1 2025 starts on the baseline date, so it is not due.
    ev = evaluate(LINEAR, [], date(2025, 5, 15))
    assert (ev.freshness, ev.next_due) == ("up_to_date", date(2025, 7, 30))
    ev = evaluate(LINEAR, [], date(2025, 7, 16))
    assert (ev.freshness, ev.next_due) == ("due_soon", date(2025, 7, 30))
    ev = evaluate(LINEAR, [], date(2025, 7, 30))
    assert (ev.freshness, ev.overdue_since) == ("overdue", date(2025, 7, 30))


def test_no_due_period_yet_and_no_data_is_not_overdue():
    # Baseline on 2024-12-31: Q1 2025 is the first due period, due 2025-04-30.
    ev = evaluate(EXAMPLE, [], date(2025, 4, 29))
    assert (ev.freshness, ev.next_due) == ("due_soon", date(2025, 4, 30))
    ev = evaluate(EXAMPLE, [], date(2025, 4, 30))
    assert (ev.freshness, ev.overdue_since) == ("overdue", date(2025, 4, 30))


@pytest.mark.parametrize(
    ("final_date", "last_due_period_start", "last_due_date"),
    [
        (date(2027, 12, 31), date(2027, 10, 1), date(2028, 1, 30)),
        (date(2027, 11, 15), date(2027, 10, 1), date(2028, 1, 30)),
        (date(2027, 10, 1), date(2027, 10, 1), date(2028, 1, 30)),  # starts on the final date
        (date(2027, 9, 30), date(2027, 7, 1), date(2027, 10, 30)),
    ],
)
def test_due_periods_stop_at_the_final_target(final_date, last_due_period_start, last_due_date):
    spec = spec_with(targets=((final_date, 200.0),))
    late = date(2029, 6, 1)
    # Data in the last due period: nothing more is ever due.
    ev = evaluate(spec, [(last_due_period_start, 150.0)], late)
    assert (ev.freshness, ev.next_due, ev.overdue_since) == ("up_to_date", None, None)
    # Data only before it: overdue since the last due date.
    ev = evaluate(spec, [(last_due_period_start - timedelta(days=1), 150.0)], late)
    assert (ev.freshness, ev.overdue_since) == ("overdue", last_due_date)
    # Just before the last due date, with the previous period filled: due soon.
    ev = evaluate(
        spec,
        [(last_due_period_start - timedelta(days=1), 150.0)],
        last_due_date - timedelta(days=1),
    )
    assert (ev.freshness, ev.next_due) == ("due_soon", last_due_date)


def test_no_due_period_at_all():
    # Annual reporting, baseline on 2025-01-02 and final target the same year: the only
    # candidate period (2025) starts before the baseline, so nothing is ever due.
    spec = IndicatorSpec("increase", 0.0, date(2025, 1, 2), ((date(2025, 6, 1), 1.0),))
    spec = spec_with(spec, frequency="annual")
    for as_of in (date(2025, 1, 3), date(2026, 6, 1), date(2030, 1, 1)):
        ev = evaluate(spec, [], as_of)
        assert (ev.freshness, ev.next_due, ev.overdue_since) == ("up_to_date", None, None)


def test_without_targets_periods_are_unbounded():
    spec = spec_with(targets=())
    ev = evaluate(spec, [(date(2400, 1, 15), 1.0)], date(2400, 3, 1))
    assert (ev.freshness, ev.next_due) == ("up_to_date", date(2400, 4, 30))  # Q1 2400
    ev = evaluate(spec, [(date(2026, 6, 30), 1.0)], date(2400, 3, 1))
    assert (ev.freshness, ev.overdue_since) == ("overdue", date(2400, 1, 30))  # Q4 2399


@pytest.mark.parametrize(
    ("frequency", "grace", "as_of", "measured", "result"),
    [
        # Monthly, no grace, leap February: due on Feb 29.
        ("monthly", 0, date(2024, 2, 28), date(2024, 1, 31), ("due_soon", date(2024, 2, 29))),
        ("monthly", 0, date(2024, 2, 29), date(2024, 1, 31), ("overdue", date(2024, 2, 29))),
        ("monthly", 0, date(2024, 2, 29), date(2024, 2, 1), ("up_to_date", date(2024, 3, 31))),
        ("monthly", 0, date(2023, 2, 28), date(2023, 1, 31), ("overdue", date(2023, 2, 28))),
        # Monthly with a grace longer than a month: two periods can be "in grace" at once.
        ("monthly", 45, date(2025, 3, 20), date(2025, 1, 5), ("up_to_date", date(2025, 4, 14))),
        ("monthly", 45, date(2025, 3, 31), date(2025, 1, 5), ("due_soon", date(2025, 4, 14))),
        ("monthly", 45, date(2025, 3, 20), date(2024, 12, 5), ("overdue", date(2025, 3, 17))),
        ("monthly", 45, date(2025, 3, 16), date(2024, 11, 5), ("overdue", date(2025, 2, 14))),
        ("monthly", 45, date(2025, 3, 16), date(2024, 12, 5), ("due_soon", date(2025, 3, 17))),
        # Quarterly across the year end.
        ("quarterly", 30, date(2026, 1, 29), date(2025, 9, 1), ("due_soon", date(2026, 1, 30))),
        ("quarterly", 30, date(2026, 1, 30), date(2025, 9, 1), ("overdue", date(2026, 1, 30))),
        ("quarterly", 30, date(2026, 1, 30), date(2025, 10, 1), ("up_to_date", date(2026, 4, 30))),
        # Semiannual: H1 = Jan-Jun, H2 = Jul-Dec.
        ("semiannual", 30, date(2025, 7, 30), date(2024, 12, 31), ("overdue", date(2025, 7, 30))),
        ("semiannual", 30, date(2025, 7, 30), date(2025, 6, 30), ("up_to_date", date(2026, 1, 30))),
        ("semiannual", 30, date(2026, 1, 20), date(2025, 6, 30), ("due_soon", date(2026, 1, 30))),
        ("semiannual", 30, date(2026, 1, 30), date(2025, 6, 30), ("overdue", date(2026, 1, 30))),
        ("semiannual", 30, date(2026, 1, 30), date(2025, 7, 1), ("up_to_date", date(2026, 7, 30))),
        # Annual, with a grace ending on a leap day.
        ("annual", 60, date(2024, 2, 28), date(2022, 6, 1), ("due_soon", date(2024, 2, 29))),
        ("annual", 60, date(2024, 2, 29), date(2023, 1, 1), ("up_to_date", date(2025, 3, 1))),
        ("annual", 60, date(2024, 2, 29), date(2022, 12, 1), ("overdue", date(2024, 2, 29))),
        ("annual", 0, date(2023, 12, 31), date(2022, 12, 1), ("overdue", date(2023, 12, 31))),
    ],
)
def test_freshness_by_frequency(frequency, grace, as_of, measured, result):
    spec = IndicatorSpec(
        "increase",
        0.0,
        date(2021, 6, 30),
        ((date(2030, 12, 31), 100.0),),
        frequency=frequency,
        grace_days=grace,
        due_soon_days=14,
    )
    ev = evaluate(spec, [(measured, 1.0)], as_of)
    freshness, due = result
    assert ev.freshness == freshness
    if freshness == "overdue":
        assert (ev.overdue_since, ev.next_due) == (due, None)
    else:
        assert (ev.next_due, ev.overdue_since) == (due, None)


def test_freshness_with_baseline_mid_period():
    # Baseline mid-quarter: that quarter is never due, the next one is.
    spec = IndicatorSpec("increase", 0.0, date(2025, 5, 15), ((date(2026, 12, 31), 9.0),))
    ev = evaluate(spec, [], date(2025, 7, 30))
    assert (ev.freshness, ev.next_due) == ("up_to_date", date(2025, 10, 30))


def test_far_future_as_of_is_fast_and_correct():
    spec = IndicatorSpec("maintain", 1.0, date(2000, 1, 1), frequency="monthly", grace_days=0)
    ev = evaluate(spec, [], date(9000, 6, 15))
    assert (ev.freshness, ev.overdue_since) == ("overdue", date(9000, 5, 31))


# --------------------------------------------------------------------------------------------
# current_due_period


def test_current_due_period_is_the_overdue_period():
    ms = [(date(2026, 6, 30), 125.0)]
    assert current_due_period(EXAMPLE, date(2026, 11, 5), ms) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
    )


@pytest.mark.parametrize("as_of", [date(2026, 9, 15), date(2026, 10, 20)])
def test_current_due_period_is_the_coming_period(as_of):
    ms = [(date(2026, 6, 30), 125.0)]
    assert current_due_period(EXAMPLE, as_of, ms) == (date(2026, 7, 1), date(2026, 9, 30))


def test_current_due_period_without_measurements_assumes_no_data():
    assert current_due_period(EXAMPLE, date(2026, 9, 15)) == (date(2026, 4, 1), date(2026, 6, 30))


def test_current_due_period_none_after_the_last_due_period():
    ms = [(date(2030, 12, 1), 220.0)]
    assert current_due_period(EXAMPLE, date(2031, 6, 1), ms) is None


def test_current_due_period_validates_the_spec():
    with pytest.raises(ValueError, match="frequency"):
        current_due_period(spec_with(frequency="weekly"), START)


# --------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"targets": ((date(2024, 12, 31), 200.0),)}, "on or before the baseline"),
        ({"targets": ((date(2024, 1, 1), 200.0),)}, "on or before the baseline"),
        (
            {"targets": ((date(2030, 1, 1), 150.0), (date(2028, 1, 1), 200.0))},
            "out of date order",
        ),
        (
            {"targets": ((date(2028, 1, 1), 150.0), (date(2028, 1, 1), 200.0))},
            "duplicate target date",
        ),
        ({"targets": ((date(2030, 1, 1), 100.0),)}, "above the baseline"),
        ({"targets": ((date(2030, 1, 1), 90.0),)}, "above the baseline"),
        (
            {"targets": ((date(2028, 1, 1), 150.0), (date(2030, 1, 1), 99.0))},
            "above the baseline",
        ),
        (
            {"direction": "decrease", "targets": ((date(2030, 1, 1), 100.0),)},
            "below the baseline",
        ),
        (
            {"direction": "decrease", "targets": ((date(2030, 1, 1), 120.0),)},
            "below the baseline",
        ),
        ({"tolerance": 0.0}, "tolerance"),
        ({"tolerance": 1.0}, "tolerance"),
        ({"tolerance": -0.1}, "tolerance"),
        ({"tolerance": 1.5}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"frequency": "yearly"}, "frequency"),
        ({"frequency": "half_yearly"}, "frequency"),
        ({"frequency": "semiannually"}, "frequency"),
        ({"frequency": "Monthly"}, "frequency"),
        ({"direction": "up"}, "direction"),
        ({"direction": ""}, "direction"),
        ({"grace_days": -1}, "grace_days"),
        ({"due_soon_days": -1}, "due_soon_days"),
        ({"baseline_value": float("nan")}, "baseline"),
        ({"targets": ((date(2030, 1, 1), float("inf")),)}, "finite"),
        ({"margin": -0.5}, "margin"),
        ({"margin": float("nan")}, "margin"),
        ({"margin": float("inf")}, "margin"),
    ],
)
def test_invalid_spec(changes, fragment):
    spec = spec_with(**changes)
    with pytest.raises(ValueError, match=fragment):
        validate_spec(spec)
    with pytest.raises(ValueError, match=fragment):
        evaluate(spec, [(date(2026, 6, 30), 125.0)], date(2026, 9, 15))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"targets": ()},
        {"direction": "maintain", "targets": ((date(2030, 1, 1), 100.0),)},
        {"direction": "maintain", "targets": ((date(2030, 1, 1), 5.0),)},
        {"direction": "decrease", "targets": ((date(2030, 1, 1), 50.0),)},
        # Only the final target must be beyond the baseline.
        {"targets": ((date(2026, 1, 1), 90.0), (date(2030, 1, 1), 150.0))},
        {"grace_days": 0, "due_soon_days": 0},
        {"tolerance": 0.999},
        {"tolerance": 1e-6},
        {"margin": 0.0},
        {"margin": 2.5, "forecast": False},
        *({"frequency": f} for f in FREQUENCIES),
        *({"direction": d, "targets": ()} for d in DIRECTIONS),
    ],
)
def test_valid_spec(changes):
    assert validate_spec(spec_with(**changes)) is None


# --------------------------------------------------------------------------------------------
# Forecast (ordinary least squares, x in days since the baseline)


def test_forecast_needs_two_measurements():
    ev = evaluate(LINEAR, [(day(40), 40.0)], day(50))
    assert (ev.forecast, ev.forecast_status) == (None, None)


def test_forecast_needs_a_target():
    spec = spec_with(LINEAR, targets=())
    ev = evaluate(spec, [(day(10), 1.0), (day(20), 2.0)], day(50))
    assert (ev.forecast, ev.forecast_status) == (None, None)


# Final target 400 at day 400, baseline 0 at day 0.
LONG = IndicatorSpec("increase", 0.0, START, ((day(400), 400.0),), tolerance=0.25)


def forecast(spec, measurements) -> tuple[float | None, str | None]:
    """(forecast, forecast status) as of day 250, for a final target on day 400."""
    ev = evaluate(spec, measurements, day(250))
    return ev.forecast, ev.forecast_status


def test_forecast_on_a_straight_line():
    ev = evaluate(LONG, [(day(100), 100.0), (day(200), 200.0)], day(250))
    assert ev.forecast == pytest.approx(400.0)
    assert ev.forecast_status == "will_meet"


def test_forecast_hand_computed():
    # Points (0, 0), (100, 120), (200, 180): x̄ = 100, ȳ = 100, Sxx = 20000, Sxy = 18000,
    # slope 0.9, forecast at x = 400: 100 + 0.9 * 300 = 370; threshold 400 - 0.25 * 400 = 300.
    ev = evaluate(LONG, [(day(200), 180.0), (day(100), 120.0)], day(250))
    assert ev.forecast == pytest.approx(370.0)
    assert ev.forecast_status == "will_meet"


def test_forecast_status_boundary_for_increase():
    # Slope 0.75 through the origin: forecast 300 = 400 - 0.25 * 400 exactly.
    meet = forecast(LONG, [(day(100), 75.0), (day(200), 150.0)])
    assert meet == (pytest.approx(300.0), "will_meet")
    miss = forecast(LONG, [(day(100), 74.0), (day(200), 148.0)])
    assert miss == (pytest.approx(296.0), "will_miss")


def test_forecast_ignores_measurements_after_as_of():
    ms = [(day(100), 75.0), (day(200), 150.0), (day(300), 0.0)]
    assert evaluate(LONG, ms, day(250)).forecast == pytest.approx(300.0)


def test_forecast_level_duplicate_dates_use_the_actual_of_that_date():
    # Two measurements on day 100 (50 then 70): both points use 70, the actual of that date.
    # Points (0, 0), (100, 70), (100, 70), (200, 130): x̄ = 100, ȳ = 67.5,
    # Sxx = 20000, Sxy = (-100)(-67.5) + 100 * 62.5 = 13000, slope 0.65,
    # forecast = 67.5 + 0.65 * 300 = 262.5.
    ms = [(day(100), 50.0), (day(100), 70.0), (day(200), 130.0)]
    ev = evaluate(LONG, ms, day(250))
    assert ev.forecast == pytest.approx(262.5)
    assert ev.forecast_status == "will_miss"


def test_forecast_cumulative_uses_running_totals():
    spec = spec_with(LONG, cumulative=True)
    # Running totals: (0, 0), (100, 10), (200, 20): slope 0.1, forecast 40.
    ev = evaluate(spec, [(day(200), 10.0), (day(100), 10.0)], day(250))
    assert ev.actual == 20.0
    assert ev.forecast == pytest.approx(40.0)
    assert ev.forecast_status == "will_miss"


def test_forecast_cumulative_duplicate_dates_share_the_total():
    spec = spec_with(LONG, cumulative=True)
    # Day 100 given twice (5 then 7): 7 is its amount, so the totals are 7 and 17.
    # Points (0, 0), (100, 7), (100, 7), (200, 17): x̄ = 100, ȳ = 7.75, Sxx = 20000,
    # Sxy = (-100)(-7.75) + 100 * 9.25 = 1700, slope 0.085, forecast 7.75 + 0.085 * 300 = 33.25.
    ms = [(day(100), 5.0), (day(200), 10.0), (day(100), 7.0)]
    ev = evaluate(spec, ms, day(250))
    assert ev.actual == 17.0
    assert ev.forecast == pytest.approx(33.25)


def test_cumulative_amount_of_a_shared_date_is_the_one_given_last():
    # A later entry for the same period replaces the earlier one: it is not a second amount.
    ms = [(day(30), 10.0), (day(60), 5.0), (day(30), 12.0)]
    assert evaluate(CUMULATIVE, ms, day(100)).actual == 27.0  # 10 + 12 + 5
    assert evaluate(CUMULATIVE, list(reversed(ms)), day(100)).actual == 25.0  # 10 + 10 + 5


def test_forecast_cumulative_with_amount_on_baseline_date():
    spec = spec_with(LONG, cumulative=True, baseline_value=5.0)
    # Baseline-date amount is not added: points (0, 5), (0, 5), (100, 35).
    # x̄ = 100/3, ȳ = 15, Sxx = 2 * (100/3)^2 + (200/3)^2 = 20000/3,
    # Sxy = 2 * (-100/3)(-10) + (200/3)(20) = 2000/3 + 4000/3 = 2000, slope 0.3,
    # forecast = 15 + 0.3 * (400 - 100/3) = 125.
    ms = [(START, 100.0), (day(100), 30.0)]
    ev = evaluate(spec, ms, day(250))
    assert ev.actual == 35.0
    assert ev.forecast == pytest.approx(125.0)


def test_forecast_level_with_measurement_on_baseline_date():
    # Points (0, 0) for the baseline, (0, 10) and (100, 40), fitted with the textbook formula.
    xs, ys = [0, 0, 100], [0.0, 10.0, 40.0]
    n = 3
    x_mean, y_mean = sum(xs) / n, sum(ys) / n
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - x_mean) ** 2 for x in xs
    )
    expected = y_mean + slope * (400 - x_mean)
    ev = evaluate(LONG, [(START, 10.0), (day(100), 40.0)], day(250))
    assert slope == pytest.approx(0.35)
    assert ev.forecast == pytest.approx(expected)


def test_forecast_degenerate_when_all_dates_equal_the_baseline():
    ev = evaluate(LONG, [(START, 1.0), (START, 2.0)], day(250))
    assert ev.actual == 2.0
    assert (ev.forecast, ev.forecast_status) == (None, None)


def test_forecast_decrease():
    spec = IndicatorSpec("decrease", 50.0, START, ((day(400), 10.0),), tolerance=0.25)
    # Slope -0.075 from 50: forecast at 400 = 20 = 10 + 0.25 * 40 exactly -> will_meet.
    meet = forecast(spec, [(day(100), 42.5), (day(200), 35.0)])
    assert meet == (pytest.approx(20.0), "will_meet")
    miss = forecast(spec, [(day(100), 43.0), (day(200), 36.0)])
    assert miss == (pytest.approx(22.0), "will_miss")


def test_forecast_maintain():
    spec = IndicatorSpec("maintain", 100.0, START, ((day(400), 100.0),), tolerance=0.1)
    # Slope 0.025: forecast 110 = 100 + 0.1 * 100 -> will_meet (boundary).
    meet = forecast(spec, [(day(100), 102.5), (day(200), 105.0)])
    assert meet == (pytest.approx(110.0), "will_meet")
    _, status = forecast(spec, [(day(100), 103.0), (day(200), 106.0)])
    assert status == "will_miss"  # forecast 112


def test_forecast_maintain_final_zero_uses_scale_one():
    spec = IndicatorSpec("maintain", 0.0, START, ((day(400), 0.0),), tolerance=0.25)
    # Slope 0.0005: forecast 0.2 <= 0.25 * 1.
    meet = forecast(spec, [(day(100), 0.05), (day(200), 0.1)])
    assert meet == (pytest.approx(0.2), "will_meet")
    _, status = forecast(spec, [(day(100), -0.1), (day(200), -0.2)])
    assert status == "will_miss"  # forecast -0.4


def test_forecast_uses_the_final_target_date_with_several_targets():
    ms = [(date(2025, 12, 31), 120.0), (date(2026, 12, 31), 140.0)]
    ev = evaluate(EXAMPLE, ms, date(2027, 1, 5))
    # Points (0, 100), (365, 120), (730, 140) lie on y = 100 + 20 x / 365; the final target
    # (2030-12-31) is 2191 days out (2028 is a leap year), not the intermediate 2027 one.
    assert ev.forecast == pytest.approx(100 + 20 * 2191 / 365)  # 220.05
    assert ev.forecast_status == "will_meet"


# --------------------------------------------------------------------------------------------
# Roll-ups and commitment health


def make_ev(
    performance: str,
    freshness: str = "up_to_date",
    progress: float | None = None,
    forecast_status: str | None = None,
) -> Evaluation:
    return Evaluation(
        actual=None,
        measured_on=None,
        expected=None,
        progress=progress,
        performance=performance,
        freshness=freshness,
        next_due=None,
        overdue_since=None,
        forecast=None,
        forecast_status=forecast_status,
    )


def test_rollup_empty():
    result = rollup([])
    assert result.count == 0
    assert result.by_performance == dict.fromkeys(PERFORMANCES, 0)
    assert result.by_freshness == dict.fromkeys(FRESHNESSES, 0)
    assert result.mean_progress is None
    assert result.forecast_miss == 0


def test_rollup_counts_and_clamped_mean():
    evs = [
        make_ev("on_track", "up_to_date", 1.5, "will_meet"),
        make_ev("off_track", "overdue", -0.2, "will_miss"),
        make_ev("at_risk", "due_soon", 0.5, "will_miss"),
        make_ev("no_data", "overdue", None, None),
        make_ev("on_track", "up_to_date", None, None),
    ]
    result = rollup(iter(evs))
    assert result.count == 5
    assert result.by_performance == {
        "achieved": 0,
        "on_track": 2,
        "at_risk": 1,
        "off_track": 1,
        "too_early": 0,
        "no_data": 1,
        "no_target": 0,
    }
    assert result.by_freshness == {"up_to_date": 2, "due_soon": 1, "overdue": 2}
    assert result.mean_progress == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert result.forecast_miss == 2


def test_rollup_of_real_evaluations():
    evs = [
        evaluate(EXAMPLE, [(date(2026, 6, 30), 125.0)], date(2026, 9, 15)),
        evaluate(EXAMPLE, [], date(2026, 9, 15)),
    ]
    result = rollup(evs)
    assert result.by_performance["at_risk"] == 1
    assert result.by_performance["no_data"] == 1
    assert result.by_freshness == {"up_to_date": 1, "due_soon": 0, "overdue": 1}
    assert result.mean_progress == pytest.approx(25 / 120)


def test_rollup_by_groups():
    pairs = [
        ("Quartier A", make_ev("on_track", progress=0.2)),
        ("Quartier B", make_ev("off_track", "overdue", progress=0.6)),
        ("Quartier A", make_ev("achieved", progress=1.0)),
    ]
    groups = rollup_by(pairs)
    assert set(groups) == {"Quartier A", "Quartier B"}
    assert groups["Quartier A"].count == 2
    assert groups["Quartier A"].mean_progress == pytest.approx(0.6)
    assert groups["Quartier B"].by_freshness["overdue"] == 1


@pytest.mark.parametrize(
    ("performances", "expected"),
    [
        (["achieved", "on_track", "at_risk", "off_track"], "off_track"),
        (["achieved", "on_track", "at_risk", "no_data"], "at_risk"),
        (["achieved", "on_track", "too_early"], "on_track"),
        (["achieved", "no_data", "no_target"], "achieved"),
        (["no_target", "no_data", "too_early"], "too_early"),
        (["no_target", "no_data"], "no_data"),
        (["no_target"], "no_target"),
        ([], None),
    ],
)
def test_commitment_health_worst_performance(performances, expected):
    health = commitment_health(make_ev(p) for p in performances)
    assert health == Health(performance=expected, late=False)


def test_commitment_health_late_if_any_overdue():
    evs = [make_ev("on_track"), make_ev("achieved", "overdue"), make_ev("on_track", "due_soon")]
    assert commitment_health(evs) == Health(performance="on_track", late=True)
    assert commitment_health(evs[::2]).late is False


# --------------------------------------------------------------------------------------------
# Margin (the indicator's precision) and forecast=False (values not comparable)


def test_within_the_margin_is_on_track_and_the_same_gap_without_is_at_risk():
    # The worked example: expected 129.918 on 2026-06-30, actual 125, gap 4.918.
    reading = [(date(2026, 6, 30), 125.0)]
    assert evaluate(EXAMPLE, reading, date(2026, 9, 15)).performance == "at_risk"
    assert evaluate(spec_with(margin=5.0), reading, date(2026, 9, 15)).performance == "on_track"
    # A margin just below the gap changes nothing: r = 25 / 29.918 = 0.836 → at_risk.
    assert evaluate(spec_with(margin=4.9), reading, date(2026, 9, 15)).performance == "at_risk"


def test_within_the_margin_is_on_track_and_the_same_gap_without_is_off_track():
    # Actual 123: r = 23 / 29.918 = 0.769 < 0.8 → off_track; the gap is 6.918.
    reading = [(date(2026, 6, 30), 123.0)]
    expected = 100 + 60 * 546 / 1095
    assert evaluate(EXAMPLE, reading, date(2026, 9, 15)).performance == "off_track"
    ev = evaluate(spec_with(margin=7.0), reading, date(2026, 9, 15))
    assert ev.expected == pytest.approx(expected)
    assert ev.performance == "on_track"
    assert ev.progress == pytest.approx(23 / 120)  # the margin never changes the progress


def test_margin_boundary_is_inclusive():
    # LINEAR: expected 40 on day 40. A gap of exactly 4 with margin 4 is on track.
    spec = spec_with(LINEAR, tolerance=0.01)
    assert evaluate(spec, [(day(40), 36.0)], day(50)).performance == "off_track"
    assert evaluate(spec_with(spec, margin=4.0), [(day(40), 36.0)], day(50)).performance == (
        "on_track"
    )
    assert evaluate(spec_with(spec, margin=3.99), [(day(40), 36.0)], day(50)).performance == (
        "off_track"
    )


def test_margin_does_not_turn_too_early_or_achieved():
    # On the baseline date Δe = 0: still too early whatever the margin.
    spec = spec_with(LINEAR, margin=1000.0)
    assert evaluate(spec, [(START, 0.0)], day(5)).performance == "too_early"
    # Reaching the final target is "achieved", not moved by the margin either.
    assert evaluate(spec, [(day(40), 100.0)], day(50)).performance == "achieved"
    # A final target missed by less than the margin is on track, not achieved.
    assert evaluate(spec, [(day(40), 99.0)], day(50)).performance == "on_track"


def test_decrease_within_the_margin():
    # 300 → 200 over 100 days: expected 260 on day 40; actual 275, r = 25 / 40 = 0.625.
    spec = IndicatorSpec("decrease", 300.0, START, ((day(100), 200.0),), tolerance=0.1)
    assert evaluate(spec, [(day(40), 275.0)], day(50)).performance == "off_track"
    assert evaluate(spec_with(spec, margin=15.0), [(day(40), 275.0)], day(50)).performance == (
        "on_track"
    )


@pytest.mark.parametrize(
    ("actual", "margin", "performance"),
    [
        # expected 50, tol·s = 5, 2·tol·s = 10
        (56.0, 0.0, "at_risk"),
        (56.0, 1.0, "on_track"),  # d = 6 ≤ 5 + 1
        (61.0, 0.0, "off_track"),
        (61.0, 1.0, "at_risk"),  # d = 11 ≤ 10 + 1
        (61.5, 1.0, "off_track"),
        (44.0, 1.0, "on_track"),
    ],
)
def test_maintain_thresholds_widened_by_the_margin(actual, margin, performance):
    spec = IndicatorSpec("maintain", 50.0, START, ((day(100), 50.0),), tolerance=0.1, margin=margin)
    assert evaluate(spec, [(day(40), actual)], day(50)).performance == performance


def test_forecast_threshold_widened_by_the_margin():
    # LONG: forecast 296 against the threshold 400 − 0.25·400 = 300 → will_miss; with a
    # margin of 4 the threshold is 296 → will_meet.
    ms = [(day(100), 74.0), (day(200), 148.0)]
    assert evaluate(LONG, ms, day(250)).forecast_status == "will_miss"
    ev = evaluate(spec_with(LONG, margin=4.0), ms, day(250))
    assert ev.forecast == pytest.approx(296.0)
    assert ev.forecast_status == "will_meet"
    assert evaluate(spec_with(LONG, margin=3.9), ms, day(250)).forecast_status == "will_miss"


def test_forecast_threshold_widened_by_the_margin_for_decrease_and_maintain():
    # Decrease 400 → 0 by day 400, tol 0.25: will_meet when forecast ≤ 100 + margin.
    spec = IndicatorSpec("decrease", 400.0, START, ((day(400), 0.0),), tolerance=0.25)
    ms = [(day(100), 374.0), (day(200), 348.0)]  # slope −0.26 → forecast 296
    assert evaluate(spec, ms, day(250)).forecast == pytest.approx(296.0)
    assert evaluate(spec, ms, day(250)).forecast_status == "will_miss"
    assert evaluate(spec_with(spec, margin=196.0), ms, day(250)).forecast_status == "will_meet"
    # Maintain at 100, tol 0.1: will_meet when |forecast − 100| ≤ 10 + margin.
    spec = IndicatorSpec("maintain", 100.0, START, ((day(400), 100.0),), tolerance=0.1)
    ms = [(day(100), 103.0), (day(200), 106.0)]  # slope 0.03 → forecast 112
    assert evaluate(spec, ms, day(250)).forecast == pytest.approx(112.0)
    assert evaluate(spec, ms, day(250)).forecast_status == "will_miss"
    assert evaluate(spec_with(spec, margin=2.0), ms, day(250)).forecast_status == "will_meet"


def test_no_forecast_when_values_are_not_comparable():
    ms = [(day(100), 74.0), (day(200), 148.0)]
    ev = evaluate(spec_with(LONG, forecast=False), ms, day(250))
    assert (ev.forecast, ev.forecast_status) == (None, None)
    # Everything else is judged as before.
    with_forecast = evaluate(LONG, ms, day(250))
    assert dataclasses.replace(with_forecast, forecast=None, forecast_status=None) == ev
    assert rollup([ev]).forecast_miss == 0
    assert rollup([with_forecast]).forecast_miss == 1


def test_the_value_at_a_shared_date_is_the_one_given_last():
    # Level: 64.9 then 65.8 on the same day → 65.8 is the value (and in the forecast points).
    spec = IndicatorSpec("increase", 60.0, START, ((day(400), 70.0),), margin=0.5)
    ms = [(day(200), 64.9), (day(200), 65.8)]
    assert evaluate(spec, ms, day(250)).actual == 65.8
    assert evaluate(spec, list(reversed(ms)), day(250)).actual == 64.9
