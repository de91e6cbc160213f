"""API of the contract and its reference data: contracts, communes, quartiers (with their
GeoJSON contour), partners (with contacts), priorities, meetings.

Everyone reads them (a partner account only its own partner); only the contract's admins
change them (`scoping.can_write_reference`; 404 outside the user's contracts, 403 for other
roles). Changes go through `suivi.contract.service` (validated, audited). Single objects carry
an `ETag`; a change may send it back in `If-Match` to be refused (409) if the object changed
in between. Partner contacts are managed by `suivi.notifications`."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.api.common import (
    MAX_ID,
    ContractQuery,
    Day,
    Id,
    Page,
    PageQuery,
    PathId,
    SizeQuery,
    StrictModel,
    Text,
    paginate,
    resolve_contract,
    sort_clause,
)
from suivi.api.errors import ERROR_RESPONSES
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.principal import Principal
from suivi.contract import service
from suivi.contract.models import (
    CROSS_CUTTING_TAGS,
    Commune,
    Contract,
    ContractQuartier,
    CrossCuttingTag,
    Domain,
    Meeting,
    MeetingKind,
    Partner,
    PartnerContact,
    PartnerKind,
    Priority,
    Quartier,
    QuartierCommune,
    contract_quartier_ids,
)
from suivi.deps import SessionDep, UnitOfWorkRoute
from suivi.errors import Forbidden, Invalid, NotFound
from suivi.notifications.contacts import get_readable_partner

router = APIRouter(
    prefix="/api",
    tags=["référentiel"],
    responses=ERROR_RESPONSES,
    route_class=UnitOfWorkRoute,
)
SortQuery = Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")]
IfMatch = Annotated[
    str | None,
    Header(max_length=200, description="ETag lu (refus 409 si l'objet a changé entre-temps)."),
]
Tag = CrossCuttingTag
Position = Annotated[int, Field(ge=0, le=100_000)]
Tags = Annotated[list[Tag], Field(max_length=len(CROSS_CUTTING_TAGS))]


def _siret(value: str | None) -> str | None:
    try:
        service.check_siret(value)
    except Invalid as exc:
        raise ValueError(exc.detail) from None
    return value


def _siren(value: str | None) -> str | None:
    try:
        service.check_siren(value)
    except Invalid as exc:
        raise ValueError(exc.detail) from None
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _one_line(value: str) -> str:
    # Names end up in spreadsheets, PDFs and email subjects: no control characters there.
    if _CONTROL.search(value):
        raise ValueError("caractère de contrôle interdit (texte sur une ligne attendu)")
    return value


def _paragraphs(value: str) -> str:
    if _CONTROL_EXCEPT_LINES.search(value):
        raise ValueError("caractère de contrôle interdit")
    return value


def Line(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[Text(max_length, min_length), AfterValidator(_one_line)]


def Paragraphs(max_length: int):  # noqa: N802 - a type factory
    return Annotated[Text(max_length), AfterValidator(_paragraphs)]


Siren = Annotated[str | None, Field(max_length=9), AfterValidator(_siren)]
Siret = Annotated[str | None, Field(max_length=14), AfterValidator(_siret)]


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
    siret: str | None = None
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
    status: str = "prevue"  # prevue, tenue, releve_diffuse (suivi.governance)
    # Date d'arrêt des données; once `locked`, figures dated on or before it are frozen.
    data_cutoff: date | None = None
    locked: bool = False


@router.get("/contracts", response_model=list[ContractOut], summary="Mes contrats")
def list_contracts(session: SessionDep, principal: CurrentPrincipal):
    rows = session.execute(
        select(Contract)
        .where(scoping.contract_condition(Contract.id, principal))
        .order_by(Contract.id)
    ).scalars()
    return [ContractOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/contracts/{contract_id}", response_model=ContractOut, summary="Un contrat")
def get_contract(
    session: SessionDep, principal: CurrentPrincipal, response: Response, contract_id: PathId
):
    contract = resolve_contract(session, principal, contract_id)
    response.headers["ETag"] = service.etag(contract)
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
    in_contract = select(QuartierCommune.commune_id).where(
        QuartierCommune.quartier_id.in_(contract_quartier_ids(contract.id))
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


def _quartier_out(session, contract_id: int, rows: list[Quartier]) -> list[QuartierOut]:
    """The quartiers as this contract lists them (its in-contract flag)."""
    flagged = set(session.scalars(contract_quartier_ids(contract_id, in_contract=True)))
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
            contract_id=contract_id,
            in_contract=r.id in flagged,
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
    query = select(Quartier).where(Quartier.id.in_(contract_quartier_ids(contract.id, in_contract)))
    rows, total = paginate(session, query.order_by(*sort_clause(sort, columns, "code")), page, size)
    return Page(items=_quartier_out(session, contract.id, rows), total=total, page=page, size=size)


def _listing(session, principal, quartier_id: int, contract_id: int | None) -> ContractQuartier:
    """The quartier as listed by the contract asked for; without one, by the user's default
    contract or else another of theirs (a QPV may be listed by several contracts)."""
    if contract_id is not None:
        candidates = [contract_id]
    else:
        candidates = [principal.default_contract_id, *sorted(principal.contract_ids)]
    for candidate in candidates:
        if scoping.in_contracts(principal, candidate):
            link = session.get(ContractQuartier, (candidate, quartier_id))
            if link is not None:
                return link
    raise NotFound("Quartier introuvable.")


def _quartier(session, principal, quartier_id: int, contract_id: int | None = None) -> Quartier:
    return session.get(Quartier, _listing(session, principal, quartier_id, contract_id).quartier_id)


@router.get("/quartiers/{quartier_id}", response_model=QuartierOut, summary="Un quartier")
def get_quartier(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    quartier_id: PathId,
    contract_id: ContractQuery = None,
):
    link = _listing(session, principal, quartier_id, contract_id)
    quartier = session.get(Quartier, quartier_id)
    response.headers["ETag"] = service.quartier_etag(quartier, link)
    return _quartier_out(session, link.contract_id, [quartier])[0]


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
            siret=r.siret,
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
def get_partner(
    session: SessionDep, principal: CurrentPrincipal, response: Response, partner_id: PathId
):
    partner = get_readable_partner(session, principal, partner_id)
    response.headers["ETag"] = service.etag(partner)
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
    kind: Annotated[str | None, Query(pattern=r"^(copil|cotech|revue_mi_parcours)$")] = None,
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


# -- changes (admins of the contract) ----------------------------------------------------------


class ContractPatch(StrictModel):
    name: Line(200, 1) | None = None
    term_start: Day | None = None
    term_end: Day | None = None
    midterm_review_on: Day | None = None


class PartnerIn(StrictModel):
    code: Line(40, 1)
    name: Line(200, 1)
    kind: PartnerKind
    is_signatory: bool = False
    siren: Siren = None
    siret: Siret = None
    commune_id: Id | None = None


class PartnerPatch(StrictModel):
    code: Line(40, 1) | None = None
    name: Line(200, 1) | None = None
    kind: PartnerKind | None = None
    is_signatory: bool | None = None
    siren: Siren = None
    siret: Siret = None
    commune_id: Id | None = None


class QuartierPatch(StrictModel):
    name: Line(200, 1) | None = None
    in_contract: bool | None = None


class PriorityIn(StrictModel):
    code: Line(20, 1)
    title: Line(300, 1)
    description: Paragraphs(10_000) = ""
    domain: Domain
    tags: Tags = []
    parent_id: Id | None = None
    position: Position = 0


class PriorityPatch(StrictModel):
    code: Line(20, 1) | None = None
    title: Line(300, 1) | None = None
    description: Paragraphs(10_000) | None = None
    domain: Domain | None = None
    tags: Tags | None = None
    parent_id: Id | None = None
    position: Position | None = None


class MeetingIn(StrictModel):
    kind: MeetingKind
    held_on: Day
    title: Line(200, 1)
    location: Line(200) = ""


class MeetingPatch(StrictModel):
    kind: MeetingKind | None = None
    held_on: Day | None = None
    title: Line(200, 1) | None = None
    location: Line(200) | None = None


def _require_admin(principal: Principal, contract_id: int | None, what: str) -> None:
    """404 outside the user's contracts, 403 for a role that may not change reference data."""
    if not scoping.in_contracts(principal, contract_id):
        raise NotFound(f"{what} introuvable.")
    if not scoping.can_write_reference(principal, contract_id):
        raise Forbidden("Seul un administrateur du contrat peut modifier le référentiel.")


