"""Commitments API: list (filters, sort, pagination), read, create, update (with `version`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from pydantic import Field
from sqlalchemy import or_
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.api.common import AsOfQuery
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import CurrentContract
from suivi.api.common import DatedCallerDep
from suivi.api.common import Day
from suivi.api.common import FilterId
from suivi.api.common import Id
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import SortQuery
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import Version
from suivi.api.common import api_router
from suivi.api.common import children
from suivi.api.common import from_row
from suivi.api.common import patch_model
from suivi.api.common import resolve_as_of
from suivi.api.common import resolve_contract
from suivi.api.common import sort_clause
from suivi.codes import FundingType
from suivi.codes import LifecycleStatus
from suivi.commitments import access
from suivi.commitments import service
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Contract
from suivi.deps import SettingsDep
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.progress import Freshness
from suivi.progress import Performance
from suivi.progress import commitment_health

router = api_router("engagements")
Status = LifecycleStatus
Funding = FundingType
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=5, decimal_places=4)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]
Year = Annotated[int, Field(ge=2000, le=2100)]


class CoPartner(StrictModel):
    partner_id: Id
    share: Share = Decimal("0")


class YearAmount(StrictModel):
    year: Year
    amount: Amount


class CommitmentIn(StrictModel):
    code: Text(40, 1)
    title: Text(300, 1)
    description: Text(10_000) = ""
    lead_partner_id: Id
    priority_id: Id
    start_date: Day
    end_date: Day
    status: Status = LifecycleStatus.PREVU
    funding_type: Funding
    partners: Annotated[list[CoPartner], Field(max_length=100)] = []
    quartier_ids: Annotated[list[Id], Field(max_length=100)] = []
    amounts: Annotated[list[YearAmount], Field(max_length=100)] = []


CommitmentPatch = patch_model(CommitmentIn, "CommitmentPatch", version=(Version, ...))


class CoPartnerOut(BaseModel):
    partner_id: int
    share: float


class AmountOut(BaseModel):
    year: int
    amount: float


class CommitmentOut(BaseModel):
    id: int
    contract_id: int
    code: str
    title: str
    description: str
    lead_partner_id: int
    priority_id: int
    start_date: date
    end_date: date
    status: str
    funding_type: str
    version: int
    partners: list[CoPartnerOut]
    quartier_ids: list[int]
    amounts: list[AmountOut]
    indicator_ids: list[int]
    # Health at `as_of`: worst performance of its indicators, late if one is overdue.
    performance: str | None
    late: bool


# What `_outputs` shows of each commitment's children (`children`: the commitment's id
# first, then the columns of each child, in the order shown).
_CO_PARTNERS = select(
    CommitmentPartner.commitment_id, CommitmentPartner.partner_id, CommitmentPartner.share
).order_by(CommitmentPartner.partner_id)
_QUARTIER_IDS = select(CommitmentQuartier.commitment_id, CommitmentQuartier.quartier_id).order_by(
    CommitmentQuartier.quartier_id
)
_AMOUNTS = select(
    CommitmentAmount.commitment_id, CommitmentAmount.year, CommitmentAmount.amount
).order_by(CommitmentAmount.year)
_INDICATOR_IDS = select(Indicator.commitment_id, Indicator.id).order_by(Indicator.id)


def _co_partner_out(partner_id: int, share) -> CoPartnerOut:
    return CoPartnerOut(partner_id=partner_id, share=float(share))


def _amount_out(year: int, amount) -> AmountOut:
    return AmountOut(year=year, amount=float(amount))


def _outputs(
    session: Session, contract_id: int, rows: list[Commitment], as_of: date
) -> list[CommitmentOut]:
    ids = [row.id for row in rows]
    # Each commitment's co-partners, quartiers, yearly amounts and indicators: one query each.
    partners = children(session, _CO_PARTNERS, ids, _co_partner_out)
    quartiers = children(session, _QUARTIER_IDS, ids)
    amounts = children(session, _AMOUNTS, ids, _amount_out)
    indicators = children(session, _INDICATOR_IDS, ids)
    all_indicators = [i for c in ids for i in indicators[c]]
    evaluated = (
        evaluate_indicators(
            session,
            contract_id=contract_id,
            as_of=as_of,
            indicator_ids=all_indicators,
            include_inactive=True,
        )
        if all_indicators
        else {}
    )
    result = []
    for row in rows:
        evaluations = [
            evaluated[i].evaluation
            for i in indicators[row.id]
            if i in evaluated and evaluated[i].evaluation is not None
        ]
        health = commitment_health(evaluations)
        result.append(
            from_row(
                CommitmentOut,
                row,
                partners=partners[row.id],
                quartier_ids=quartiers[row.id],
                amounts=amounts[row.id],
                indicator_ids=indicators[row.id],
                performance=health.performance,
                late=health.late,
            )
        )
    return result


SORT_COLUMNS = {
    "id": Commitment.id,
    "code": Commitment.code,
    "title": Commitment.title,
    "start_date": Commitment.start_date,
    "end_date": Commitment.end_date,
    "status": Commitment.status,
}


@router.get("/commitments", summary="Engagements")
def list_commitments(
    call: CallerDep,
    settings: SettingsDep,
    contract: CurrentContract,
    paging: PagingDep,
    partner_id: FilterId = None,
    priority_id: FilterId = None,
    quartier_id: FilterId = None,
    status: Annotated[Status | None, Query()] = None,
    performance: Annotated[Performance | None, Query()] = None,
    freshness: Annotated[Freshness | None, Query()] = None,
    as_of: AsOfQuery = None,
    sort: SortQuery = None,
) -> Page[CommitmentOut]:
    day = resolve_as_of(as_of, settings)
    query = select(Commitment).where(
        Commitment.contract_id == contract.id, scoping.commitment_condition(call.principal)
    )
    if partner_id is not None:
        query = query.where(
            or_(
                Commitment.lead_partner_id == partner_id,
                Commitment.id.in_(
                    select(CommitmentPartner.commitment_id).where(
                        CommitmentPartner.partner_id == partner_id
                    )
                ),
            )
        )
    if priority_id is not None:
        query = query.where(Commitment.priority_id == priority_id)
    if quartier_id is not None:
        query = query.where(
            or_(
                Commitment.id.in_(
                    select(CommitmentQuartier.commitment_id).where(
                        CommitmentQuartier.quartier_id == quartier_id
                    )
                ),
                Commitment.id.in_(
                    select(Indicator.commitment_id).where(Indicator.quartier_id == quartier_id)
                ),
            )
        )
    if status is not None:
        query = query.where(Commitment.status == status)
    query = query.order_by(*sort_clause(sort, SORT_COLUMNS, "code"))
    if performance is None and freshness is None:
        return paging.of(
            call.session, query, lambda rows: _outputs(call.session, contract.id, rows, day)
        )
    # Status filters need the evaluation of every candidate (3 queries, then in memory).
    everything = _outputs(
        call.session, contract.id, list(call.session.execute(query).scalars()), day
    )
    evaluated = evaluate_indicators(
        call.session, contract_id=contract.id, as_of=day, include_inactive=True
    )
    matching = []
    for item in everything:
        if performance is not None and item.performance != performance:
            continue
        if freshness is not None and not any(
            evaluated[i].evaluation is not None and evaluated[i].evaluation.freshness == freshness
            for i in item.indicator_ids
            if i in evaluated
        ):
            continue
        matching.append(item)
    return paging.slice(matching)


@router.get("/commitments/{commitment_id}", summary="Un engagement")
def get_commitment(call: DatedCallerDep, commitment_id: PathId) -> CommitmentOut:
    commitment = access.get_readable(call.session, call.principal, commitment_id)
    return _outputs(call.session, commitment.contract_id, [commitment], call.day())[0]


@router.post("/commitments", status_code=201, summary="Créer un engagement")
def create_commitment(
    call: CallerDep,
    settings: SettingsDep,
    body: CommitmentIn,
    contract_id: ContractQuery = None,
) -> CommitmentOut:
    contract = resolve_contract(call.session, call.principal, contract_id)
    if not scoping.can_create_commitment(
        call.principal,
        contract_id=contract.id,
        lead_partner_id=body.lead_partner_id,
        partner_ids=[p.partner_id for p in body.partners],
        quartier_ids=body.quartier_ids,
    ):
        raise Forbidden("Vous ne pouvez pas créer cet engagement (rôle ou périmètre).")
    fields = body.model_dump(exclude={"partners", "quartier_ids", "amounts"})
    commitment = service.create_commitment(
        call.session,
        contract,
        fields=fields,
        partners=[(p.partner_id, p.share) for p in body.partners],
        quartier_ids=body.quartier_ids,
        amounts=[(a.year, a.amount) for a in body.amounts],
        actor_id=call.principal.user_id,
    )
    return _outputs(call.session, contract.id, [commitment], resolve_as_of(None, settings))[0]


@router.patch(
    "/commitments/{commitment_id}", summary="Modifier un engagement (donner la version lue)"
)
def update_commitment(
    call: CallerDep,
    settings: SettingsDep,
    commitment_id: PathId,
    body: CommitmentPatch,
) -> CommitmentOut:
    commitment = access.get_writable(call.session, call.principal, commitment_id)
    contract = call.session.get(Contract, commitment.contract_id)
    fields = {
        key: value
        for key, value in body.model_dump(
            exclude={"version", "partners", "quartier_ids", "amounts"}, exclude_unset=True
        ).items()
    }
    for key, value in fields.items():
        if value is None:
            raise Invalid(key, "Ce champ ne peut pas être vide.")
    commitment = service.update_commitment(
        call.session,
        contract,
        commitment,
        version=body.version,
        fields=fields,
        partners=None
        if body.partners is None
        else [(p.partner_id, p.share) for p in body.partners],
        quartier_ids=body.quartier_ids,
        amounts=None if body.amounts is None else [(a.year, a.amount) for a in body.amounts],
        actor_id=call.principal.user_id,
    )
    return _outputs(call.session, contract.id, [commitment], resolve_as_of(None, settings))[0]
