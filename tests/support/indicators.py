"""Indicator helpers: the measurements of an indicator read back from the database, and a
counter of the SQL statements an engine runs (for "bounded number of queries" tests)."""

from __future__ import annotations

from sqlalchemy import event, select

from suivi.indicators.models import Measurement


def measurements(db, indicator_id: int) -> list[Measurement]:
    with db.session(write=False) as session:
        return list(
            session.execute(
                select(Measurement)
                .where(Measurement.indicator_id == indicator_id)
                .order_by(Measurement.id)
            ).scalars()
        )


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