def _for_write(session: Session, principal: Principal, model, row_id: int, what: str):
    """The row (locked for the transaction) if the principal administers its contract."""
    row = service.locked(session, model, row_id)
    _require_admin(principal, None if row is None else row.contract_id, what)
    return row


def _contract_for_create(session: Session, principal: Principal, contract_id: int | None):
    contract = resolve_contract(session, principal, contract_id)
    _require_admin(principal, contract.id, "Contrat")
    return contract


def _changes(body: StrictModel) -> dict:
    return body.model_dump(exclude_unset=True)


@router.patch(
    "/contracts/{contract_id}",
    response_model=ContractOut,
    summary="Modifier le contrat (nom, durée, revue à mi-parcours)",
)
def update_contract(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    contract_id: PathId,
    body: ContractPatch,
    if_match: IfMatch = None,
):
    contract = service.locked(session, Contract, contract_id)
    _require_admin(principal, None if contract is None else contract.id, "Contrat")
    contract = service.update_contract(
        session,
        contract,
        fields=_changes(body),
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(contract)
    return ContractOut.model_validate(contract, from_attributes=True)


@router.post("/partners", response_model=PartnerOut, status_code=201, summary="Créer un partenaire")
def create_partner(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    body: PartnerIn,
    contract_id: ContractQuery = None,
):
    contract = _contract_for_create(session, principal, contract_id)
    partner = service.create_partner(
        session,
        contract,
        fields=body.model_dump(),
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(partner)
    return _partners_out(session, [partner])[0]


@router.patch("/partners/{partner_id}", response_model=PartnerOut, summary="Modifier un partenaire")
def update_partner(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    partner_id: PathId,
    body: PartnerPatch,
    if_match: IfMatch = None,
):
    partner = _for_write(session, principal, Partner, partner_id, "Partenaire")
    partner = service.update_partner(
        session,
        session.get(Contract, partner.contract_id),
        partner,
        fields=_changes(body),
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(partner)
    return _partners_out(session, [partner])[0]


@router.patch(
    "/quartiers/{quartier_id}",
    response_model=QuartierOut,
    summary="Modifier un quartier (nom, appartenance au contrat)",
)
def update_quartier(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    quartier_id: PathId,
    body: QuartierPatch,
    if_match: IfMatch = None,
    contract_id: ContractQuery = None,
):
    link = _listing(session, principal, quartier_id, contract_id)
    _require_admin(principal, link.contract_id, "Quartier")
    quartier = service.locked(session, Quartier, quartier_id)
    quartier = service.update_quartier(
        session,
        session.get(Contract, link.contract_id),
        quartier,
        fields=_changes(body),
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.quartier_etag(quartier, link)
    return _quartier_out(session, link.contract_id, [quartier])[0]


def _readable(session: Session, principal: Principal, model, row_id: int, what: str):
    row = session.get(model, row_id)
    if row is None or not scoping.in_contracts(principal, row.contract_id):
        raise NotFound(f"{what} introuvable.")
    return row


@router.get("/priorities/{priority_id}", response_model=PriorityOut, summary="Une priorité")
def get_priority(
    session: SessionDep, principal: CurrentPrincipal, response: Response, priority_id: PathId
):
    priority = _readable(session, principal, Priority, priority_id, "Priorité")
    response.headers["ETag"] = service.etag(priority)
    return PriorityOut.model_validate(priority, from_attributes=True)


@router.post(
    "/priorities",
    response_model=PriorityOut,
    status_code=201,
    summary="Créer une orientation ou un objectif",
)
def create_priority(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    body: PriorityIn,
    contract_id: ContractQuery = None,
):
    contract = _contract_for_create(session, principal, contract_id)
    priority = service.create_priority(
        session,
        contract,
        fields=body.model_dump(),
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(priority)
    return PriorityOut.model_validate(priority, from_attributes=True)


@router.patch(
    "/priorities/{priority_id}", response_model=PriorityOut, summary="Modifier une priorité"
)
def update_priority(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    priority_id: PathId,
    body: PriorityPatch,
    if_match: IfMatch = None,
):
    priority = _for_write(session, principal, Priority, priority_id, "Priorité")
    priority = service.update_priority(
        session,
        session.get(Contract, priority.contract_id),
        priority,
        fields=_changes(body),
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(priority)
    return PriorityOut.model_validate(priority, from_attributes=True)


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="Une instance")
def get_meeting(
    session: SessionDep, principal: CurrentPrincipal, response: Response, meeting_id: PathId
):
    meeting = _readable(session, principal, Meeting, meeting_id, "Instance")
    response.headers["ETag"] = service.etag(meeting)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.post("/meetings", response_model=MeetingOut, status_code=201, summary="Créer une instance")
def create_meeting(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    body: MeetingIn,
    contract_id: ContractQuery = None,
):
    contract = _contract_for_create(session, principal, contract_id)
    meeting = service.create_meeting(
        session,
        contract,
        fields=body.model_dump(),
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(meeting)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.patch("/meetings/{meeting_id}", response_model=MeetingOut, summary="Modifier une instance")
def update_meeting(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    meeting_id: PathId,
    body: MeetingPatch,
    if_match: IfMatch = None,
):
    meeting = _for_write(session, principal, Meeting, meeting_id, "Instance")
    meeting = service.update_meeting(
        session,
        session.get(Contract, meeting.contract_id),
        meeting,
        fields=_changes(body),
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    response.headers["ETag"] = service.etag(meeting)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.delete(
    "/meetings/{meeting_id}",
    status_code=204,
    response_class=Response,
    summary="Supprimer une instance (tracé dans le journal)",
)
def delete_meeting(
    session: SessionDep, principal: CurrentPrincipal, meeting_id: PathId, if_match: IfMatch = None
):
    meeting = _for_write(session, principal, Meeting, meeting_id, "Instance")
    service.delete_meeting(
        session,
        session.get(Contract, meeting.contract_id),
        meeting,
        expected_etag=if_match,
        actor_id=principal.user_id,
        actor_label=principal.label,
    )
    return Response(status_code=204)
