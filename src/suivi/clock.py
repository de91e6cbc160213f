"""The one clock of Suivi: every "now" and every default "today" comes from here.

Code reads the time through `now()` (aware UTC) or `today(tz)` and otherwise takes an
explicit `as_of`; nothing else calls `datetime.now()` or `date.today()`. Tests pin the clock
with `frozen_at(...)`; `make test-clock` moves the whole process's clock with libfaketime,
which this module follows like any other code.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import tzinfo

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    if _source is not None:
        return _source()
    return datetime.now(UTC)


def now_in(tz: tzinfo) -> datetime:
    """The current instant in a time zone (for display and for the scheduler's day)."""
    return now().astimezone(tz)


def today(tz: tzinfo) -> date:
    """Today's date in a time zone (the default `as_of`)."""
    return now_in(tz).date()


@contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Pin the clock to `instant` (aware) for the duration of the block (tests)."""
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    global _source
    previous = _source
    _source = lambda: instant.astimezone(UTC)  # noqa: E731 - a one-line clock source
    try:
        yield
    finally:
        _source = previous
