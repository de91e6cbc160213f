"""Money roll-ups: planned vs requested vs voted vs paid vs justified, per partner, quartier,
priority, funding type and budget year; the CPO share of association funding; the overdue
financial reports. One computation for the API, the pages, the reports and the alerts.

- Planned money is the commitment's yearly amount (`CommitmentAmount`) split between its
  partners by `partner_shares`, and each financial line belongs to one partner: co-funded
  money is counted once, whatever the grouping.
- A commitment that targets several quartiers counts in each of them (the quartier view is
  not additive across quartiers); one that targets none counts under « tout le contrat »
  (key None).
- Suspended and abandoned commitments are left out, as in every other roll-up.
- Amounts are `Decimal`, to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.commitments.funding import partner_shares
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.finance.rules import CENT
from suivi.finance.rules import justification_due
from suivi.records import view_of

CPO_TARGET = Decimal("0.5")
MEASURES = ("planned", "requested", "voted", "paid", "justified")


@dataclass
class Totals:
    planned: Decimal = Decimal(0)
    requested: Decimal = Decimal(0)
    voted: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    justified: Decimal = Decimal(0)

    def add(self, **amounts: Decimal) -> None:
        for name, amount in amounts.items():
            setattr(self, name, getattr(self, name) + amount)

    def rounded(self) -> Totals:
        return Totals(**{m: getattr(self, m).quantize(CENT) for m in MEASURES})

    def as_dict(self) -> dict[str, Decimal]:
        return {m: getattr(self, m) for m in MEASURES}


@dataclass
class OverdueLine:
    line_id: int
    commitment_id: int
    commitment_code: str
    partner_id: int
    year: int
    beneficiary_name: str
    amount_paid: Decimal
    due_on: date


@dataclass
class FundingRollup:
    year: int | None
    as_of: date
    total: Totals = field(default_factory=Totals)
    by_partner: dict[int, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_quartier: dict[int | None, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_priority: dict[int, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_funding_type: dict[str, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_year: dict[int, Totals] = field(default_factory=lambda: defaultdict(Totals))
    association_voted: Decimal = Decimal(0)
    cpo_voted: Decimal = Decimal(0)
    overdue: list[OverdueLine] = field(default_factory=list)
    # The lines counted, with their paid amounts (the pages list exactly these).
    paid_by_line: dict[int, Decimal] = field(default_factory=dict)

    @property
    def cpo_share(self) -> Decimal | None:
        if not self.association_voted:
            return None
        return self.cpo_voted / self.association_voted

    @property
    def cpo_target_met(self) -> bool | None:
        share = self.cpo_share
        return None if share is None else share >= CPO_TARGET

    def finish(self) -> FundingRollup:
        self.total = self.total.rounded()
        for name in ("by_partner", "by_quartier", "by_priority", "by_funding_type", "by_year"):
            groups = getattr(self, name)
            setattr(self, name, {key: totals.rounded() for key, totals in groups.items()})
        self.overdue.sort(key=lambda o: (o.year, o.commitment_code, o.line_id))
        return self


def paid_amounts(session: Session, line_ids) -> dict[int, Decimal]:
    if not line_ids:
        return {}
    return {
        line_id: Decimal(total)
        for line_id, total in session.execute(
            select(FundingPayment.funding_line_id, func.sum(FundingPayment.amount))
            .where(FundingPayment.funding_line_id.in_(line_ids))
            .group_by(FundingPayment.funding_line_id)
        )
    }


def is_overdue(line: FundingLine, paid: Decimal, as_of: date) -> bool:
    """Money was paid, no financial report six months after the budget year's end."""
    return (
        line.amount_voted is not None
        and paid > 0
        and line.amount_justified is None
        and as_of > justification_due(line.year)
    )


