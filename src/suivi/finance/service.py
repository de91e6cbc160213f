"""Create and change financial lines and record their payments. Audited, never committed
here. Every writer (API, pages, spreadsheet and register import) comes through these
functions, so the rules of `suivi.finance.rules` hold whoever writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.codes import FUNDING_TYPES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.service import check_version
from suivi.contract.models import Contract
from suivi.db import utcnow
from suivi.errors import Invalid
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.finance.rollups import paid_amounts
from suivi.finance.rules import LineFacts
from suivi.finance.rules import check_line
from suivi.finance.rules import clean_amount
from suivi.finance.rules import clean_line_fields
from suivi.records import view_of
from suivi.validation import InputError
from suivi.validation import clean_text

# What a writer may set on a line (the rest is the line's identity or bookkeeping).
LINE_FIELDS = (
    "partner_id",
    "year",
    "funding_type",
    "amount_requested",
    "amount_voted",
    "vote_reference",
    "voted_on",
    "overrun_reason",
    "amount_justified",
    "justified_on",
    "beneficiary_name",
    "beneficiary_siret",
    "beneficiary_rna",
    "dauphin_number",
    "cpo",
    "cpo_first_year",
    "cpo_last_year",
)


def payments_of(session: Session, line_id: int) -> list[FundingPayment]:
    return list(
        session.execute(
            select(FundingPayment)
            .where(FundingPayment.funding_line_id == line_id)
            .order_by(FundingPayment.paid_on, FundingPayment.id)
        ).scalars()
    )


def line_snapshot(session: Session, line: FundingLine) -> dict:
    data = snapshot(line)
    data["payments"] = [
        {"paid_on": p.paid_on.isoformat(), "amount": str(p.amount), "reference": p.reference}
        for p in payments_of(session, line.id)
    ]
    return data


def _audited(
    session: Session, action: str, line: FundingLine, before: dict | None, actor_id, actor_label
) -> FundingLine:
    """`line`, with the audit row of its change: its snapshot after, with its payments."""
    after = line_snapshot(session, line)
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=line.contract_id)
    record_change(session, action, "funding_line", line, before, after, **who)
    return line


def _next_version(
    session: Session, line: FundingLine, before: dict, actor_id, actor_label
) -> FundingLine:
    """`line` after a change to it or to its payments: a new version (a client still holding
    the old one gets a 409), audited."""
    line.version += 1
    line.updated_at = utcnow()
    session.add(line)
    return _audited(session, "update", line, before, actor_id, actor_label)


def facts_of(line: FundingLine, payments: list[tuple[date, Decimal]]) -> LineFacts:
    return view_of(LineFacts, line, payments=payments)


def commitment_partner_ids(session: Session, commitment: Commitment) -> set[int]:
    co = session.execute(
        select(CommitmentPartner.partner_id).where(CommitmentPartner.commitment_id == commitment.id)
    ).scalars()
    return {commitment.lead_partner_id, *co}


def _check_identity(session: Session, commitment: Commitment, fields: dict) -> None:
    contract = session.get(Contract, commitment.contract_id)
    partner_id = fields.get("partner_id")
    if partner_id is not None and partner_id not in commitment_partner_ids(session, commitment):
        raise Invalid(
            "partner_id",
            "Ce partenaire ne finance pas cet engagement (ni pilote ni co-partenaire).",
        )
    year = fields.get("year")
    if year is not None and not contract.term_start.year <= year <= contract.term_end.year:
        raise Invalid("year", f"L’année budgétaire {year} est hors de la durée du contrat.")
    funding_type = fields.get("funding_type")
    if funding_type is not None and funding_type not in FUNDING_TYPES:
        raise Invalid("funding_type", "Type de financement inconnu.")


def clean_payment(paid_on: date, amount, reference: str = "") -> tuple[date, Decimal, str]:
    value = clean_amount(amount, "amount", "Le montant du versement")
    if value <= 0:
        raise Invalid("amount", "Un versement doit être un montant positif.")
    try:
        text = clean_text(reference or "", 120, "La référence du versement").strip()
    except InputError as exc:
        raise Invalid("reference", str(exc)) from None
    return paid_on, value, text


def create_line(
    session: Session,
    commitment: Commitment,
    *,
    fields: dict,
    payments: Sequence[tuple[date, Decimal, str]] = (),
    actor_id: int | None,
    actor_label: str = "",
) -> FundingLine:
    """A new line of `fields["partner_id"]` on `commitment` (with its payments, for imports)."""
    fields = clean_line_fields({k: v for k, v in fields.items() if k in LINE_FIELDS})
    fields.setdefault("funding_type", commitment.funding_type)
    if fields.get("partner_id") is None:
        raise Invalid("partner_id", "Indiquez le partenaire financeur.")
    if fields.get("year") is None:
        raise Invalid("year", "Indiquez l’année budgétaire.")
    _check_identity(session, commitment, fields)
    cleaned = [clean_payment(*p) for p in payments]
    line = FundingLine(contract_id=commitment.contract_id, commitment_id=commitment.id, **fields)
    check_line(facts_of(line, [(d, a) for d, a, _ in cleaned]))
    session.add(line)
    session.flush()
    for paid_on, amount, reference in cleaned:
        session.add(
            FundingPayment(
                funding_line_id=line.id, paid_on=paid_on, amount=amount, reference=reference
            )
        )
    return _audited(session, "create", line, None, actor_id, actor_label)


def update_line(
    session: Session,
    line: FundingLine,
    *,
    version: int,
    fields: dict,
    actor_id: int | None,
    actor_label: str = "",
) -> FundingLine:
    """Partial update; `version` must be the one the client read (409 otherwise)."""
    check_version(line, version)
    fields = clean_line_fields({k: v for k, v in fields.items() if k in LINE_FIELDS})
    commitment = session.get(Commitment, line.commitment_id)
    _check_identity(session, commitment, fields)
    before = line_snapshot(session, line)
    payments = [(p.paid_on, p.amount) for p in payments_of(session, line.id)]
    for key, value in fields.items():
        setattr(line, key, value)
    check_line(facts_of(line, payments))
    return _next_version(session, line, before, actor_id, actor_label)


def add_payment(
    session: Session,
    line: FundingLine,
    *,
    paid_on: date,
    amount,
    reference: str = "",
    actor_id: int | None,
    actor_label: str = "",
) -> FundingPayment:
    paid_on, amount, reference = clean_payment(paid_on, amount, reference)
    payments = [(p.paid_on, p.amount) for p in payments_of(session, line.id)]
    check_line(facts_of(line, [*payments, (paid_on, amount)]))
    before = line_snapshot(session, line)
    payment = FundingPayment(
        funding_line_id=line.id, paid_on=paid_on, amount=amount, reference=reference
    )
    session.add(payment)
    _next_version(session, line, before, actor_id, actor_label)
    return payment


def visible_lines(
    session: Session, principal, *, contract_id: int, commitment_id: int | None = None
) -> list[tuple[FundingLine, Decimal]]:
    """The lines `principal` may read (of one commitment, or of the contract), each with its
    paid amount, by year then partner."""
    query = select(FundingLine).where(
        FundingLine.contract_id == contract_id, scoping.funding_line_condition(principal)
    )
    if commitment_id is not None:
        query = query.where(FundingLine.commitment_id == commitment_id)
    lines = list(
        session.execute(
            query.order_by(FundingLine.year, FundingLine.partner_id, FundingLine.id)
        ).scalars()
    )
    paid = paid_amounts(session, [line.id for line in lines])
    return [(line, paid.get(line.id, Decimal(0))) for line in lines]
