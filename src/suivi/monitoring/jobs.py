"""Scheduled job of the monitoring domain: the daily indicator check."""

from __future__ import annotations

import logging
from collections import Counter
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import func
from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.db import session_scope
from suivi.governance.service import check_decisions
from suivi.indicators.evaluation import IndicatorVerdict
from suivi.indicators.evaluation import evaluate_summaries
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import job
from suivi.monitoring.models import Alert
from suivi.monitoring.service import check_indicators
from suivi.monitoring.service import delete_notes
from suivi.monitoring.service import next_measurement_dates
from suivi.monitoring.service import pending_indicators
from suivi.monitoring.service import remember_checks

log = logging.getLogger(__name__)

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


def _write_batch(
    context: JobContext,
    batch: list[tuple[int, set[int]]],
    *,
    by_contract: dict[int, dict[int, IndicatorVerdict]],
    notes: dict[int | None, list[int]],
    next_measured: dict[int, date],
) -> Counter:
    """One transaction: the alerts and conclusions of a batch of contracts. Nothing is
    consumed before the commit, so a failed batch can be written again contract by contract."""
    counts: Counter = Counter()
    with session_scope(context.engine, write=True) as session:
        judged: dict[int, IndicatorVerdict] = {}
        for contract_id, scope in batch:
            evaluated = by_contract.get(contract_id, {})
            result = check_indicators(
                session,
                contract_id=contract_id,
                as_of=context.as_of,
                evaluated=evaluated,
                indicator_ids=scope,
            )
            judged.update(evaluated)
            counts["contracts"] += 1
            counts["evaluated"] += result.evaluated
            counts["opened"] += result.opened
            counts["resolved"] += result.resolved
        remember_checks(
            session,
            as_of=context.as_of,
            indicator_ids=[i for _, scope in batch for i in scope],
            evaluated=judged,
            next_measured=next_measured,
            note_ids=[n for contract_id, _ in batch for n in notes.get(contract_id, ())],
        )
    for contract_id, _ in batch:
        by_contract.pop(contract_id, None)
        notes.pop(contract_id, None)
    return counts


def _check_decisions(context: JobContext, totals: Counter, failures: list[str]) -> None:
    """Committee decisions past their due date: `decision_overdue` alerts opened and
    resolved (suivi.governance), one transaction per contract."""
    with session_scope(context.engine) as session:
        contract_ids = session.execute(select(Contract.id).order_by(Contract.id)).scalars().all()
    for contract_id in contract_ids:
        try:
            with session_scope(context.engine, write=True) as session:
                result = check_decisions(session, contract_id=contract_id, as_of=context.as_of)
        except Exception as exc:  # noqa: BLE001 - one contract's failure must not stop the others
            log.error("decision check of contract %s failed", contract_id, exc_info=exc)
            failures.append(f"décisions du contrat {contract_id} : {type(exc).__name__}"[:300])
            continue
        # Only counted when something happened: a contract without decisions changes nothing.
        if result.opened:
            totals["decisions_opened"] += result.opened
        if result.resolved:
            totals["decisions_resolved"] += result.resolved


@job("check_indicators")
def check_indicators_job(context: JobContext) -> JobResult:
    """The indicators that may have changed (`pending_indicators`: all of them on the first
    run) judged in one read pass, then their alerts and conclusions written in batches of
    whole contracts. A batch that fails is written again contract by contract: a contract
    that still fails is left pending (its change notes kept, so the next run judges it
    again) and makes the run partial — failed if no contract could be checked.

    Judging before writing is no staler than judging inside each write transaction: under
    READ COMMITTED a statement sees the data as of its start either way, and a measurement
    entered meanwhile leaves a change note that the next run judges.
    """
    totals = Counter(contracts=0, evaluated=0, unchanged=0, opened=0, resolved=0)
    failures: list[str] = []
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
    written = {"by_contract": by_contract, "notes": pending.notes, "next_measured": next_measured}

    def write(batch: list[tuple[int, set[int]]]) -> None:
        totals.update(_write_batch(context, batch, **written))

    def failed(contract_id: int, exc: Exception) -> None:
        log.error("check of contract %s failed", contract_id, exc_info=exc)
        failures.append(f"contrat {contract_id} : {type(exc).__name__}: {exc}"[:300])

    for batch in _batches(sorted(pending.indicators.items())):
        try:
            write(batch)
        except Exception as exc:  # noqa: BLE001 - one contract's failure must not stop the others
            if len(batch) == 1:
                failed(batch[0][0], exc)
                continue
            log.warning("a batch of %d contracts failed: writing them one by one", len(batch))
            for item in batch:
                try:
                    write([item])
                except Exception as exc:  # noqa: BLE001 - left pending for the next run
                    failed(item[0], exc)
    _check_decisions(context, totals, failures)
    leftover = pending.notes.pop(None, ())  # notes of indicators that no longer exist
    if leftover:
        with session_scope(context.engine, write=True) as session:
            delete_notes(session, leftover)
    with session_scope(context.engine) as session:
        totals["open"] = session.execute(
            select(func.count()).select_from(Alert).where(Alert.resolved_on.is_(None))
        ).scalar_one()
    totals["unchanged"] = pending.total - len(indicator_ids)
    counts = dict(totals)
    if failures:
        counts["failed_contracts"] = len(failures)
    return JobResult(
        counts=counts,
        done=totals["contracts"],
        failed=len(failures),
        problems=tuple(failures[:50]),
    )


@job("check_justifications")
def check_justifications_job(context: JobContext) -> JobResult:
    """Financial reports overdue (`suivi.finance.alerts`): alerts `justification_en_retard`
    opened and resolved as of the run's day, in one transaction."""
    from suivi.finance.alerts import check_justifications

    with session_scope(context.engine, write=True) as session:
        result = check_justifications(session, as_of=context.as_of)
    return JobResult(
        counts={"opened": result.opened, "resolved": result.resolved, "open": result.open},
        done=1,
    )
