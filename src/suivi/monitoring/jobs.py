"""Scheduled job of the monitoring domain: the daily indicator check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import func, select

from suivi.db import session_scope
from suivi.indicators.evaluation import IndicatorVerdict, evaluate_summaries
from suivi.jobs import JobContext, job
from suivi.monitoring.models import Alert
from suivi.monitoring.service import (
    check_indicators,
    delete_notes,
    next_measurement_dates,
    pending_indicators,
    remember_checks,
)

# Pending indicators written per transaction: an ordinary day commits once, the first run
# (every indicator) in slices that keep each transaction, and SQLite's write lock, short.
BATCH_INDICATORS = 5000


def _batches(work: list[tuple[int, set[int]]]) -> Iterator[list[tuple[int, set[int]]]]:
    """Whole contracts grouped into batches of about `BATCH_INDICATORS` pending indicators."""
    batch, size = [], 0
    for contract_id, scope in work:
        if batch and size + len(scope) > BATCH_INDICATORS:
            yield batch
            batch, size = [], 0
        batch.append((contract_id, scope))
        size += len(scope)
    if batch:
        yield batch


@job("check_indicators")
def check_indicators_job(context: JobContext) -> dict[str, int]:
    """The indicators that may have changed (`pending_indicators`: all of them on the first
    run) judged in one read pass, then their alerts and conclusions written in batches of
    whole contracts (a failure leaves the batches before it checked, and the rest pending).

    Judging before writing is no staler than judging inside each write transaction: under
    READ COMMITTED a statement sees the data as of its start either way, and a measurement
    entered meanwhile leaves a change note that the next run judges.
    """
    totals = {"contracts": 0, "evaluated": 0, "unchanged": 0, "opened": 0, "resolved": 0}
    by_contract: dict[int, dict[int, IndicatorVerdict]] = defaultdict(dict)
    next_measured: dict[int, date] = {}
    with session_scope(context.engine) as session:
        pending = pending_indicators(session, as_of=context.as_of)
        indicator_ids = pending.indicator_ids()
        # An id filter pays off for part of the portfolio; for most of it (the first run)
        # plain scans are faster (measured at national scale: 3 s instead of 9 s).
        only = indicator_ids if len(indicator_ids) < pending.total // 2 else None
        if indicator_ids:  # an ordinary day may have nothing to judge
            verdicts = evaluate_summaries(session, as_of=context.as_of, indicator_ids=only)
            for indicator_id, verdict in verdicts.items():
                if indicator_id in indicator_ids:
                    by_contract[verdict.contract_id][indicator_id] = verdict
            next_measured = next_measurement_dates(session, as_of=context.as_of, indicator_ids=only)
    for batch in _batches(sorted(pending.indicators.items())):
        with session_scope(context.engine, write=True) as session:
            judged: dict[int, IndicatorVerdict] = {}
            for contract_id, scope in batch:
                evaluated = by_contract.pop(contract_id, {})
                result = check_indicators(
                    session,
                    contract_id=contract_id,
                    as_of=context.as_of,
                    evaluated=evaluated,
                    indicator_ids=scope,
                )
                judged.update(evaluated)
                totals["contracts"] += 1
                totals["evaluated"] += result.evaluated
                totals["opened"] += result.opened
                totals["resolved"] += result.resolved
            remember_checks(
                session,
                as_of=context.as_of,
                indicator_ids=[i for _, scope in batch for i in scope],
                evaluated=judged,
                next_measured=next_measured,
                note_ids=[
                    n for contract_id, _ in batch for n in pending.notes.pop(contract_id, ())
                ],
            )
    leftover = pending.notes.pop(None, ())  # notes of indicators that no longer exist
    if leftover:
        with session_scope(context.engine, write=True) as session:
            delete_notes(session, leftover)
    with session_scope(context.engine) as session:
        totals["open"] = session.execute(
            select(func.count()).select_from(Alert).where(Alert.resolved_on.is_(None))
        ).scalar_one()
    totals["unchanged"] = pending.total - len(indicator_ids)
    return totals
