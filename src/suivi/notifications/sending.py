"""The one skeleton of every scheduled email sender (weekly reminders, partner summaries,
conseils citoyens' summaries): plan the period's messages from the database, then hand them
to `suivi.notifications.delivery`, which claims each before sending and marks it after, so a
rerun, an outage or a crash repeats nothing and loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from sqlalchemy import Engine

from suivi.config import Settings
from suivi.db import utcnow
from suivi.notifications.delivery import deliver_all
from suivi.notifications.email import OutgoingEmail


@dataclass(frozen=True)
class Planned:
    """The messages of one run and what the run reports of its planning, in the order the
    counts are shown (« recipients », « contacts », …), before the delivery's own counts."""

    messages: list[OutgoingEmail]
    counts: dict[str, int]


@dataclass(frozen=True)
class Sender:
    """A sender: `plan(engine, settings, as_of)` reads what is due (in one read transaction)
    and builds the messages; calling the sender plans them, then delivers them one by one."""

    plan: Callable[[Engine, Settings, date], Planned]

    def __call__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        as_of: date,
        run_started_at: datetime | None = None,
        **delivery,
    ) -> dict[str, int]:
        """The messages due for `as_of`, delivered (`delivery`: the options of
        `deliver_all`, such as `respect_backoff` or `transport`); the counts of the run."""
        run_started_at = run_started_at or utcnow()
        planned = self.plan(engine, settings, as_of)
        return deliver_planned(engine, settings, planned, run_started_at=run_started_at, **delivery)


def deliver_planned(
    engine: Engine,
    settings: Settings,
    planned: Planned,
    *,
    run_started_at: datetime | None = None,
    **delivery,
) -> dict[str, int]:
    """`planned`'s messages delivered one by one (`delivery`: the options of `deliver_all`,
    such as `respect_backoff` or `transport`); its counts, then the delivery's."""
    counts = deliver_all(
        engine, settings, planned.messages, run_started_at=run_started_at or utcnow(), **delivery
    )
    return {**planned.counts, **counts}
