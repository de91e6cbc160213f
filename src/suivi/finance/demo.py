"""Demo financial lines (invented), coherent with the demo's planned amounts: for 2025 and
the demo year, each partner of an active commitment asks for about its share of the planned
amount; votes fall in spring, payments come in two instalments (about 60 % a month after the
vote, the rest in October), most 2025 reports arrived before 30 June 2026 and some are late;
a few association subsidies are multi-year agreements (CPO 2025–2027).

Deterministic (its own seeded `random.Random`, so the rest of the demo is unchanged) and
checked by the same rules as every writer (`suivi.finance.rules.check_line`)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.funding import partner_shares
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.contract.models import Contract
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.finance.rules import CENT
from suivi.finance.rules import LineFacts
from suivi.finance.rules import check_line
from suivi.validation import luhn_valid

SEED = 20261201
YEARS = (2025, 2026)
ASSOCIATIONS = (
    "Association Les Jardins du Marais",
    "Régie de quartier Lens Nord",
    "Centre social Jean Jaurès",
    "Association Sport dans la Ville",
    "Maison des jeunes et de la culture",
    "Association Femmes Relais",
    "Club de prévention Rebond",
    "Atelier chantier d'insertion Horizon",
)


def _siret(rng: random.Random) -> str:
    """An invented 14-digit number whose Luhn key is right."""
    stem = "8" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    return next(stem + str(key) for key in range(10) if luhn_valid(stem + str(key)))


def _hundreds(amount: Decimal) -> Decimal:
    return (amount / 100).quantize(Decimal(1)) * 100


def add_demo_funding(session: Session, contract: Contract, as_of: date) -> int:
    """The demo's financial lines as of `as_of`; returns how many."""
    rng = random.Random(SEED)
    associations = [(name, _siret(rng), f"W62{rng.randint(1_000_000, 9_999_999)}")
                    for name in ASSOCIATIONS]  # fmt: skip
    commitments = list(
        session.execute(
            select(Commitment)
            .where(
                Commitment.contract_id == contract.id,
                Commitment.status.not_in(INACTIVE_STATUSES),
            )
            .order_by(Commitment.id)
        ).scalars()
    )
    ids = [c.id for c in commitments] or [0]
    co_partners: dict[int, list] = defaultdict(list)
    for cid, pid, share in session.execute(
        select(
            CommitmentPartner.commitment_id, CommitmentPartner.partner_id, CommitmentPartner.share
        )
        .where(CommitmentPartner.commitment_id.in_(ids))
        .order_by(CommitmentPartner.commitment_id, CommitmentPartner.partner_id)
    ):
        co_partners[cid].append((pid, Decimal(share)))
    planned = {
        (cid, year): Decimal(amount)
        for cid, year, amount in session.execute(
            select(
                CommitmentAmount.commitment_id, CommitmentAmount.year, CommitmentAmount.amount
            ).where(CommitmentAmount.commitment_id.in_(ids))
        )
    }
    count = 0
    for commitment in commitments:
        shares = partner_shares(commitment.lead_partner_id, co_partners[commitment.id])
        for year in YEARS:
            if year > as_of.year or (commitment.id, year) not in planned:
                continue
            for partner_id, share in sorted(shares.items()):
                if not share or rng.random() < 0.35:
                    continue  # not every partner's money goes through a subsidy line
                part = planned[(commitment.id, year)] * share
                line, payments = _line(rng, commitment, partner_id, year, part, associations, as_of)
                facts = {name: getattr(line, name) for name in LINE_FACTS}
                check_line(LineFacts(**facts, payments=[(p.paid_on, p.amount) for p in payments]))
                session.add(line)
                session.flush()
                for payment in payments:
                    payment.funding_line_id = line.id
                    session.add(payment)
                count += 1
    session.flush()
    return count


LINE_FACTS = (
    "year",
    "amount_requested",
    "amount_voted",
    "voted_on",
    "overrun_reason",
    "amount_justified",
    "justified_on",
    "cpo",
    "cpo_first_year",
    "cpo_last_year",
)


def _line(rng, commitment, partner_id, year, planned, associations, as_of):
    requested = _hundreds(planned * Decimal(rng.choice(("1", "1.05", "1.1"))))
    line = FundingLine(
        contract_id=commitment.contract_id,
        commitment_id=commitment.id,
        partner_id=partner_id,
        year=year,
        funding_type=commitment.funding_type,
        amount_requested=requested,
    )
    if commitment.funding_type in ("credits_specifiques", "droit_commun") and rng.random() < 0.7:
        name, siret, rna = rng.choice(associations)
        line.beneficiary_name = name
        line.beneficiary_rna = rna
        line.beneficiary_siret = siret if rng.random() < 0.8 else ""
        line.dauphin_number = f"DA-{year}-{rng.randint(10000, 99999)}"
        if commitment.funding_type == "credits_specifiques" and rng.random() < 0.4:
            line.cpo, line.cpo_first_year, line.cpo_last_year = True, 2025, 2027
    voted_on = date(year, rng.choice((3, 4, 4, 5, 5, 6)), rng.randint(1, 28))
    if voted_on > as_of:
        return line, []  # asked, not voted yet
    line.amount_voted = _hundreds(requested * Decimal(rng.choice(("0.85", "0.9", "1", "1"))))
    line.voted_on = voted_on
    line.vote_reference = f"DEL-{year}-{rng.randint(1, 250):03d}"
    payments = []
    first_on = voted_on + timedelta(days=rng.randint(20, 45))
    if first_on <= as_of:
        first = (line.amount_voted * Decimal("0.6")).quantize(CENT)
        payments.append(FundingPayment(paid_on=first_on, amount=first, reference="1er acompte"))
        second_on = date(year, 10, rng.randint(5, 25))
        if second_on <= as_of and rng.random() < 0.85:
            payments.append(
                FundingPayment(
                    paid_on=second_on, amount=line.amount_voted - first, reference="Solde"
                )
            )
    paid = sum((p.amount for p in payments), Decimal(0))
    report_on = date(year + 1, rng.randint(2, 6), rng.randint(1, 28))
    # About one 2025 report in five is late (none received by 30 June of the next year).
    if paid and report_on <= as_of and rng.random() < 0.8:
        line.amount_justified = paid if rng.random() < 0.8 else _hundreds(paid * Decimal("0.95"))
        line.amount_justified = min(line.amount_justified, paid)
        line.justified_on = report_on
    return line, payments
