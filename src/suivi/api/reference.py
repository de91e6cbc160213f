"""Read API of the contract and its reference data: contracts, communes, quartiers (with
their GeoJSON contour), partners (with contacts), priorities, meetings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlalchemy import select

from suivi import scoping
from suivi.api.common import (
    MAX_ID,
    ContractQuery,
    Page,
    PageQuery,
    SizeQuery,
    paginate,
    resolve_contract,
    sort_clause,
)
from suivi.api.errors import ERROR_RESPONSES, NotFound
from suivi.auth.deps import CurrentPrincipal
from suivi.contract.models import (
    Commune,
    Contract,
    Meeting,
    Partner,
    PartnerContact,
    Priority,
    Quartier,
    QuartierCommune,
)
from suivi.deps import SessionDep

router = APIRouter(prefix="/api", tags=["référentiel"], responses=ERROR_RESPONSES)
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
SortQuery = Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")]


class ContractOut(BaseModel):
    id: int
    code: str
    name: str
    territory: str
    signed_on: date
    term_start: date
    term_end: date
    midterm_review_on: date | None
    is_demo: bool


class CommuneOut(BaseModel):
    id: int
    insee: str
    name: str
    epci: str


class QuartierOut(BaseModel):
    id: int
    code: str
    name: str
    contract_id: int | None
    in_contract: bool
    cited_in_press_release: bool
    commune_ids: list[int]


class ContactOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    frequency: str


class PartnerOut(BaseModel):
    id: int
    contract_id: int
    code: str
    name: str
    kind: str
    is_signatory: bool
    siren: str | None
    commune_id: int | None
    contacts: list[ContactOut]


class PriorityOut(BaseModel):
    id: int
    contract_id: int
    parent_id: int | None
    code: str
    title: str
    domain: str
    tags: list[str]
    position: int


class MeetingOut(BaseModel):
    id: int
    contract_id: int
    kind: str
    held_on: date
    title: str
    location: str


@router.get("/contracts", response_model=list[ContractOut], summary="Mes contrats")
def list_contracts(session: SessionDep, principal: CurrentPrincipal):
    rows = session.execute(
        select(Contract)
        .where(scoping.contract_condition(Contract.id, principal))
        .order_by(Contract.id)
    ).scalars()
    return [ContractOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/contracts/{contract_id}", response_model=ContractOut, summary="Un contrat")
def get_contract(session: SessionDep, principal: CurrentPrincipal, contract_id: PathId):
    contract = resolve_contract(session, principal, contract_id)
    return ContractOut.model_validate(contract, from_attributes=True)


@router.get("/communes", response_model=Page[CommuneOut], summary="Communes du contrat")
def list_communes(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
    sort: SortQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    in_contract = (
        select(QuartierCommune.commune_id)
        .join(Quartier, Quartier.id == QuartierCommune.quartier_id)
        .where(Quartier.contract_id == contract.id)
    )
    columns = {"id": Commune.id, "name": Commune.name, "insee": Commune.insee}
    query = (
        select(Commune)
        .where(Commune.id.in_(in_contract))
        .order_by(*sort_clause(sort, columns, "name"))
    )
    rows, total = paginate(session, query, page, size)
    return Page(
        items=[CommuneOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=page,
        size=size,
    )


def _quartier_out(session, rows: list[Quartier]) -> list[QuartierOut]:
    communes: dict[int, list[int]] = {row.id: [] for row in rows}
    if rows:
        for quartier_id, commune_id in session.execute(
            select(QuartierCommune.quartier_id, QuartierCommune.commune_id)
            .where(QuartierCommune.quartier_id.in_(list(communes)))
            .order_by(QuartierCommune.commune_id)
        ):
            communes[quartier_id].append(commune_id)
    return [
        QuartierOut(
            id=r.id,
            code=r.code,
            name=r.name,
            contract_id=r.contract_id,
            in_contract=r.in_contract,
            cited_in_press_release=r.cited_in_press_release,
            commune_ids=communes[r.id],
        )
        for r in rows
    ]


@router.get("/quartiers", response_model=Page[QuartierOut], summary="Quartiers (QPV)")
def list_quartiers(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    in_contract: bool | None = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
    sort: SortQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    columns = {"id": Quartier.id, "name": Quartier.name, "code": Quartier.code}
    query = select(Quartier).where(Quartier.contract_id == contract.id)
    if in_contract is not None:
        query = query.where(Quartier.in_contract == in_contract)
    rows, total = paginate(session, query.order_by(*sort_clause(sort, columns, "code")), page, size)
    return Page(items=_quartier_out(session, rows), total=total, page=page, size=size)


def _quartier(session, principal, quartier_id: int) -> Quartier:
    quartier = session.get(Quartier, quartier_id)
    if quartier is None or not scoping.in_contracts(principal, quartier.contract_id):
        raise NotFound("Quartier introuvable.")
    return quartier


@router.get("/quartiers/{quartier_id}", response_model=QuartierOut, summary="Un quartier")
def get_quartier(session: SessionDep, principal: CurrentPrincipal, quartier_id: PathId):
    return _quartier_out(session, [_quartier(session, principal, quartier_id)])[0]


@router.get(
    "/quartiers/{quartier_id}/contour",
    response_model=dict[str, Any],
    summary="Contour du quartier (GeoJSON Feature)",
)
def get_quartier_contour(session: SessionDep, principal: CurrentPrincipal, quartier_id: PathId):
    quartier = _quartier(session, principal, quartier_id)
    if not quartier.contour:
        raise NotFound("Ce quartier n'a pas de contour.")
    return {
        "type": "Feature",
        "properties": {"code": quartier.code, "name": quartier.name},
        "geometry": quartier.contour.get("geometry", quartier.contour)
        if quartier.contour.get("type") == "Feature"
        else quartier.contour,
    }


def _partners_out(session, rows: list[Partner]) -> list[PartnerOut]:
    contacts: dict[int, list[ContactOut]] = {row.id: [] for row in rows}
    if rows:
        for contact in session.execute(
            select(PartnerContact)
            .where(PartnerContact.partner_id.in_(list(contacts)))
            .order_by(PartnerContact.id)
        ).scalars():
            contacts[contact.partner_id].append(
                ContactOut.model_validate(contact, from_attributes=True)
            )
    return [
        PartnerOut(
            id=r.id,
            contract_id=r.contract_id,
            code=r.code,
            name=r.name,
            kind=r.kind,
            is_signatory=r.is_signatory,
            siren=r.siren,
            commune_id=r.commune_id,
            contacts=contacts[r.id],
        )
        for r in rows
    ]


@router.get("/partners", response_model=Page[PartnerOut], summary="Partenaires et contacts")
def list_partners(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    kind: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
    sort: SortQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    columns = {"id": Partner.id, "name": Partner.name, "code": Partner.code, "kind": Partner.kind}
    query = select(Partner).where(
        Partner.contract_id == contract.id, scoping.partner_condition(principal)
    )
    if kind:
        query = query.where(Partner.kind == kind)
    rows, total = paginate(session, query.order_by(*sort_clause(sort, columns, "name")), page, size)
    return Page(items=_partners_out(session, rows), total=total, page=page, size=size)


@router.get("/partners/{partner_id}", response_model=PartnerOut, summary="Un partenaire")
def get_partner(session: SessionDep, principal: CurrentPrincipal, partner_id: PathId):
    partner = session.get(Partner, partner_id)
    if partner is None or not scoping.can_read_partner(principal, partner):
        raise NotFound("Partenaire introuvable.")
    return _partners_out(session, [partner])[0]


@router.get("/priorities", response_model=Page[PriorityOut], summary="Orientations et objectifs")
def list_priorities(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
    sort: SortQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    columns = {"id": Priority.id, "code": Priority.code, "position": Priority.position}
    query = select(Priority).where(Priority.contract_id == contract.id)
    if parent_id is not None:
        query = query.where(Priority.parent_id == parent_id)
    rows, total = paginate(
        session, query.order_by(*sort_clause(sort, columns, "position")), page, size
    )
    return Page(
        items=[PriorityOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=page,
        size=size,
    )


@router.get("/meetings", response_model=Page[MeetingOut], summary="Instances (COPIL, COTECH)")
def list_meetings(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    kind: Annotated[str | None, Query(pattern=r"^(copil|cotech)$")] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
    sort: SortQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    columns = {"id": Meeting.id, "held_on": Meeting.held_on}
    query = select(Meeting).where(Meeting.contract_id == contract.id)
    if kind:
        query = query.where(Meeting.kind == kind)
    rows, total = paginate(
        session, query.order_by(*sort_clause(sort, columns, "held_on")), page, size
    )
    return Page(
        items=[MeetingOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=page,
        size=size,
    )
