"""Who may see and change what: the ONE place where scoped data is filtered.

Every query of contract data made on behalf of a user goes through these functions (API,
pages, exports, reports shown to a user). Tests walk every route and try to cross scopes.

The rules
---------
Always: a user only sees the contracts they belong to (`UserContract`); several contracts
per instance work side by side. Objects of another contract do not exist for them (404).

- ``admin``: reads and changes everything in their contracts (and manages accounts).
- ``chef_de_projet``: reads everything in their contracts; changes commitments, indicators,
  targets and measurements *within their scope* (`UserScope` rows: partners and/or
  quartiers; no row = the whole contract). A commitment is in scope when its lead partner or
  one of its co-partners is in the partner scope, or it targets a quartier of the quartier
  scope, or one of its indicators is attached to a quartier of the quartier scope. An
  indicator (its targets, its measurements) is in scope when its commitment is.
- ``partenaire``: one partner (`User.partner_id`). Sees only the commitments where that
  partner is lead or co-partner (and their indicators, targets, measurements), and only
  its own partner record and contacts; logs and corrects measurements of those indicators
  (with comments). Changes nothing else.
- ``copil``: reads everything in their contracts, changes nothing.
- ``conseil_citoyen``: a conseil citoyen's account; its quartiers are its `UserScope`
  quartier rows. Reads the commitments touching them (as the chef's quartier scope does) and
  the partners; changes nothing here (its opinions and comments: `suivi.annual`).

Reference data (contract, communes, quartiers, priorities, meetings) is readable by every
role and changed by admins only.

Status codes: an object the user cannot *read* answers 404 (its existence is not
revealed) on reads; a change the user may not make answers 403 — including on an object
they can read but not change. Unknown ids are 404.

API: conditions to put in `WHERE` clauses (`commitment_condition`, `indicator_condition`,
`partner_condition`, `contract_condition`), subqueries of ids (`visible_commitments`,
`editable_commitments`, `visible_indicators`), and yes/no checks on one object
(`can_read_commitment`, `can_write_commitment`, `can_read_indicator`,
`can_write_indicator`, `can_log_measurement`, `can_create_commitment`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlmodel import Session

from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Partner
from suivi.finance.models import FundingLine
from suivi.governance.models import Decision
from suivi.governance.models import DecisionLink
from suivi.indicators.models import Indicator

READ_ALL_ROLES = frozenset({"admin", "chef_de_projet", "copil"})
EDITOR_ROLES = frozenset({"admin", "chef_de_projet"})
MEASUREMENT_ROLES = frozenset({"admin", "chef_de_projet", "partenaire"})


def contract_condition(column, principal: Principal) -> ColumnElement[bool]:
    """`column` (a contract id column) is one of the principal's contracts."""
    if not principal.contract_ids:
        return false()
    return column.in_(principal.contract_ids)


def _partner_involved(partner_ids: Iterable[int]) -> ColumnElement[bool]:
    ids = list(partner_ids)
    return or_(
        Commitment.lead_partner_id.in_(ids),
        Commitment.id.in_(
            select(CommitmentPartner.commitment_id).where(CommitmentPartner.partner_id.in_(ids))
        ),
    )


def _quartier_involved(quartier_ids: Iterable[int]) -> ColumnElement[bool]:
    ids = list(quartier_ids)
    return or_(
        Commitment.id.in_(
            select(CommitmentQuartier.commitment_id).where(CommitmentQuartier.quartier_id.in_(ids))
        ),
        Commitment.id.in_(select(Indicator.commitment_id).where(Indicator.quartier_id.in_(ids))),
    )


def touches_quartiers(quartier_ids: Iterable[int]) -> ColumnElement[bool]:
    """WHERE condition on `Commitment`: it targets one of these quartiers, or one of its
    indicators is attached to one (the public pages of a quartier use it too)."""
    return _quartier_involved(quartier_ids)


def _chef_scope(principal: Principal) -> ColumnElement[bool]:
    if not principal.scope_partner_ids and not principal.scope_quartier_ids:
        return true()
    parts = []
    if principal.scope_partner_ids:
        parts.append(_partner_involved(principal.scope_partner_ids))
    if principal.scope_quartier_ids:
        parts.append(_quartier_involved(principal.scope_quartier_ids))
    return or_(*parts)


def commitment_condition(principal: Principal, *, write: bool = False) -> ColumnElement[bool]:
    """WHERE condition on `Commitment`: the commitments this principal may read (or change
    with `write=True`, meaning commitments/indicators/targets; for measurements see
    `measurement_commitment_condition`)."""
    in_contracts = contract_condition(Commitment.contract_id, principal)
    role = principal.role
    if role == "admin":
        return in_contracts
    if role == "chef_de_projet":
        return in_contracts & _chef_scope(principal) if write else in_contracts
    if role == "copil":
        return false() if write else in_contracts
    if role == "partenaire" and principal.partner_id is not None and not write:
        return in_contracts & _partner_involved([principal.partner_id])
    if role == "conseil_citoyen" and principal.scope_quartier_ids and not write:
        return in_contracts & _quartier_involved(principal.scope_quartier_ids)
    return false()


