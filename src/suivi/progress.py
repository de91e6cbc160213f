"""Pure progress engine: judges an indicator against its trajectory.

Everything here is plain computation on dates and floats (stdlib only, no database, no I/O) so
that the web pages, the PDF reports, the alert e-mails and the nightly batch job all agree on
what "on track" or "overdue" means.

Vocabulary:

* the *trajectory* is the piecewise-linear line from the baseline to each target;
* *performance* says whether the latest value is where the trajectory expected it to be;
* *freshness* says whether the indicator was updated for the reporting periods already due;
* the *forecast* extrapolates all the measurements to the final target date (early warning),
  unless the spec says successive values are not comparable (``forecast=False``);
* the *margin* is the indicator's precision: a gap to the trajectory within it is no gap.

Example::

    spec = IndicatorSpec(direction="increase", baseline_value=100.0,
                         baseline_date=date(2024, 12, 31),
                         targets=((date(2027, 12, 31), 160.0), (date(2030, 12, 31), 220.0)))
    ev = evaluate(spec, measurements=[(date(2026, 6, 30), 125.0)], as_of=date(2026, 9, 15))
    ev.performance, ev.freshness  # ('at_risk', 'up_to_date')

All statuses are plain ``str`` values taken from the constants below.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from collections.abc import Hashable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from enum import StrEnum
from math import fsum
from math import isfinite
from typing import TypeVar

__all__ = [
    "DIRECTIONS",
    "EPSILON",
    "FORECAST_STATUSES",
    "FREQUENCIES",
    "FRESHNESSES",
    "HEALTH_ORDER",
    "PERFORMANCES",
    "Direction",
    "Evaluation",
    "ForecastStatus",
    "Frequency",
    "Freshness",
    "Health",
    "IndicatorSpec",
    "LeastSquares",
    "MeasurementSummary",
    "Performance",
    "Rollup",
    "commitment_health",
    "current_due_period",
    "evaluate",
    "evaluate_summary",
    "overdue_from",
    "period_bounds",
    "rollup",
    "rollup_by",
    "summarize",
    "trajectory_value",
    "validate_spec",
]


class Direction(StrEnum):
    """The way an indicator should go. Stored as its value."""

    INCREASE = "increase"
    DECREASE = "decrease"
    MAINTAIN = "maintain"


DIRECTIONS = tuple(Direction)  # the stored codes, in order


class Frequency(StrEnum):
    """How often an indicator is measured. Stored as its value."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


FREQUENCIES = tuple(Frequency)  # the stored codes, in order


class Performance(StrEnum):
    """How an indicator performs against its trajectory. Stored as its value."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    TOO_EARLY = "too_early"
    NO_DATA = "no_data"
    NO_TARGET = "no_target"


PERFORMANCES = tuple(Performance)  # the stored codes, in order


class Freshness(StrEnum):
    """Whether an indicator is up to date. Stored as its value."""

    UP_TO_DATE = "up_to_date"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


FRESHNESSES = tuple(Freshness)  # the stored codes, in order


class ForecastStatus(StrEnum):
    """Whether the forecast meets the final target. Stored as its value."""

    WILL_MEET = "will_meet"
    WILL_MISS = "will_miss"


FORECAST_STATUSES = tuple(ForecastStatus)  # the stored codes, in order


# Absolute slack applied to every comparison so that values computed through different
# (but mathematically equal) float paths land on the same side of a threshold.
EPSILON = 1e-9

# Worst first: the health of a commitment is the first of these found among its indicators.
# When no indicator can be judged we report the most informative state: "too_early" (there is
# data and a target), then "no_data" (there is a target), then "no_target".
HEALTH_ORDER = (
    "off_track",
    "at_risk",
    "on_track",
    "achieved",
    "too_early",
    "no_data",
    "no_target",
)

# A reporting period is a block of whole calendar months starting in January.
_MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """What an indicator promises: where it starts, where it must go, how often it reports."""

    direction: str
    baseline_value: float
    baseline_date: date
    # (date, value) pairs in strictly increasing date order, all after the baseline date.
    targets: tuple[tuple[date, float], ...] = ()
    # True when each measurement is an amount for its period (added up), False for a level.
    cumulative: bool = False
    frequency: str = "quarterly"
    tolerance: float = 0.10
    # Days allowed after a period ends before its measurement is late.
    grace_days: int = 30
    # How many days before a due date the indicator is flagged "due_soon".
    due_soon_days: int = 14
    # The indicator's precision in its own unit: a gap to the trajectory no larger than the
    # margin is no gap (it also widens the `maintain` and forecast thresholds).
    margin: float = 0.0
    # False for indicators whose successive values are not comparable (INSEE-type
    # statistics, small counts): no forecast and no forecast status at all.
    forecast: bool = True


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The verdict on one indicator at a given date (``as_of``)."""

    actual: float | None
    measured_on: date | None
    expected: float | None
    progress: float | None
    performance: str
    freshness: str
    next_due: date | None
    overdue_since: date | None
    forecast: float | None
    forecast_status: str | None


