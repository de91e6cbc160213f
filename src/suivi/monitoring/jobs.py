"""Scheduled job of the monitoring domain: the daily indicator check."""

from __future__ import annotations

from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.db import session_scope
from suivi.jobs import JobContext, job
from suivi.monitoring.service import check_indicators


@job("check_indicators")
def check_indicators_job(context: JobContext) -> dict[str, int]:
    """Every contract, one transaction each: a failure in one leaves the others checked."""
    totals = {"contracts": 0, "evaluated": 0, "opened": 0, "resolved": 0, "open": 0}
    with session_scope(context.engine) as session:
        contract_ids = session.execute(select(Contract.id).order_by(Contract.id)).scalars().all()
    for contract_id in contract_ids:
        with session_scope(context.engine, write=True) as session:
            result = check_indicators(session, contract_id=contract_id, as_of=context.as_of)
        totals["contracts"] += 1
        for key, value in result.counts().items():
            totals[key] += value
    return totals