def measurement_commitment_condition(principal: Principal) -> ColumnElement[bool]:
    """WHERE condition on `Commitment`: those whose indicators' measurements the principal
    may log and correct."""
    if principal.role == "partenaire":
        return commitment_condition(principal)
    return commitment_condition(principal, write=True)


def visible_commitments(principal: Principal) -> Select:
    """`SELECT commitment.id` of the commitments the principal may read (for `.in_()`)."""
    return select(Commitment.id).where(commitment_condition(principal))


def editable_commitments(principal: Principal) -> Select:
    return select(Commitment.id).where(commitment_condition(principal, write=True))


def indicator_condition(principal: Principal, *, write: bool = False) -> ColumnElement[bool]:
    """WHERE condition on `Indicator`: readable (or editable) through its commitment."""
    commitments = select(Commitment.id).where(commitment_condition(principal, write=write))
    return contract_condition(Indicator.contract_id, principal) & Indicator.commitment_id.in_(
        commitments
    )


def visible_indicators(principal: Principal) -> Select:
    return select(Indicator.id).where(indicator_condition(principal))


def partner_condition(principal: Principal) -> ColumnElement[bool]:
    """WHERE condition on `Partner`: a partner account sees only its own partner (and its
    contacts); other roles see every partner of their contracts."""
    in_contracts = contract_condition(Partner.contract_id, principal)
    if principal.role in READ_ALL_ROLES or principal.role == "conseil_citoyen":
        return in_contracts
    if principal.role == "partenaire" and principal.partner_id is not None:
        return in_contracts & (Partner.id == principal.partner_id)
    return false()


# -- yes/no checks on one object ---------------------------------------------------------------


def _commitment_matches(session: Session, commitment_id: int, condition) -> bool:
    found = session.execute(
        select(Commitment.id).where(Commitment.id == commitment_id, condition)
    ).first()
    return found is not None


def in_contracts(principal: Principal, contract_id: int | None) -> bool:
    return contract_id is not None and contract_id in principal.contract_ids


def can_read_commitment(session: Session, principal: Principal, commitment: Commitment) -> bool:
    return _commitment_matches(session, commitment.id, commitment_condition(principal))


def can_write_commitment(session: Session, principal: Principal, commitment: Commitment) -> bool:
    return _commitment_matches(session, commitment.id, commitment_condition(principal, write=True))


def can_read_indicator(session: Session, principal: Principal, indicator: Indicator) -> bool:
    return _commitment_matches(session, indicator.commitment_id, commitment_condition(principal))


def can_write_indicator(session: Session, principal: Principal, indicator: Indicator) -> bool:
    """Change the indicator itself or its targets."""
    return _commitment_matches(
        session, indicator.commitment_id, commitment_condition(principal, write=True)
    )


def can_log_measurement(session: Session, principal: Principal, indicator: Indicator) -> bool:
    """Log or correct a measurement of this indicator."""
    return _commitment_matches(
        session, indicator.commitment_id, measurement_commitment_condition(principal)
    )


def can_create_commitment(
    principal: Principal,
    *,
    contract_id: int,
    lead_partner_id: int,
    partner_ids: Iterable[int] = (),
    quartier_ids: Iterable[int] = (),
) -> bool:
    """Would a new commitment with these links be within the principal's write scope?"""
    if not in_contracts(principal, contract_id):
        return False
    if principal.role == "admin":
        return True
    if principal.role != "chef_de_projet":
        return False
    if not principal.scope_partner_ids and not principal.scope_quartier_ids:
        return True
    partners = {lead_partner_id, *partner_ids}
    return bool(partners & principal.scope_partner_ids) or bool(
        set(quartier_ids) & principal.scope_quartier_ids
    )


def can_read_partner(principal: Principal, partner: Partner) -> bool:
    if not in_contracts(principal, partner.contract_id):
        return False
    if principal.role in READ_ALL_ROLES or principal.role == "conseil_citoyen":
        return True
    return principal.role == "partenaire" and principal.partner_id == partner.id


def can_write_reference(principal: Principal, contract_id: int | None) -> bool:
    """Contract reference data (partners, contacts, priorities, quartiers, meetings)."""
    return principal.role == "admin" and in_contracts(principal, contract_id)


