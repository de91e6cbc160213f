"""The money section of the PDF reports (COPIL, partner, quartier, annual): the year's
execution per partner and per funding type (planned, voted, paid, justified), the CPO share
and the overdue financial reports — the same roll-up as the API and the pages, so the
report, the « Financements » page and `GET /api/rollups/funding` agree to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from suivi.contract.models import Partner
from suivi.contract.models import Quartier
from suivi.finance.rollups import CPO_TARGET
from suivi.finance.rollups import FundingRollup
from suivi.finance.rollups import OverdueLine
from suivi.finance.rollups import Totals
from suivi.finance.rollups import funding_rollup


@dataclass(frozen=True)
class MoneySection:
    year: int
    total: Totals
    by_partner: list[tuple[str, Totals]]
    by_funding_type: list[tuple[str, Totals]]
    overdue: list[tuple[OverdueLine, str]]  # (line, funder name)
    cpo_share: Decimal | None
    cpo_target: Decimal
    association_voted: Decimal

    @property
    def empty(self) -> bool:
        return not any(self.total.as_dict().values())


def money_section(
    session: Session, *, contract_id: int, kind: str, scope: str, as_of: date
) -> MoneySection:
    """The section for a report of `kind` and `scope` (partner id, QPV code), for the
    budget year of `as_of`."""
    filters: dict = {}
    if kind == "partner" and scope.isdigit():
        filters["partner_id"] = int(scope)
    elif kind == "quartier" and scope:
        filters["quartier_id"] = session.execute(
            select(Quartier.id).where(Quartier.code == scope)
        ).scalar_one_or_none()
    rollup: FundingRollup = funding_rollup(
        session, None, contract_id=contract_id, as_of=as_of, year=as_of.year, **filters
    )
    # The overdue reports are about earlier years: whatever the budget year shown.
    overdue = funding_rollup(session, None, contract_id=contract_id, as_of=as_of, **filters)
    names = dict(
        session.execute(
            select(Partner.id, Partner.name).where(Partner.contract_id == contract_id)
        ).all()
    )
    return MoneySection(
        year=as_of.year,
        total=rollup.total,
        by_partner=sorted(
            ((names.get(pid, str(pid)), totals) for pid, totals in rollup.by_partner.items()),
            key=lambda item: item[0],
        ),
        by_funding_type=sorted(rollup.by_funding_type.items()),
        overdue=[(o, names.get(o.partner_id, "")) for o in overdue.overdue],
        cpo_share=rollup.cpo_share,
        cpo_target=CPO_TARGET,
        association_voted=rollup.association_voted,
    )
