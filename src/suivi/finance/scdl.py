"""The subsidies that are open data, as rows of the SCDL « subventions » 2.1.1 format.

Décret n° 2017-779: the essential data of every subsidy convention above 23 000 € are
published. One row per convention, i.e. per financial line of the year voted above the
threshold: its funder (`nomAttribuant`, `idAttribuant` = the partner's SIRET), its single
beneficiary (`pourcentageSubvention` 1), the decision, the amount voted, and the payments
(`conditionsVersement` « unique » or « échelonné », `datesPeriodeVersement` the first and
last payment, or the budget year before any payment). A line whose funder has no SIRET, or
whose beneficiary has neither SIRET nor RNA number, cannot be published in this format: it
is left out and reported (`skipped`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment

SCHEMA_PATH = Path(__file__).parent / "data" / "scdl-subventions-2.1.1.schema.json"
THRESHOLD = Decimal("23000")
OBJECT_MAX = 256


@cache
def scdl_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def scdl_field_names() -> list[str]:
    return [f["name"] for f in scdl_schema()["fields"]]


@dataclass
class SubsidyRows:
    rows: list[dict] = field(default_factory=list)
    # French reasons, one per line left out.
    skipped: list[str] = field(default_factory=list)


def _conventions(contract_id: int) -> tuple:
    """The lines that are conventions above the threshold: voted, for more than 23 000 €."""
    return (
        FundingLine.contract_id == contract_id,
        FundingLine.amount_voted > THRESHOLD,
        FundingLine.voted_on.is_not(None),
    )


def subsidy_years(session: Session, contract_id: int) -> list[int]:
    """The budget years, latest first, whose SCDL file has at least one row (what the public
    pages link: a year whose conventions all lack an identifier would give an empty file)."""
    years = list(
        session.execute(
            select(FundingLine.year)
            .where(*_conventions(contract_id))
            .distinct()
            .order_by(FundingLine.year.desc())
        ).scalars()
    )
    return [year for year in years if subsidy_rows(session, contract_id, year).rows]


def subsidy_rows(session: Session, contract_id: int, year: int) -> SubsidyRows:
    result = SubsidyRows()
    lines = session.execute(
        select(FundingLine, Partner, Commitment)
        .join(Partner, Partner.id == FundingLine.partner_id)
        .join(Commitment, Commitment.id == FundingLine.commitment_id)
        .where(*_conventions(contract_id), FundingLine.year == year)
        .order_by(Partner.name, FundingLine.beneficiary_name, FundingLine.id)
    ).all()
    payments: dict[int, list] = {}
    for line_id, paid_on in session.execute(
        select(FundingPayment.funding_line_id, FundingPayment.paid_on)
        .where(FundingPayment.funding_line_id.in_([line.id for line, _, _ in lines] or [0]))
        .order_by(FundingPayment.paid_on)
    ):
        payments.setdefault(line_id, []).append(paid_on)
    for line, partner, commitment in lines:
        where = f"{commitment.code} {year} ({line.beneficiary_name or 'sans bénéficiaire'})"
        if not partner.siret:
            result.skipped.append(f"{where} : le SIRET du financeur {partner.name} manque.")
            continue
        if not line.beneficiary_name or not (line.beneficiary_siret or line.beneficiary_rna):
            result.skipped.append(f"{where} : le bénéficiaire n’a ni nom, ni SIRET ni RNA.")
            continue
        days = payments.get(line.id, [])
        if days:
            period = days[0].isoformat() + ("" if len(days) == 1 else f"/{days[-1].isoformat()}")
        else:
            period = f"{year}-01-01/{year}-12-31"
        result.rows.append(
            {
                "nomAttribuant": partner.name,
                "idAttribuant": partner.siret,
                "dateConvention": line.voted_on,
                "referenceDecision": line.vote_reference or None,
                "nomBeneficiaire": line.beneficiary_name,
                "idBeneficiaire": line.beneficiary_siret or None,
                "rnaBeneficiaire": line.beneficiary_rna or None,
                "objet": commitment.title[:OBJECT_MAX],
                "montant": line.amount_voted,
                "nature": "aide en numéraire",
                "conditionsVersement": "échelonné" if len(days) > 1 or line.cpo else "unique",
                "datesPeriodeVersement": period,
                "idRAE": None,
                "notificationUE": "non",
                "pourcentageSubvention": Decimal("1.00"),
                "dispositifAide": None,
            }
        )
    return result