def funding_rollup(
    session: Session,
    principal: Principal | None,
    *,
    contract_id: int,
    as_of: date,
    year: int | None = None,
    partner_id: int | None = None,
    quartier_id: int | None = None,
) -> FundingRollup:
    """The roll-up of what `principal` may read (everything of the contract when None, for
    jobs). A partner account only ever sees its own partner's money."""
    if principal is not None and principal.role == "partenaire":
        partner_id = principal.partner_id if partner_id in (None, principal.partner_id) else -1
    commitment_query = select(Commitment).where(
        Commitment.contract_id == contract_id, Commitment.status.not_in(INACTIVE_STATUSES)
    )
    if principal is not None:
        commitment_query = commitment_query.where(scoping.commitment_condition(principal))
    commitments = {c.id: c for c in session.execute(commitment_query).scalars()}
    ids = list(commitments) or [0]
    quartiers: dict[int, list[int | None]] = defaultdict(list)
    for cid, qid in session.execute(
        select(CommitmentQuartier.commitment_id, CommitmentQuartier.quartier_id).where(
            CommitmentQuartier.commitment_id.in_(ids)
        )
    ):
        quartiers[cid].append(qid)
    if quartier_id is not None:
        commitments = {k: c for k, c in commitments.items() if quartier_id in quartiers[k]}
    co_partners: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for cid, pid, share in session.execute(
        select(
            CommitmentPartner.commitment_id, CommitmentPartner.partner_id, CommitmentPartner.share
        ).where(CommitmentPartner.commitment_id.in_(ids))
    ):
        co_partners[cid].append((pid, Decimal(share)))

    result = FundingRollup(year=year, as_of=as_of)

    def add(commitment: Commitment, pid: int, funding_type: str, budget_year: int, **amounts):
        result.total.add(**amounts)
        result.by_partner[pid].add(**amounts)
        result.by_priority[commitment.priority_id].add(**amounts)
        result.by_funding_type[funding_type].add(**amounts)
        result.by_year[budget_year].add(**amounts)
        for qid in quartiers[commitment.id] or [None]:
            result.by_quartier[qid].add(**amounts)

    amount_query = select(
        CommitmentAmount.commitment_id, CommitmentAmount.year, CommitmentAmount.amount
    ).where(CommitmentAmount.commitment_id.in_(list(commitments) or [0]))
    if year is not None:
        amount_query = amount_query.where(CommitmentAmount.year == year)
    for cid, budget_year, amount in session.execute(amount_query):
        commitment = commitments[cid]
        shares = partner_shares(commitment.lead_partner_id, co_partners[cid])
        for pid, share in shares.items():
            if partner_id is not None and pid != partner_id:
                continue
            if share:
                add(commitment, pid, commitment.funding_type, budget_year,
                    planned=Decimal(amount) * share)  # fmt: skip

    line_query = select(FundingLine).where(
        FundingLine.contract_id == contract_id,
        FundingLine.commitment_id.in_(list(commitments) or [0]),
    )
    if principal is not None:
        line_query = line_query.where(scoping.funding_line_condition(principal))
    if year is not None:
        line_query = line_query.where(FundingLine.year == year)
    if partner_id is not None:
        line_query = line_query.where(FundingLine.partner_id == partner_id)
    lines = list(session.execute(line_query.order_by(FundingLine.id)).scalars())
    paid = paid_amounts(session, [line.id for line in lines])
    for line in lines:
        commitment = commitments[line.commitment_id]
        line_paid = paid.get(line.id, Decimal(0))
        result.paid_by_line[line.id] = line_paid
        add(commitment, line.partner_id, line.funding_type, line.year,
            requested=line.amount_requested, voted=line.amount_voted or Decimal(0),
            paid=line_paid, justified=line.amount_justified or Decimal(0))  # fmt: skip
        if line.beneficiary_rna and line.amount_voted:
            result.association_voted += line.amount_voted
            if line.cpo:
                result.cpo_voted += line.amount_voted
        if is_overdue(line, line_paid, as_of):
            result.overdue.append(
                # The line gives its commitment id, partner, year and beneficiary.
                view_of(
                    OverdueLine,
                    line,
                    line_id=line.id,
                    commitment_code=commitment.code,
                    amount_paid=line_paid,
                    due_on=justification_due(line.year),
                )
            )
    return result.finish()


def overdue_justification_lines(
    session: Session, principal: Principal, *, contract_id: int, as_of: date
) -> tuple[str, ...]:
    """The principal's overdue financial reports, one French sentence each (partners'
    summaries)."""
    from suivi.formatting import format_date
    from suivi.formatting import format_euros

    rollup = funding_rollup(session, principal, contract_id=contract_id, as_of=as_of)
    return tuple(
        f"{o.commitment_code} — {o.year} : {o.beneficiary_name or 'bénéficiaire non précisé'}, "
        f"{format_euros(o.amount_paid)} versés, compte rendu financier attendu au "
        f"{format_date(o.due_on)}"
        for o in rollup.overdue
    )