@dataclass(frozen=True, slots=True)
class Rollup:
    """Summary of many evaluations (one priority, quartier, partner or contract)."""

    count: int
    by_performance: dict[str, int]
    by_freshness: dict[str, int]
    # Mean of progress clamped to [0, 1], over the indicators that have a progress.
    mean_progress: float | None
    forecast_miss: int


@dataclass(frozen=True, slots=True)
class Health:
    """Health of a commitment, derived from the evaluations of its indicators."""

    performance: str | None
    late: bool


@dataclass(frozen=True, slots=True)
class LeastSquares:
    """The least-squares line through the forecast points, as centred sums.

    The points are (0, baseline value) and, for every counted measurement, (x, actual value
    on that date) with x in days since the baseline date.
    """

    n: int
    x_mean: float
    y_mean: float
    sxx: float  # sum of (x - x_mean)²
    sxy: float  # sum of (x - x_mean)(y - y_mean)

    def value_at(self, x: int) -> float | None:
        """The line's value at ``x``; None when every point shares the same x."""
        if self.sxx <= 0:
            return None  # zero variance in x: no line can be fitted
        slope = self.sxy / self.sxx
        return self.y_mean + slope * (x - self.x_mean)

    @classmethod
    def from_sums(
        cls,
        *,
        count: int,
        sum_x: int,
        sum_xx: int,
        sum_dy: float,
        sum_xdy: float,
        baseline_value: float,
    ) -> LeastSquares:
        """From plain sums over the ``count`` counted measurements (as SQL computes them) of
        x, x², dy = y − baseline value and x·dy; the baseline point (0, 0) is added here.

        x is an integer, so its sums are exact and so is ``sxx`` up to one rounding; y is
        shifted by the baseline value to keep the cancellation in ``sxy`` small.
        """
        n = int(count) + 1
        sum_x, sum_xx = int(sum_x), int(sum_xx)
        sum_dy, sum_xdy = float(sum_dy), float(sum_xdy)
        return cls(
            n=n,
            x_mean=sum_x / n,
            y_mean=baseline_value + sum_dy / n,
            sxx=(n * sum_xx - sum_x * sum_x) / n,
            sxy=sum_xdy - sum_x * sum_dy / n,
        )


@dataclass(frozen=True, slots=True)
class MeasurementSummary:
    """Everything the rules need from an indicator's counted measurements (dated from the
    baseline date to ``as_of``): :func:`evaluate` builds it from a list, the batch check
    from one SQL query, and :func:`evaluate_summary` judges it.

    ``latest_value`` is the value of the last measurement of the latest date; ``total`` is
    the baseline value plus the value at every counted date after the baseline date (the
    last measurement of each date: the actual value of a cumulative indicator); ``fit`` the
    forecast line's sums. A field the spec cannot use may be None (``total`` of a level
    indicator, ``fit`` without targets, with fewer than two measurements or with
    ``forecast=False``).
    """

    count: int
    latest_on: date | None
    latest_value: float | None
    total: float | None
    fit: LeastSquares | None