def can_generate_report(principal: Principal, kind: str | None = None, scope: str = "") -> bool:
    """Reports (API and pages alike). Every role reads and downloads the reports it can see.
    Admins and project managers generate any report of their contracts; a partner account
    only the partner report of its own partner; the committee (``copil``) reads, never
    generates: it is given the reports. Without `kind`: may this role generate at all."""
    if principal.role == "partenaire":
        return kind is None or (kind == "partner" and scope == str(principal.partner_id))
    return principal.role in ("admin", "chef_de_projet")


def conseil_citoyen_report_condition(principal: Principal) -> ColumnElement[bool]:
    """WHERE condition on `ReportFile` for a ``conseil_citoyen`` account: the annual
    reports and the quartier reports of its quartiers."""
    from suivi.contract.models import Quartier
    from suivi.reports.models import ReportFile

    quartier_codes = select(Quartier.code).where(
        Quartier.id.in_(list(principal.scope_quartier_ids) or [0])
    )
    return or_(
        ReportFile.kind == "annual",
        (ReportFile.kind == "quartier") & ReportFile.scope.in_(quartier_codes),
    )


def report_refusal(principal: Principal) -> str:
    """Why `can_generate_report` said no (French, for people)."""
    if principal.role == "partenaire":
        return "Un compte partenaire ne peut générer que le rapport de son partenaire."
    return "Votre rôle permet de consulter les rapports, pas d'en générer."


# -- money (financial lines) ------------------------------------------------------------------


def funding_line_condition(principal: Principal, *, write: bool = False) -> ColumnElement[bool]:
    """WHERE condition on `FundingLine`. A partner account sees and changes only its own
    partner's lines (of the commitments it is involved in); the other roles read the lines of
    the commitments they read, and change those of the commitments they may change."""
    in_contracts = contract_condition(FundingLine.contract_id, principal)
    if principal.role == "partenaire":
        if principal.partner_id is None:
            return false()
        return (
            in_contracts
            & (FundingLine.partner_id == principal.partner_id)
            & FundingLine.commitment_id.in_(visible_commitments(principal))
        )
    commitments = select(Commitment.id).where(commitment_condition(principal, write=write))
    return in_contracts & FundingLine.commitment_id.in_(commitments)


def can_read_funding_line(session: Session, principal: Principal, line: FundingLine) -> bool:
    found = session.execute(
        select(FundingLine.id).where(FundingLine.id == line.id, funding_line_condition(principal))
    ).first()
    return found is not None


def can_write_funding_line(session: Session, principal: Principal, line: FundingLine) -> bool:
    found = session.execute(
        select(FundingLine.id).where(
            FundingLine.id == line.id, funding_line_condition(principal, write=True)
        )
    ).first()
    return found is not None


def can_create_funding_line(
    session: Session, principal: Principal, commitment: Commitment, partner_id: int
) -> bool:
    """A new line of `partner_id` on `commitment`: a partner account for its own partner on a
    commitment it reads; project managers and admins on the commitments they may change."""
    if principal.role == "partenaire":
        return partner_id == principal.partner_id and can_read_commitment(
            session, principal, commitment
        )
    return can_write_commitment(session, principal, commitment)


# -- committee decisions (suivi.governance) -----------------------------------------------------


def can_manage_decisions(principal: Principal, contract_id: int | None) -> bool:
    """Meetings' agenda, participants and status, decisions and their effects: the project
    managers and admins of the contract (the committee reads; partners follow up theirs)."""
    return principal.role in EDITOR_ROLES and in_contracts(principal, contract_id)


def decision_condition(principal: Principal) -> ColumnElement[bool]:
    """WHERE condition on `Decision`: the committee, project managers and admins read every
    decision of their contracts; a partner those it owns or that name one of its
    commitments (or an indicator of one)."""
    in_contracts_ = contract_condition(Decision.contract_id, principal)
    if principal.role in READ_ALL_ROLES:
        return in_contracts_
    if principal.role != "partenaire" or principal.partner_id is None:
        return false()
    mine = select(Commitment.id).where(commitment_condition(principal))
    linked = select(DecisionLink.decision_id).where(
        or_(
            (DecisionLink.target_kind == "commitment") & DecisionLink.target_id.in_(mine),
            (DecisionLink.target_kind == "indicator")
            & DecisionLink.target_id.in_(
                select(Indicator.id).where(Indicator.commitment_id.in_(mine))
            ),
        )
    )
    return in_contracts_ & or_(
        Decision.owner_partner_id == principal.partner_id, Decision.id.in_(linked)
    )


def can_follow_up_decision(principal: Principal, decision) -> bool:
    """Comments and status of a decision: its managers, and the partner that owns it."""
    if can_manage_decisions(principal, decision.contract_id):
        return True
    return (
        principal.role == "partenaire"
        and principal.partner_id is not None
        and decision.owner_partner_id == principal.partner_id
        and in_contracts(principal, decision.contract_id)
    )
