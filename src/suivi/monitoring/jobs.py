"""Scheduled job of the monitoring domain: the daily indicator check."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.db import session_scope
from suivi.indicators.evaluation import IndicatorVerdict, evaluate_summaries
from suivi.jobs import JobContext, job
from suivi.monitoring.service import check_indicators


@job("check_indicators")
def check_indicators_job(context: JobContext) -> dict[str, int]:
    """Every contract: judged in one read pass (one summary query for the whole database,
    instead of one per contract), then written one transaction per contract, so a failure in
    one leaves the others checked.

    Judging before writing is no staler than judging inside each write transaction: under
    READ COMMITTED a statement sees the data as of its start either way, and a measurement
    entered meanwhile is judged by the next run.
    """
    totals = {"contracts": 0, "evaluated": 0, "opened": 0, "resolved": 0, "open": 0}
    by_contract: dict[int, dict[int, IndicatorVerdict]] = defaultdict(dict)
    with session_scope(context.engine) as session:
        contract_ids = session.execute(select(Contract.id).order_by(Contract.id)).scalars().all()
        for indicator_id, verdict in evaluate_summaries(session, as_of=context.as_of).items():
            by_contract[verdict.contract_id][indicator_id] = verdict
    for contract_id in contract_ids:
        with session_scope(context.engine, write=True) as session:
            result = check_indicators(
                session,
                contract_id=contract_id,
                as_of=context.as_of,
                evaluated=by_contract.pop(contract_id, {}),
            )
        totals["contracts"] += 1
        for key, value in result.counts().items():
            totals[key] += value
    return totals
