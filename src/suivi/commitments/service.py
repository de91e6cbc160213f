"""Create and change commitments (with co-partners, quartiers and amounts). Audited, never
committed here. Input is checked against the contract (ids that belong to it, period within
the contract term, unique code) and refused with `Invalid`/`Conflict` before anything is
written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.codes import FUNDING_TYPES
from suivi.codes import LIFECYCLE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from suivi.db import utcnow
from suivi.errors import STALE_VERSION
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.validation import InputError
from suivi.validation import clean_number


def commitment_snapshot(session: Session, commitment: Commitment) -> dict:
    data = snapshot(commitment)
    data["partners"] = _amounts_by(session, CommitmentPartner, "partner_id", "share", commitment)
    data["quartier_ids"] = list(
        session.execute(
            select(CommitmentQuartier.quartier_id)
            .where(CommitmentQuartier.commitment_id == commitment.id)
            .order_by(CommitmentQuartier.quartier_id)
        ).scalars()
    )
    data["amounts"] = _amounts_by(session, CommitmentAmount, "year", "amount", commitment)
    return data


def _amounts_by(session: Session, link, key: str, amount: str, commitment: Commitment) -> list:
    """A commitment's decimal amounts in a link table (partner shares, yearly amounts), by
    `key` in order, as JSON-safe dicts."""
    key_column = getattr(link, key)
    rows = session.execute(
        select(key_column, getattr(link, amount))
        .where(link.commitment_id == commitment.id)
        .order_by(key_column)
    )
    return [{key: k, amount: str(a)} for k, a in rows]


def check_version(row, version: int) -> None:
    """409 unless `version` is the one the client read (optimistic check)."""
    if version != row.version:
        raise Conflict(STALE_VERSION, "version")


def write_version(session: Session, row, fields: dict, version: int) -> None:
    """Set the changed `fields` and the next version, flushed. Compare-and-set on the
    version, so two concurrent writers cannot both win."""
    for key, value in fields.items():
        setattr(row, key, value)
    row.version = version + 1
    row.updated_at = utcnow()
    session.add(row)
    session.flush()


def _audit_commitment(
    session: Session,
    action: str,
    commitment: Commitment,
    before: dict | None,
    actor_id,
    actor_label,
) -> None:
    """The audit row of a change to `commitment`: its snapshot after, with its links."""
    after = commitment_snapshot(session, commitment)
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=commitment.contract_id)
    record_change(session, action, "commitment", commitment, before, after, **who)


def check_still_writable(session: Session, commitment: Commitment, actor_id: int | None) -> None:
    """After a change (flushed): the actor may still change the commitment, so a project
    manager cannot move a commitment (or an indicator's quartier) out of their own scope.
    403, and the request's transaction rolls the change back."""
    user = None if actor_id is None else session.get(User, actor_id)
    if user is None or user.role == "admin":
        return  # an admin's scope is the contract, which a change cannot leave
    if not scoping.can_write_commitment(session, load_principal(session, user), commitment):
        raise Forbidden(
            "Cette modification ferait sortir l'engagement de votre périmètre : "
            "demandez-la à un administrateur."
        )


def _ids_in_contract(session: Session, model, ids: list[int], contract_id: int) -> set[int]:
    if not ids:
        return set()
    # A QPV is shared reference data: the contract lists it rather than owns it.
    of_contract = (
        model.id.in_(contract_quartier_ids(contract_id))
        if model is Quartier
        else model.contract_id == contract_id
    )
    return set(session.execute(select(model.id).where(model.id.in_(ids), of_contract)).scalars())


def check_links(
    session: Session,
    contract: Contract,
    *,
    lead_partner_id: int | None,
    priority_id: int | None,
    partners: list[tuple[int, Decimal]] | None,
    quartier_ids: list[int] | None,
    amounts: list[tuple[int, Decimal]] | None,
) -> None:
    if lead_partner_id is not None and not _ids_in_contract(
        session, Partner, [lead_partner_id], contract.id
    ):
        raise Invalid("lead_partner_id", "Partenaire pilote inconnu dans ce contrat.")
    if priority_id is not None and not _ids_in_contract(
        session, Priority, [priority_id], contract.id
    ):
        raise Invalid("priority_id", "Orientation ou objectif inconnu dans ce contrat.")
    if partners is not None:
        ids = [p for p, _ in partners]
        if len(set(ids)) != len(ids):
            raise Invalid("partners", "Un co-partenaire est cité deux fois.")
        if lead_partner_id is not None and lead_partner_id in ids:
            raise Invalid("partners", "Le partenaire pilote ne peut pas être aussi co-partenaire.")
        if _ids_in_contract(session, Partner, ids, contract.id) != set(ids):
            raise Invalid("partners", "Co-partenaire inconnu dans ce contrat.")
        if sum((s for _, s in partners), Decimal(0)) > 1:
            raise Invalid("partners", "La somme des parts des co-partenaires dépasse 1.")
    if quartier_ids is not None:
        if len(set(quartier_ids)) != len(quartier_ids):
            raise Invalid("quartier_ids", "Un quartier est cité deux fois.")
        if _ids_in_contract(session, Quartier, quartier_ids, contract.id) != set(quartier_ids):
            raise Invalid("quartier_ids", "Quartier inconnu dans ce contrat.")
    if amounts is not None:
        years = [y for y, _ in amounts]
        if len(set(years)) != len(years):
            raise Invalid("amounts", "Une année est citée deux fois.")
        for year, amount in amounts:
            if not contract.term_start.year <= year <= contract.term_end.year:
                raise Invalid("amounts", f"L'année {year} est hors de la durée du contrat.")
            try:
                clean_number(amount, "Le montant")
            except InputError as exc:
                raise Invalid("amounts", str(exc)) from None


def check_period(contract: Contract, start: date, end: date) -> None:
    if start > end:
        raise Invalid("end_date", "La fin de l'engagement précède son début.")
    for field, day in (("start_date", start), ("end_date", end)):
        if not contract.term_start <= day <= contract.term_end:
            raise Invalid(
                field,
                f"La date {day.isoformat()} est hors de la durée du contrat "
                f"({contract.term_start.isoformat()} – {contract.term_end.isoformat()}).",
            )


def _check_code(session: Session, contract_id: int, code: str, exclude_id: int | None) -> None:
    query = select(Commitment.id).where(
        Commitment.contract_id == contract_id, Commitment.code == code
    )
    if exclude_id is not None:
        query = query.where(Commitment.id != exclude_id)
    if session.execute(query).first() is not None:
        raise Conflict(f"Le code d'engagement « {code} » existe déjà dans ce contrat.", "code")


def _check_enums(status: str | None, funding_type: str | None) -> None:
    if status is not None and status not in LIFECYCLE_STATUSES:
        raise Invalid("status", "Statut inconnu.")
    if funding_type is not None and funding_type not in FUNDING_TYPES:
        raise Invalid("funding_type", "Type de financement inconnu.")


def _replace_links(session, commitment_id, partners, quartier_ids, amounts) -> None:
    if partners is not None:
        session.execute(
            delete(CommitmentPartner).where(CommitmentPartner.commitment_id == commitment_id)
        )
        for partner_id, share in partners:
            session.add(
                CommitmentPartner(commitment_id=commitment_id, partner_id=partner_id, share=share)
            )
    if quartier_ids is not None:
        session.execute(
            delete(CommitmentQuartier).where(CommitmentQuartier.commitment_id == commitment_id)
        )
        for quartier_id in quartier_ids:
            session.add(CommitmentQuartier(commitment_id=commitment_id, quartier_id=quartier_id))
    if amounts is not None:
        session.execute(
            delete(CommitmentAmount).where(CommitmentAmount.commitment_id == commitment_id)
        )
        for year, amount in amounts:
            session.add(CommitmentAmount(commitment_id=commitment_id, year=year, amount=amount))
    session.flush()


def create_commitment(
    session: Session,
    contract: Contract,
    *,
    fields: dict,
    partners: list[tuple[int, Decimal]],
    quartier_ids: list[int],
    amounts: list[tuple[int, Decimal]],
    actor_id: int | None,
    actor_label: str = "",
) -> Commitment:
    _check_enums(fields.get("status"), fields.get("funding_type"))
    check_period(contract, fields["start_date"], fields["end_date"])
    check_links(
        session,
        contract,
        lead_partner_id=fields["lead_partner_id"],
        priority_id=fields["priority_id"],
        partners=partners,
        quartier_ids=quartier_ids,
        amounts=amounts,
    )
    _check_code(session, contract.id, fields["code"], None)
    commitment = Commitment(contract_id=contract.id, **fields)
    session.add(commitment)
    session.flush()
    _replace_links(session, commitment.id, partners, quartier_ids, amounts)
    _audit_commitment(session, "create", commitment, None, actor_id, actor_label)
    return commitment


def update_commitment(
    session: Session,
    contract: Contract,
    commitment: Commitment,
    *,
    version: int,
    fields: dict,
    partners: list[tuple[int, Decimal]] | None,
    quartier_ids: list[int] | None,
    amounts: list[tuple[int, Decimal]] | None,
    actor_id: int | None,
    actor_label: str = "",
) -> Commitment:
    """Partial update; `version` must be the one the client read (409 otherwise)."""
    check_version(commitment, version)
    _check_enums(fields.get("status"), fields.get("funding_type"))
    start = fields.get("start_date", commitment.start_date)
    end = fields.get("end_date", commitment.end_date)
    check_period(contract, start, end)
    lead = fields.get("lead_partner_id", commitment.lead_partner_id)
    if partners is None and "lead_partner_id" in fields:
        current = session.execute(
            select(CommitmentPartner.partner_id).where(
                CommitmentPartner.commitment_id == commitment.id
            )
        ).scalars()
        if lead in set(current):
            raise Invalid("lead_partner_id", "Ce partenaire est déjà co-partenaire.")
    check_links(
        session,
        contract,
        lead_partner_id=lead,
        priority_id=fields.get("priority_id"),
        partners=partners,
        quartier_ids=quartier_ids,
        amounts=amounts,
    )
    if "code" in fields:
        _check_code(session, contract.id, fields["code"], commitment.id)
    before = commitment_snapshot(session, commitment)
    write_version(session, commitment, fields, version)
    _replace_links(session, commitment.id, partners, quartier_ids, amounts)
    check_still_writable(session, commitment, actor_id)
    _audit_commitment(session, "update", commitment, before, actor_id, actor_label)
    return commitment
