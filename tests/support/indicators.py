"""Indicator helpers: the measurements of an indicator read back from the database, a
correction written straight to the database, the demo portfolio doubled, and a counter of the
SQL statements an engine runs (for "bounded number of queries" tests)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target


def new_indicator(**columns) -> Indicator:
    """An unsaved indicator with its required columns filled (code I-1, an increase from 1.0
    at the end of 2024); `columns` add its contract and commitment and change any column."""
    required = {
        "code": "I-1",
        "name": "x",
        "unit": "u",
        "direction": "increase",
        "baseline_value": 1.0,
        "baseline_date": date(2024, 12, 31),
    }
    return Indicator(**{**required, **columns})


def measurements(db, indicator_id: int) -> list[Measurement]:
    query = select(Measurement).where(Measurement.indicator_id == indicator_id)
    with db.session(write=False) as session:
        return list(session.scalars(query.order_by(Measurement.id)))


def write_correction(session, old: Measurement, value: float, reason: str = "") -> Measurement:
    """A new current value for `old`'s date, `old` superseded (never erased). Written
    superseded by the old row, then swapped: one current value per date at every flush, as
    `suivi.indicators.service` does; unlike it, no check, no audit, and `reason` is put on the
    new row (the service puts it on the old one)."""
    new = Measurement(
        indicator_id=old.indicator_id,
        measured_on=old.measured_on,
        superseded_by_id=old.id,
        value=value,
        correction_reason=reason,
    )
    session.add(new)
    session.flush()
    old.superseded_by_id = new.id
    session.flush()
    new.superseded_by_id = None
    session.flush()
    return new


def double_portfolio(session) -> None:
    """Copy every indicator (code suffixed « -B ») with its targets and current readings."""
    for indicator in session.execute(select(Indicator)).scalars().all():
        copy = Indicator(**indicator.model_dump(exclude={"id", "code"}), code=f"{indicator.code}-B")
        session.add(copy)
        session.flush()
        targets = select(Target).where(Target.indicator_id == indicator.id)
        for target in session.execute(targets).scalars():
            session.add(
                Target(indicator_id=copy.id, target_date=target.target_date, value=target.value)
            )
        readings = select(Measurement).where(
            Measurement.indicator_id == indicator.id, Measurement.superseded_by_id.is_(None)
        )
        for reading in session.execute(readings).scalars():
            session.add(
                Measurement(
                    indicator_id=copy.id, measured_on=reading.measured_on, value=reading.value
                )
            )
    session.flush()


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.count += 1


def first_indicator_and_contract(session) -> tuple[Indicator, Contract]:
    indicator = session.scalars(select(Indicator).order_by(Indicator.id)).first()
    return indicator, session.get(Contract, indicator.contract_id)


def free_days(session, indicator: Indicator, count: int) -> list[date]:
    """`count` days after the baseline with no reading of `indicator`."""
    taken = set(
        session.scalars(
            select(Measurement.measured_on).where(Measurement.indicator_id == indicator.id)
        )
    )
    days, day = [], indicator.baseline_date
    while len(days) < count:
        day += timedelta(days=1)
        if day not in taken:
            days.append(day)
    return days