# --------------------------------------------------------------------------------------------
# Validation


def validate_spec(spec: IndicatorSpec) -> None:
    """Raise ``ValueError`` with a readable message if ``spec`` is inconsistent."""
    if spec.direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {spec.direction!r}; expected one of {DIRECTIONS}")
    if spec.frequency not in _MONTHS_PER_PERIOD:
        raise ValueError(f"unknown frequency {spec.frequency!r}; expected one of {FREQUENCIES}")
    if not 0 < spec.tolerance < 1:
        raise ValueError(f"tolerance must be strictly between 0 and 1, got {spec.tolerance!r}")
    if spec.grace_days < 0:
        raise ValueError(f"grace_days must not be negative, got {spec.grace_days!r}")
    if spec.due_soon_days < 0:
        raise ValueError(f"due_soon_days must not be negative, got {spec.due_soon_days!r}")
    if not (isfinite(spec.margin) and spec.margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {spec.margin!r}")
    if not isfinite(spec.baseline_value):
        raise ValueError(f"baseline value must be a finite number, got {spec.baseline_value!r}")

    previous = spec.baseline_date
    for day, value in spec.targets:
        if day <= spec.baseline_date:
            raise ValueError(
                f"target dated {day} is on or before the baseline date {spec.baseline_date}"
            )
        if day == previous:
            raise ValueError(f"duplicate target date {day}")
        if day < previous:
            raise ValueError(f"targets are out of date order: {day} comes after {previous}")
        if not isfinite(value):
            raise ValueError(f"target value for {day} must be a finite number, got {value!r}")
        previous = day

    if spec.targets:
        final = spec.targets[-1][1]
        if spec.direction == "increase" and not final > spec.baseline_value:
            raise ValueError(
                f"final target {final!r} must be above the baseline value "
                f"{spec.baseline_value!r} for an 'increase' indicator"
            )
        if spec.direction == "decrease" and not final < spec.baseline_value:
            raise ValueError(
                f"final target {final!r} must be below the baseline value "
                f"{spec.baseline_value!r} for a 'decrease' indicator"
            )


# --------------------------------------------------------------------------------------------
# Trajectory


def trajectory_value(spec: IndicatorSpec, on: date) -> float:
    """Value of the trajectory on a given day (flat before the baseline and after the last
    target, linear by days in between; flat at the baseline value when there is no target)."""
    previous_day = spec.baseline_date
    previous_value = spec.baseline_value
    if on <= previous_day:
        return float(previous_value)
    for day, value in spec.targets:
        if on == day:
            # Exactly the target (no interpolation rounding on the target date itself).
            return float(value)
        if on < day:
            elapsed = (on - previous_day).days
            span = (day - previous_day).days
            return previous_value + (value - previous_value) * elapsed / span
        previous_day, previous_value = day, value
    return float(previous_value)


# --------------------------------------------------------------------------------------------
# Reporting periods
#
# Periods are numbered arithmetically: period ``i`` of a frequency spanning ``k`` months covers
# the months ``i*k`` .. ``i*k + k - 1`` counted from January of year 0. This lets us jump
# straight to the right period for any date instead of looping.


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _period_index(day: date, months: int) -> int:
    return (day.year * 12 + day.month - 1) // months


def _period_first(index: int, months: int) -> date:
    year, month0 = divmod(index * months, 12)
    return date(year, month0 + 1, 1)


def _period_last(index: int, months: int) -> date:
    year, month0 = divmod(index * months + months - 1, 12)
    return date(year, month0 + 1, _days_in_month(year, month0 + 1))


def period_bounds(frequency: str, day: date) -> tuple[date, date]:
    """First and last day of the reporting period of ``frequency`` that contains ``day``."""
    months = _MONTHS_PER_PERIOD.get(frequency)
    if months is None:
        raise ValueError(f"unknown frequency {frequency!r}; expected one of {FREQUENCIES}")
    index = _period_index(day, months)
    return _period_first(index, months), _period_last(index, months)


@dataclass(frozen=True, slots=True)
class _Schedule:
    """The due periods of a spec seen from ``as_of``, independent of the measurements.

    ``p_*`` describe P (the latest due period whose due date is on or before ``as_of``), set
    only when P exists; ``c_*`` describe C (the earliest due period due after ``as_of``), set
    only when C exists; ``c_soon`` says whether C's due date is within ``due_soon_days``.
    """

    months: int
    p_index: int | None
    p_first: date | None
    overdue_since: date | None
    c_index: int | None
    c_first: date | None
    next_due: date | None
    c_soon: bool


@functools.lru_cache(maxsize=4096)
def _schedule(
    baseline_date: date,
    frequency: str,
    grace: int,
    due_soon_days: int,
    final_target_date: date | None,
    as_of: date,
) -> _Schedule:
    # Cached: a portfolio shares a few baselines, frequencies and target dates, so a batch
    # check computes each schedule once instead of once per indicator.
    months = _MONTHS_PER_PERIOD[frequency]

    # Due periods start strictly after the baseline date (so the first one follows the period
    # holding the baseline) and, with targets, on or before the final target date.
    first_due = _period_index(baseline_date, months) + 1
    last_due = None if final_target_date is None else _period_index(final_target_date, months)

    # A period is past due when its last day + grace <= as_of, i.e. its last day <= cutoff.
    cutoff_ordinal = as_of.toordinal() - grace
    if cutoff_ordinal < 1:
        latest_past_due = -1  # before year 1: no period can be past due
    else:
        cutoff = date.fromordinal(cutoff_ordinal)
        latest_past_due = _period_index(cutoff, months)
        if cutoff != _period_last(latest_past_due, months):
            latest_past_due -= 1

    # P: the latest due period whose due date is on or before as_of.
    p = latest_past_due if last_due is None else min(latest_past_due, last_due)
    p_index = p_first = overdue_since = None
    if p >= first_due:
        p_index, p_first = p, _period_first(p, months)
        overdue_since = _period_last(p, months) + timedelta(days=grace)

    # C: the earliest due period whose due date is after as_of.
    c = max(latest_past_due + 1, first_due)
    if last_due is not None and c > last_due:
        return _Schedule(months, p_index, p_first, overdue_since, None, None, None, False)
    next_due = _period_last(c, months) + timedelta(days=grace)
    c_soon = (next_due - as_of).days <= due_soon_days
    return _Schedule(
        months, p_index, p_first, overdue_since, c, _period_first(c, months), next_due, c_soon
    )


def _freshness(
    spec: IndicatorSpec, as_of: date, latest: date | None
) -> tuple[str, date | None, date | None, int | None, int]:
    """Freshness of an indicator whose latest counted measurement is dated ``latest``.

    Returns ``(freshness, next_due, overdue_since, period_index, months)`` where
    ``period_index`` is the period the user should fill now (P if overdue, else C).
    """
    final_target_date = spec.targets[-1][0] if spec.targets else None
    plan = _schedule(
        spec.baseline_date,
        spec.frequency,
        spec.grace_days,
        spec.due_soon_days,
        final_target_date,
        as_of,
    )
    if plan.p_first is not None and (latest is None or latest < plan.p_first):
        return "overdue", None, plan.overdue_since, plan.p_index, plan.months
    if plan.c_index is None:
        return "up_to_date", None, None, None, plan.months
    if plan.c_soon and (latest is None or (plan.c_first is not None and latest < plan.c_first)):
        return "due_soon", plan.next_due, None, plan.c_index, plan.months
    return "up_to_date", plan.next_due, None, plan.c_index, plan.months


def overdue_from(spec: IndicatorSpec, latest: date | None) -> date | None:
    """The first day on which an indicator whose latest counted measurement is dated
    ``latest`` (None: no measurement) is overdue; None if it never is, every due period
    starting on or before ``latest``.

    Overdue means the latest past-due period P starts after ``latest``; P only moves
    forward with the date, so this is the due date of the first due period that starts
    after ``latest``. The daily check uses it to know until when a verdict holds.
    """
    final_target_date = spec.targets[-1][0] if spec.targets else None
    return _overdue_from(
        spec.baseline_date, spec.frequency, spec.grace_days, final_target_date, latest
    )


@functools.lru_cache(maxsize=4096)
def _overdue_from(
    baseline_date: date,
    frequency: str,
    grace: int,
    final_target_date: date | None,
    latest: date | None,
) -> date | None:
    # Cached like `_schedule`: a portfolio shares a few baselines, frequencies and dates.
    months = _MONTHS_PER_PERIOD[frequency]
    first = _period_index(baseline_date, months) + 1
    if latest is not None:
        first = max(first, _period_index(latest, months) + 1)
    if final_target_date is not None and first > _period_index(final_target_date, months):
        return None
    return _period_last(first, months) + timedelta(days=grace)


def current_due_period(
    spec: IndicatorSpec,
    as_of: date,
    measurements: Iterable[tuple[date, float]] = (),
) -> tuple[date, date] | None:
    """The period the user should fill now: the overdue period if the indicator is overdue,
    otherwise the next period to become due (None once all due periods are behind us).

    Whether the indicator is overdue depends on its measurements, hence the optional
    ``measurements`` argument (same meaning as in :func:`evaluate`; none means "no data").
    """
    validate_spec(spec)
    base_day = spec.baseline_date
    latest = max((day for day, _ in measurements if base_day <= day <= as_of), default=None)
    _, _, _, index, months = _freshness(spec, as_of, latest)
    if index is None:
        return None
    return _period_first(index, months), _period_last(index, months)


# --------------------------------------------------------------------------------------------
# Performance and forecast


def _performance(spec: IndicatorSpec, actual: float | None, expected: float | None) -> str:
    if not spec.targets:
        return "no_target"
    if actual is None or expected is None:
        return "no_data"
    tol = spec.tolerance
    margin = spec.margin
    direction = spec.direction
    gap = abs(actual - expected)

    if direction == "maintain":
        scale = abs(expected)
        if scale <= EPSILON:
            scale = 1.0
        if gap <= tol * scale + margin + EPSILON:
            return "on_track"
        if gap <= 2 * tol * scale + margin + EPSILON:
            return "at_risk"
        return "off_track"

    final = spec.targets[-1][1]
    if (direction == "increase" and actual >= final - EPSILON) or (
        direction == "decrease" and actual <= final + EPSILON
    ):
        return "achieved"
    base = spec.baseline_value
    expected_change = expected - base
    if abs(expected_change) <= EPSILON:
        return "too_early"
    if gap <= margin + EPSILON:
        return "on_track"  # within the indicator's precision: no gap
    ratio = (actual - base) / expected_change
    if ratio >= 1 - tol - EPSILON:
        return "on_track"
    if ratio >= 1 - 2 * tol - EPSILON:
        return "at_risk"
    return "off_track"


def _fit(spec: IndicatorSpec, counted: list[tuple[date, float]]) -> LeastSquares:
    """Least-squares sums through the baseline and the actual value at each measurement
    date (the line is read at the final target date by :meth:`LeastSquares.value_at`)."""
    base_day = spec.baseline_date
    base = spec.baseline_value
    xs = [0]
    ys = [float(base)]
    if spec.cumulative:
        # Running total per date, the amount of a date being the last measurement given for
        # it; every measurement of a date gets that date's total.
        amount_on = dict(counted)
        amounts = [base]
        total_on = {}
        for day in sorted(amount_on):
            if day > base_day:
                amounts.append(amount_on[day])
            total_on[day] = fsum(amounts)
        for day, _ in counted:
            xs.append((day - base_day).days)
            ys.append(total_on[day])
    else:
        # The actual value on a date is the last measurement of that date (iterable order).
        value_on = dict(counted)
        for day, _ in counted:
            xs.append((day - base_day).days)
            ys.append(value_on[day])

    n = len(xs)
    # Centred sums with fsum: accurate and independent of the order of the points.
    x_mean = sum(xs) / n
    y_mean = fsum(ys) / n
    sxx = fsum((x - x_mean) * (x - x_mean) for x in xs)
    sxy = fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    return LeastSquares(n=n, x_mean=x_mean, y_mean=y_mean, sxx=sxx, sxy=sxy)


def _forecast_status(spec: IndicatorSpec, forecast: float) -> str:
    final = spec.targets[-1][1]
    tol = spec.tolerance
    if spec.direction == "maintain":
        scale = abs(final)
        if scale <= EPSILON:
            scale = 1.0
        meets = abs(forecast - final) <= tol * scale + spec.margin + EPSILON
    else:
        slack = tol * abs(final - spec.baseline_value) + spec.margin
        if spec.direction == "increase":
            meets = forecast >= final - slack - EPSILON
        else:
            meets = forecast <= final + slack + EPSILON
    return "will_meet" if meets else "will_miss"


# --------------------------------------------------------------------------------------------
# Evaluation


def summarize(
    spec: IndicatorSpec, measurements: Iterable[tuple[date, float]], as_of: date
) -> MeasurementSummary:
    """Summary of the measurements that count at ``as_of`` (see :func:`evaluate`)."""
    base_day = spec.baseline_date
    return _summarize(
        spec, [(day, value) for day, value in measurements if base_day <= day <= as_of]
    )


def _summarize(spec: IndicatorSpec, counted: list[tuple[date, float]]) -> MeasurementSummary:
    if not counted:
        return MeasurementSummary(count=0, latest_on=None, latest_value=None, total=None, fit=None)
    base_day = spec.baseline_date
    latest_on = counted[0][0]
    latest_value = counted[0][1]
    for day, value in counted:
        # ">=" so that, on a tie, the last measurement in iteration order wins.
        if day >= latest_on:
            latest_on, latest_value = day, value
    total: float | None = None
    if spec.cumulative:
        # The amount of a date is the last measurement given for it (a later entry for the
        # same date replaces the earlier one). fsum: exact, so independent of the order.
        amount_on = dict(counted)
        total = fsum(
            itertools.chain(
                (spec.baseline_value,), (v for d, v in amount_on.items() if d > base_day)
            )
        )
    fit = _fit(spec, counted) if spec.forecast and spec.targets and len(counted) >= 2 else None
    return MeasurementSummary(
        count=len(counted),
        latest_on=latest_on,
        latest_value=float(latest_value),
        total=total,
        fit=fit,
    )


def evaluate(
    spec: IndicatorSpec, measurements: Iterable[tuple[date, float]], as_of: date
) -> Evaluation:
    """Evaluate an indicator at date ``as_of`` from ``(date, value)`` measurements in any order.

    Only measurements dated from ``baseline_date`` to ``as_of`` (both included) count.
    When several measurements share a date, the last one in iteration order is the value at
    that date (the caller controls which is "newest", e.g. by ordering on the recording
    timestamp). For a level indicator the actual value is the value at the latest date; for a
    cumulative indicator it is the baseline plus the value at every counted date strictly
    after the baseline date.
    """
    validate_spec(spec)
    return _judge(spec, summarize(spec, measurements, as_of), as_of)


def evaluate_summary(spec: IndicatorSpec, summary: MeasurementSummary, as_of: date) -> Evaluation:
    """Evaluate an indicator from the summary of its counted measurements at ``as_of`` (the
    same verdict as :func:`evaluate` on the measurements themselves)."""
    validate_spec(spec)
    return _judge(spec, summary, as_of)


def _judge(spec: IndicatorSpec, summary: MeasurementSummary, as_of: date) -> Evaluation:
    """The rules of DESIGN.md, applied to a summary (one place for :func:`evaluate` and the
    batch check)."""
    base = spec.baseline_value
    targets = spec.targets

    actual: float | None = None
    measured_on: date | None = None
    expected: float | None = None
    if summary.count and summary.latest_on is not None:
        measured_on = summary.latest_on
        actual = summary.total if spec.cumulative else summary.latest_value
        expected = trajectory_value(spec, measured_on)

    performance = _performance(spec, actual, expected)

    progress: float | None = None
    if actual is not None and targets and spec.direction != "maintain":
        progress = (actual - base) / (targets[-1][1] - base)

    freshness, next_due, overdue_since, _, _ = _freshness(spec, as_of, measured_on)

    forecast: float | None = None
    forecast_status: str | None = None
    if spec.forecast and targets and summary.count >= 2 and summary.fit is not None:
        forecast = summary.fit.value_at((targets[-1][0] - spec.baseline_date).days)
        if forecast is not None:
            forecast_status = _forecast_status(spec, forecast)

    return Evaluation(
        actual=actual,
        measured_on=measured_on,
        expected=expected,
        progress=progress,
        performance=performance,
        freshness=freshness,
        next_due=next_due,
        overdue_since=overdue_since,
        forecast=forecast,
        forecast_status=forecast_status,
    )


# --------------------------------------------------------------------------------------------
# Roll-ups


def rollup(evaluations: Iterable[Evaluation]) -> Rollup:
    """Counts by performance and freshness, mean clamped progress and forecast misses."""
    by_performance: dict[str, int] = {str(code): 0 for code in PERFORMANCES}
    by_freshness: dict[str, int] = {str(code): 0 for code in FRESHNESSES}
    progresses: list[float] = []
    count = 0
    forecast_miss = 0
    for ev in evaluations:
        count += 1
        by_performance[ev.performance] += 1
        by_freshness[ev.freshness] += 1
        if ev.progress is not None:
            progresses.append(min(1.0, max(0.0, ev.progress)))
        if ev.forecast_status == "will_miss":
            forecast_miss += 1
    mean_progress = fsum(progresses) / len(progresses) if progresses else None
    return Rollup(
        count=count,
        by_performance=by_performance,
        by_freshness=by_freshness,
        mean_progress=mean_progress,
        forecast_miss=forecast_miss,
    )


GroupKey = TypeVar("GroupKey", bound=Hashable)


def rollup_by(items: Iterable[tuple[GroupKey, Evaluation]]) -> dict[GroupKey, Rollup]:
    """Roll up ``(group_key, evaluation)`` pairs per key (priority, quartier, partner...).

    An indicator that belongs to several groups simply appears once per group.
    """
    groups: dict[GroupKey, list[Evaluation]] = {}
    for key, ev in items:
        groups.setdefault(key, []).append(ev)
    return {key: rollup(evs) for key, evs in groups.items()}


def commitment_health(evaluations: Iterable[Evaluation]) -> Health:
    """Worst performance among a commitment's indicators (see ``HEALTH_ORDER``), and whether
    any of them is overdue. ``performance`` is None when the commitment has no indicator."""
    present: set[str] = set()
    late = False
    for ev in evaluations:
        present.add(ev.performance)
        late = late or ev.freshness == "overdue"
    performance = next((status for status in HEALTH_ORDER if status in present), None)
    return Health(performance=performance, late=late)
