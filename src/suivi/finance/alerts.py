"""The daily check of financial reports: an alert `justification_en_retard` opens on a line
whose money was paid without a financial report (CERFA n° 15059) six months after the end of
its budget year, and resolves when the report is recorded (or the line no longer qualifies).
Idempotent: a rerun the same day opens and resolves nothing more. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.finance.models import FundingAlert
from suivi.finance.models import FundingLine
from suivi.finance.rollups import is_overdue
from suivi.finance.rollups import paid_amounts
from suivi.finance.rules import justification_due

KIND = "justification_en_retard"


@dataclass
class CheckResult:
    opened: int = 0
    resolved: int = 0
    open: int = 0


def check_justifications(
    session: Session, *, as_of: date, contract_id: int | None = None
) -> CheckResult:
    query = (
        select(FundingLine)
        .join(Commitment, Commitment.id == FundingLine.commitment_id)
        .where(
            Commitment.status.not_in(INACTIVE_STATUSES),
            FundingLine.amount_justified.is_(None),
            FundingLine.amount_voted.is_not(None),
        )
    )
    if contract_id is not None:
        query = query.where(FundingLine.contract_id == contract_id)
    candidates = list(session.execute(query).scalars())
    paid = paid_amounts(session, [line.id for line in candidates])
    overdue = {
        line.id: line
        for line in candidates
        if is_overdue(line, paid.get(line.id, Decimal(0)), as_of)
    }
    open_query = select(FundingAlert).where(
        FundingAlert.kind == KIND, FundingAlert.resolved_on.is_(None)
    )
    if contract_id is not None:
        open_query = open_query.where(FundingAlert.contract_id == contract_id)
    already = {alert.funding_line_id: alert for alert in session.execute(open_query).scalars()}
    result = CheckResult()
    for line_id, alert in already.items():
        if line_id not in overdue:
            alert.resolved_on = as_of
            session.add(alert)
            result.resolved += 1
    for line_id, line in overdue.items():
        if line_id in already:
            continue
        session.add(
            FundingAlert(
                contract_id=line.contract_id,
                funding_line_id=line.id,
                kind=KIND,
                opened_on=as_of,
                details={
                    "year": line.year,
                    "amount_paid": str(paid[line.id]),
                    "due_on": justification_due(line.year).isoformat(),
                    "beneficiary_name": line.beneficiary_name,
                },
            )
        )
        result.opened += 1
    session.flush()
    result.open = len(overdue)
    return result


def open_funding_alerts(session: Session, *, contract_id: int, line_ids=None):
    """The open alerts of a contract (optionally of some lines), oldest first."""
    query = select(FundingAlert).where(
        FundingAlert.contract_id == contract_id, FundingAlert.resolved_on.is_(None)
    )
    if line_ids is not None:
        query = query.where(FundingAlert.funding_line_id.in_(list(line_ids) or [0]))
    return list(session.execute(query.order_by(FundingAlert.opened_on, FundingAlert.id)).scalars())
